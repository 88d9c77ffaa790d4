"""Child process that plays one Lambda execution environment (test tooling).

Started by tools.localaws.lambda_runner with: the extracted function package (like
/var/task) and the extracted layers (like /opt). It imports the handler once and then serves
invocations read as JSON lines from stdin, answering on a private pipe; whatever the function
prints goes to a log file, as Lambda sends it to CloudWatch Logs. Module-level state survives
between invocations, exactly like a warm container. An invocation may carry ``clock`` (epoch
seconds): the wall clock the layer reads (``personalize_monitor.timeutil.utcnow``) then shows
that simulated time, advancing with real time during the invocation.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import resource
import sys
import time
import traceback
import uuid
from typing import Any


class Context:
    def __init__(self, timeout: float) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = os.environ.get("PM_TEST_FUNCTION_ARN", "")
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _NoBackoff:
    """``time`` for botocore.endpoint without the waits between retries (see skip_retry_waits)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        return None


def skip_retry_waits() -> None:
    """On a simulated clock (tools.localaws.simulation sets LOCALAWS_SKIP_RETRY_WAITS=1) a retried
    AWS call is still retried as often as the SDK's retry mode says, but without waiting the
    back-off in real time: the waits would only stretch a simulated day into hours."""
    import botocore.endpoint

    botocore.endpoint.time = _NoBackoff()  # type: ignore[attr-defined]


def main() -> int:
    task_dir, layer_dirs, handler_spec, timeout, reply_fd, log_path = (
        sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    )
    reply = os.fdopen(reply_fd, "w", buffering=1)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.path[:0] = [task_dir] + [os.path.join(d, "python") for d in layer_dirs]
    if os.environ.get("LOCALAWS_SKIP_RETRY_WAITS") == "1":
        skip_retry_waits()
    module_name, func_name = handler_spec.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        init_error = None
    except Exception:  # noqa: BLE001 - reported to the parent like Lambda's init error
        handler, init_error = None, traceback.format_exc()
    timeutil = sys.modules.get("personalize_monitor.timeutil")
    real_utcnow = getattr(timeutil, "utcnow", None)
    for line in sys.stdin:
        request = json.loads(line)
        started = time.monotonic()
        clock = request.get("clock")
        if timeutil is not None and real_utcnow is not None:
            if clock is None:
                setattr(timeutil, "utcnow", real_utcnow)  # noqa: B010 - a module loaded at run time
            else:
                def simulated(base: float = float(clock), at: float = started) -> datetime.datetime:
                    return datetime.datetime.fromtimestamp(base + time.monotonic() - at, datetime.timezone.utc)

                setattr(timeutil, "utcnow", simulated)  # noqa: B010 - a module loaded at run time
        answer: dict[str, Any] = {}
        if init_error:
            answer["error"] = init_error
        else:
            try:
                answer["result"] = handler(request["event"], Context(timeout))
            except Exception:  # noqa: BLE001 - an unhandled error of the function
                answer["error"] = traceback.format_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        answer["duration"] = time.monotonic() - started
        answer["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        reply.write(json.dumps(answer, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
