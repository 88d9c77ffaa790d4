"""Local AWS for tests, the demo and the benchmark: moto + the Personalize stand-in on 127.0.0.1.

``LocalAWS.start()`` runs ``tools.localaws.server`` in a child process on free ports and
returns a handle with the endpoints, the environment a boto3 program needs to reach them
(``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_PERSONALIZE``), ready-made clients, the
Personalize stand-in's control client, and the Terraform provider override that points every
endpoint used (``sts`` and ``ec2`` included) at the local server. Test tooling only.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ACCOUNT = "123456789012"
FAKE_KEY = "testing"

# Services the module's Terraform configuration talks to, by the aws provider 3.39 endpoint
# names. sts and ec2 must be here too or the provider calls the real AWS hosts.
TERRAFORM_ENDPOINT_SERVICES = (
    "cloudwatch",
    "cloudwatchevents",
    "cloudwatchlogs",
    "ec2",
    "iam",
    "kms",
    "lambda",
    "sns",
    "sqs",
    "sts",
)


class LocalAWS:
    """Handle on a running local AWS (moto + Personalize stand-in)."""

    def __init__(self, moto_url: str, personalize_url: str, proc: subprocess.Popen[bytes] | None = None):
        from tools.localaws.personalize_stub import PersonalizeStubControl

        self.moto_url = moto_url
        self.personalize_url = personalize_url
        self._proc = proc
        self.personalize = PersonalizeStubControl(personalize_url)

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def start(cls, latency_ms: float = 0.0, log_path: Path | None = None, timeout: float = 60.0) -> LocalAWS:
        workdir = Path(tempfile.mkdtemp(prefix="localaws-"))
        ready = workdir / "ready.json"
        log = open(log_path or workdir / "server.log", "wb")  # noqa: SIM115 - owned by the child
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        env["PYTHONPATH"] = str(ROOT)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.localaws.server", "--ready-file", str(ready),
             "--latency-ms", str(latency_ms)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"local AWS exited with {proc.returncode}; log: {log.name}")
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"local AWS not ready after {timeout}s; log: {log.name}")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        return cls(info["moto"], info["personalize"], proc)

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()

    def __enter__(self) -> LocalAWS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every resource in moto and the stand-in (between tests)."""
        self._post(f"{self.moto_url}/moto-api/reset", {})
        self.personalize.reset()
        self.set_faults()
        self.set_metric_faults([])
        self.set_clock(None)
        self._request("DELETE", f"{self.moto_url}/_localaws/calls")
        self.drain_lambda_outbox()
        self._request("DELETE", f"{self.moto_url}/_localaws/alarms")

    # -- clients and environment ------------------------------------------------------------
    def env(self, region: str = "us-east-1", account_key: str = FAKE_KEY) -> dict[str, str]:
        """Environment variables that send any boto3 program to this local AWS."""
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_PERSONALIZE": self.personalize_url,
            "AWS_ACCESS_KEY_ID": account_key,
            "AWS_SECRET_ACCESS_KEY": FAKE_KEY,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str, region: str = "us-east-1", retries: int = 3, **kwargs: Any) -> Any:
        endpoint = self.personalize_url if service == "personalize" else self.moto_url
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id=kwargs.pop("aws_access_key_id", FAKE_KEY),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", FAKE_KEY),
            aws_session_token=kwargs.pop("aws_session_token", None),
            config=Config(retries={"max_attempts": retries, "mode": "standard"}),
            **kwargs,
        )

    def create_trusted_role(self, account: str, name: str, trusted_account: str = DEFAULT_ACCOUNT) -> str:
        """Create role ``name`` in ``account`` whose trust policy lets ``trusted_account`` assume it
        (the local STS checks cross-account AssumeRole as STS does); returns its ARN."""
        iam = self.client("iam")

        def in_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account  # moto: the account this call acts in

        iam.meta.events.register("before-sign.iam.*", in_account)
        trusted = {"AWS": f"arn:aws:iam::{trusted_account}:root"}
        trust = {"Version": "2012-10-17",
                 "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": trusted}]}
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        return arn

    def provider_override(self, alias_regions: dict[str, str] | None = None, assume_role: bool = False) -> str:
        """HCL for a ``*_override.tf`` that points the root module's aws provider(s) locally."""
        blocks = [("", None)] + [(alias, region) for alias, region in (alias_regions or {}).items()]
        out = ["# Generated by tools.localaws: every endpoint on 127.0.0.1 (test tooling)."]
        for alias, region in blocks:
            out.append('provider "aws" {')
            if alias:
                out.append(f'  alias  = "{alias}"')
                out.append(f'  region = "{region}"')
            out += [
                f'  access_key                  = "{FAKE_KEY}"',
                f'  secret_key                  = "{FAKE_KEY}"',
                "  skip_credentials_validation = true",
                "  skip_requesting_account_id  = false" if assume_role else "  skip_requesting_account_id  = true",
                "  skip_metadata_api_check     = true",
                "  skip_get_ec2_platforms      = true",
                "  skip_region_validation      = true",
                "  max_retries                 = 2",
                "  endpoints {",
            ]
            out += [f'    {svc:<16} = "{self.moto_url}"' for svc in TERRAFORM_ENDPOINT_SERVICES]
            out += ["  }", "}"]
        return "\n".join(out) + "\n"

    # -- control API ------------------------------------------------------------------------
    def calls(self) -> list[dict[str, Any]]:
        """AWS API calls moto served since the last reset, by service/operation/region."""
        result: list[dict[str, Any]] = self._request("GET", f"{self.moto_url}/_localaws/calls")
        return result

    def reset_calls(self) -> None:
        self._request("DELETE", f"{self.moto_url}/_localaws/calls")

    def set_latency(self, latency_ms: float) -> None:
        self._post(f"{self.moto_url}/_localaws/config", {"latency_ms": latency_ms})

    def set_faults(
        self,
        throttle_rate: float = 0.0,
        throttle_services: tuple[str, ...] = (),
        unreachable_regions: tuple[str, ...] = (),
        seed: int = 0,
    ) -> None:
        """Throttle a share of moto's calls (services by SigV4 name, e.g. "monitoring") and make
        regions unreachable (moto answers 503; the Personalize stand-in drops the connection)."""
        self._post(f"{self.moto_url}/_localaws/config", {
            "throttle_rate": throttle_rate, "throttle_services": list(throttle_services), "throttle_seed": seed,
            "unreachable_regions": list(unreachable_regions),
        })

    def set_metric_faults(self, faults: list[dict[str, Any]]) -> None:
        """GetMetricData faults per query: each ``{"match": <substring of a dimension value>,
        "kind": InternalError | Forbidden | PartialData | PartialDataNoNext | Missing | Message,
        "metric": <metric name, optional>}`` (see server.metric_data_page); [] for none."""
        self._post(f"{self.moto_url}/_localaws/metric-faults", {"faults": faults})

    def set_clock(self, epoch: float | None) -> None:
        """Move the simulated clock (SQS delays and visibility, the Personalize stand-in's dates) to
        ``epoch``; None goes back to the real clock."""
        self._post(f"{self.moto_url}/_localaws/clock", {"epoch": epoch})
        self.personalize.set_clock(epoch)

    def service_send(self, queue_arn: str, body: str, service: str, source_arn: str,
                     attributes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a message as an AWS service would on behalf of ``source_arn`` (e.g. EventBridge for a
        rule): the queue's policy decides, as in AWS. Returns {"sent": bool, ...}."""
        result: dict[str, Any] = self._post(f"{self.moto_url}/_localaws/service-send", {
            "queue_arn": queue_arn, "body": body, "service": service, "source_arn": source_arn,
            "attributes": attributes or {}})
        return result

    def denied_deliveries(self) -> list[dict[str, Any]]:
        """EventBridge -> Lambda deliveries the function's policy refused."""
        result: list[dict[str, Any]] = self._request("GET", f"{self.moto_url}/_localaws/denied-deliveries")
        return result

    def drain_lambda_outbox(self) -> list[dict[str, Any]]:
        """EventBridge deliveries to Lambda targets since the last drain (oldest first)."""
        result: list[dict[str, Any]] = self._post(f"{self.moto_url}/_localaws/lambda-outbox", {})
        return result

    def sns_deliveries(self) -> list[dict[str, Any]]:
        """Every EventBridge -> SNS delivery since start (topic, rule, message)."""
        result: list[dict[str, Any]] = self._request("GET", f"{self.moto_url}/_localaws/sns-deliveries")
        return result

    def evaluate_alarms(self, until: datetime.datetime,
                        metrics: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Evaluate every alarm as CloudWatch would, on the simulated clock, up to ``until``
        (tools.localaws.alarm_evaluator), after storing ``metrics`` (datapoints a service publishes
        by itself: account, region, namespace, name, dimensions, timestamp, value, unit); returns
        the state changes and actions it logged."""
        result: list[dict[str, Any]] = self._post(f"{self.moto_url}/_localaws/alarms/evaluate",
                                                  {"until": until.timestamp(), "metrics": metrics or []})
        return result

    def alarm_log(self) -> list[dict[str, Any]]:
        """Every alarm state change and action since the last reset (simulated times)."""
        result: list[dict[str, Any]] = self._request("GET", f"{self.moto_url}/_localaws/alarms/log")
        return result

    def _post(self, url: str, payload: Any) -> Any:
        return self._request("POST", url, payload)

    @staticmethod
    def _request(method: str, url: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(  # noqa: S310 - loopback URLs built by this class
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            body = resp.read()
        return json.loads(body) if body else None
