"""Run the functions Terraform deployed, from their own packages, against the local AWS.

moto stores Lambda functions but cannot run them without Docker, so tests take the zip that
Terraform's archive_file built plus the layer zips, read the function's configuration
(handler, environment, timeout, memory, layers) from the deployed function, and run it in a
child process (tools.localaws.lambda_container) with the environment Lambda would give it
plus the endpoints of the local AWS. ``EventRouter`` delivers what the deployed EventBridge
rules sent to Lambda targets (the local AWS's outbox) to those functions. Test tooling only.
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

    def invoke(self, event: Any) -> Invocation:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"event": event}) + "\n")
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

    def invoke(self, event: Any) -> Invocation:
        """One cold invocation."""
        with self.container() as container:
            return container.invoke(event)


class EventRouter:
    """Delivers EventBridge -> Lambda deliveries from the local AWS to deployed functions."""

    def __init__(self, aws: LocalAWS, functions: Mapping[str, DeployedFunction]) -> None:
        self.aws = aws
        self.by_arn = {f.arn: f for f in functions.values()}
        self.containers: Dict[str, LambdaContainer] = {}
        self.history: List[Dict[str, Any]] = []

    def container(self, function: DeployedFunction) -> LambdaContainer:
        if function.arn not in self.containers:
            self.containers[function.arn] = function.container()
        return self.containers[function.arn]

    def run_until_idle(self, max_rounds: int = 20) -> List[Dict[str, Any]]:
        """Invoke targets until no delivery is pending; returns what was delivered."""
        delivered: List[Dict[str, Any]] = []
        for _ in range(max_rounds):
            batch = self.aws.drain_lambda_outbox()
            if not batch:
                return delivered
            for item in batch:
                function = self.by_arn.get(item["function_arn"])
                if function is None:
                    raise KeyError(f"delivery to unknown function {item['function_arn']}")
                outcome = self.container(function).invoke(item["event"])
                record = {"function": function.name, "rule": item["rule"], "event": item["event"],
                          "result": outcome.result, "error": outcome.error, "logs": outcome.logs}
                delivered.append(record)
                self.history.append(record)
        raise RuntimeError(f"events still flowing after {max_rounds} rounds")

    def close(self) -> None:
        for container in self.containers.values():
            container.stop()
        self.containers.clear()
