"""Run the functions Terraform deployed, from their own packages, against the local AWS.

moto stores Lambda functions but cannot run them without Docker, so tests take the zip that
Terraform's archive_file built plus the layer zips, read the function's configuration
(handler, environment, timeout, memory, layers, role) from the deployed function, and run it in
a child process (tools.localaws.lambda_container) with the environment Lambda would give it:
the endpoints of the local AWS and temporary credentials of the function's own role (assumed
through STS, so resource policies see the function's role as the caller). ``EventRouter``
delivers what the deployed EventBridge rules sent to Lambda targets (the local AWS's outbox) to
those functions, and polls the SQS queues of their event source mappings as Lambda does. A
router given a clock (``set_clock``) runs everything at that simulated time. Test tooling only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from tools.localaws import ROOT, LocalAWS


@dataclass
class Invocation:
    result: Any = None
    error: Optional[str] = None
    logs: List[str] = field(default_factory=list)
    duration: float = 0.0
    max_rss_mb: float = 0.0

    def log_records(self) -> List[Dict[str, Any]]:
        """The JSON log records the function wrote (non-JSON lines are skipped)."""
        records = []
        for line in self.logs:
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                records.append(parsed)
        return records


class LambdaContainer:
    """One warm execution environment of a deployed function."""

    def __init__(self, function: DeployedFunction) -> None:
        self.function = function
        self.workdir = Path(tempfile.mkdtemp(prefix=f"lambda-{function.name}-"))
        task = self.workdir / "task"
        with zipfile.ZipFile(function.package) as zf:
            zf.extractall(task)
        layers = []
        for i, layer in enumerate(function.layer_packages):
            target = self.workdir / f"opt{i}"
            with zipfile.ZipFile(layer) as zf:
                zf.extractall(target)
            layers.append(str(target))
        self.log_path = self.workdir / "function.log"
        self.log_path.touch()
        self._log_offset = 0
        read_fd, write_fd = os.pipe()
        env = dict(function.environment)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(ROOT / "tools/localaws/lambda_container.py"), str(task), json.dumps(layers),
             function.handler, str(function.timeout), str(write_fd), str(self.log_path)],
            stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env, text=True,
        )
        os.close(write_fd)
        self._replies = os.fdopen(read_fd, "r")

    def invoke(self, event: Any, clock: Optional[float] = None) -> Invocation:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"event": event, "clock": clock}) + "\n")
        self.proc.stdin.flush()
        line = self._replies.readline()
        if not line:
            raise RuntimeError(f"container of {self.function.name} died; log:\n{self.log_path.read_text()[-4000:]}")
        answer = json.loads(line)
        with open(self.log_path) as fh:
            fh.seek(self._log_offset)
            logs = fh.read()
            self._log_offset = fh.tell()
        return Invocation(
            result=answer.get("result"),
            error=answer.get("error"),
            logs=logs.splitlines(),
            duration=answer.get("duration", 0.0),
            max_rss_mb=answer.get("max_rss_mb", 0.0),
        )

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._replies.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LambdaContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class DeployedFunction:
    name: str
    arn: str
    handler: str
    timeout: float
    memory_mb: int
    package: Path
    layer_packages: List[Path]
    environment: Dict[str, str]

    @classmethod
    def load(
        cls,
        aws: LocalAWS,
        function_name: str,
        package: Path,
        layer_packages_by_arn: Mapping[str, Path],
        region: str = "us-east-1",
        extra_env: Optional[Mapping[str, str]] = None,
    ) -> DeployedFunction:
        """Read the deployed configuration from Lambda and pair it with its local packages."""
        cfg = aws.client("lambda", region).get_function_configuration(FunctionName=function_name)
        layers = []
        for layer in cfg.get("Layers", []):
            if layer["Arn"] not in layer_packages_by_arn:
                raise KeyError(f"no local package for layer {layer['Arn']}")
            layers.append(Path(layer_packages_by_arn[layer["Arn"]]))
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME", "TZ")}
        env.update(aws.env(region))
        # Lambda runs a function with temporary credentials of its execution role.
        creds = aws.client("sts", region).assume_role(RoleArn=cfg["Role"], RoleSessionName=function_name[:64])
        env.update({"AWS_ACCESS_KEY_ID": creds["Credentials"]["AccessKeyId"],
                    "AWS_SECRET_ACCESS_KEY": creds["Credentials"]["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": creds["Credentials"]["SessionToken"]})
        env.update(cfg.get("Environment", {}).get("Variables", {}))
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg.get("MemorySize", 128)),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{cfg.get('Runtime', 'python')}",
                "PM_TEST_FUNCTION_ARN": cfg["FunctionArn"],
            }
        )
        env.update(extra_env or {})
        return cls(
            name=function_name,
            arn=cfg["FunctionArn"],
            handler=cfg["Handler"],
            timeout=float(cfg.get("Timeout", 3)),
            memory_mb=int(cfg.get("MemorySize", 128)),
            package=Path(package),
            layer_packages=layers,
            environment=env,
        )

    def container(self) -> LambdaContainer:
        """A new (cold) execution environment; reuse it for warm invocations."""
        return LambdaContainer(self)

    def invoke(self, event: Any, clock: Optional[float] = None) -> Invocation:
        """One cold invocation."""
        with self.container() as container:
            return container.invoke(event, clock)


class EventRouter:
    """Delivers EventBridge -> Lambda deliveries and SQS event-source messages to deployed functions."""

    def __init__(self, aws: LocalAWS, functions: Mapping[str, DeployedFunction]) -> None:
        self.aws = aws
        self.by_arn = {f.arn: f for f in functions.values()}
        self.containers: Dict[str, LambdaContainer] = {}
        self.history: List[Dict[str, Any]] = []
        self.clock: Optional[float] = None

    def set_clock(self, epoch: Optional[float]) -> None:
        """Run at this simulated time from now on (the local AWS and the functions' wall clock)."""
        self.clock = epoch
        self.aws.set_clock(epoch)

    def container(self, function: DeployedFunction) -> LambdaContainer:
        if function.arn not in self.containers:
            self.containers[function.arn] = function.container()
        return self.containers[function.arn]

    def invoke(self, function: DeployedFunction, event: Any) -> Invocation:
        """One invocation in the function's warm container, at the router's clock."""
        return self.container(function).invoke(event, self.clock)

    def _record(self, function: DeployedFunction, via: str, event: Any, outcome: Invocation) -> Dict[str, Any]:
        record = {"function": function.name, "rule": via, "event": event, "result": outcome.result,
                  "error": outcome.error, "logs": outcome.logs, "clock": self.clock}
        self.history.append(record)
        return record

    def poll_queues(self) -> List[Dict[str, Any]]:
        """One poll of every event source mapping's queue (visible messages at the clock), as
        Lambda polls: the function gets ``{"Records": [...]}``; a message is deleted when the
        function returned, and otherwise reappears after its visibility timeout."""
        delivered: List[Dict[str, Any]] = []
        lam = self.aws.client("lambda")
        for mapping in lam.list_event_source_mappings().get("EventSourceMappings", []):
            function = self.by_arn.get(mapping["FunctionArn"])
            source = str(mapping["EventSourceArn"])
            enabled = mapping.get("State", "Enabled") in ("Enabled", "Creating")
            if function is None or ":sqs:" not in source or not enabled:
                continue
            _, _, _, region, account, queue_name = source.split(":", 5)
            sqs = self.aws.client("sqs", region)
            url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=int(mapping.get("BatchSize", 1)),
                                          AttributeNames=["All"]).get("Messages", [])
                if not got:
                    break
                records = [{
                    "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody"),
                    "eventSource": "aws:sqs", "eventSourceARN": source, "awsRegion": region,
                } for m in got]
                event = {"Records": records}
                outcome = self.invoke(function, event)
                delivered.append(self._record(function, source, event, outcome))
                if outcome.error is None:
                    for m in got:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return delivered

    def run_until_idle(self, max_rounds: int = 20) -> List[Dict[str, Any]]:
        """Invoke targets until no EventBridge delivery and no visible queue message is pending;
        returns what was delivered."""
        delivered: List[Dict[str, Any]] = []
        for _ in range(max_rounds):
            batch = self.aws.drain_lambda_outbox()
            for item in batch:
                function = self.by_arn.get(item["function_arn"])
                if function is None:
                    raise KeyError(f"delivery to unknown function {item['function_arn']}")
                outcome = self.invoke(function, item["event"])
                delivered.append(self._record(function, item["rule"], item["event"], outcome))
            polled = self.poll_queues()
            delivered += polled
            if not batch and not polled:
                return delivered
        raise RuntimeError(f"events still flowing after {max_rounds} rounds")

    def close(self) -> None:
        for container in self.containers.values():
            container.stop()
        self.containers.clear()
