"""Client for the stand-in's control API (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from tools.localaws.personalize_stub.model import CONTROL_PREFIX, DEFAULT_ACCOUNT, DEFAULT_REGION, JsonObj, _as_obj
from tools.localaws.personalize_stub.validation import StubControlError


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


@dataclass(frozen=True)
class CallRecord:
    """API calls the stub received from one (account, region) for one operation."""

    account: str
    region: str
    operation: str
    count: int
    throttled: int


class PersonalizeStubControl:
    """Client for the stub's control API (``/_stub/...``), standard library only.

    ``account``/``region`` are the defaults for resources created through this client.
    Every ``create_*`` returns the new resource's ARN; ``**fields`` passes further members of
    the resource's describe shape by their AWS names (e.g. ``performHPO=True``).
    """

    def __init__(
        self, endpoint_url: str, *, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION, timeout: float = 30.0
    ) -> None:
        if not endpoint_url.startswith(("http://", "https://")):
            raise ValueError(f"endpoint_url must be an http(s) URL, got {endpoint_url!r}")
        self.endpoint_url = endpoint_url.rstrip("/")
        self.account = account
        self.region = region
        self.timeout = timeout
        # Never route loopback control traffic through an environment proxy.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- transport ------------------------------------------------------------------------
    def request(self, method: str, route: str, payload: Mapping[str, object] | None = None) -> JsonObj:
        """Raw control call: ``request("POST", "settle")``; raises :class:`StubControlError`."""
        url = f"{self.endpoint_url}{CONTROL_PREFIX}{route.lstrip('/')}"
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as err:
            raw = err.read()
            message = raw.decode("utf-8", "replace")
            try:
                decoded = json.loads(raw)
                if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
                    message = decoded["error"]
            except ValueError:
                pass
            raise StubControlError(err.code, message) from None
        parsed = json.loads(body) if body else {}
        if not isinstance(parsed, dict):
            raise StubControlError(500, f"unexpected control response {parsed!r}")
        return _as_obj(parsed)

    def _create(
        self,
        route: str,
        fields: Mapping[str, object],
        *,
        name: str | None,
        status: str | None,
        account: str | None,
        region: str | None,
        tags: Mapping[str, str] | None,
        creation_date_time: float | None,
        last_updated_date_time: float | None,
        failure_reason: str | None,
    ) -> str:
        payload: dict[str, object] = {"account": account or self.account, "region": region or self.region}
        optional: dict[str, object] = {
            "name": name,
            "status": status,
            "tags": dict(tags) if tags is not None else None,
            "creationDateTime": creation_date_time,
            "lastUpdatedDateTime": last_updated_date_time,
            "failureReason": failure_reason,
        }
        payload.update({k: v for k, v in optional.items() if v is not None})
        payload.update({k: v for k, v in fields.items() if v is not None})
        return str(self.request("POST", route, payload)["arn"])

    # -- resources --------------------------------------------------------------------------
    def create_dataset_group(
        self,
        name: str | None = None,
        *,
        domain: str | None = None,
        status: str | None = None,
        account: str | None = None,
        region: str | None = None,
        tags: Mapping[str, str] | None = None,
        creation_date_time: float | None = None,
        last_updated_date_time: float | None = None,
        failure_reason: str | None = None,
        **fields: object,
    ) -> str:
        return self._create(
            "dataset-groups",
            {"domain": domain, **fields},
            name=name,
            status=status,
            account=account,
            region=region,
            tags=tags,
            creation_date_time=creation_date_time,
            last_updated_date_time=last_updated_date_time,
            failure_reason=failure_reason,
        )

    def create_solution(
        self,
        name: str | None = None,
        *,
        recipe_arn: str | None = None,
        dataset_group_arn: str | None = None,
        status: str | None = None,
        account: str | None = None,
        region: str | None = None,
        tags: Mapping[str, str] | None = None,
        creation_date_time: float | None = None,
        last_updated_date_time: float | None = None,
        failure_reason: str | None = None,
        **fields: object,
    ) -> str:
        return self._create(
            "solutions",
            {"recipeArn": recipe_arn, "datasetGroupArn": dataset_group_arn, **fields},
            name=name,
            status=status,
            account=account,
            region=region,
            tags=tags,
            creation_date_time=creation_date_time,
            last_updated_date_time=last_updated_date_time,
            failure_reason=failure_reason,
        )

    def create_solution_version(
        self,
        solution_name: str | None = None,
        *,
        recipe_arn: str | None = None,
        dataset_group_arn: str | None = None,
        solution_arn: str | None = None,
        version_id: str | None = None,
        training_mode: str | None = None,
        name: str | None = None,
        status: str | None = None,
        account: str | None = None,
        region: str | None = None,
        tags: Mapping[str, str] | None = None,
        creation_date_time: float | None = None,
        last_updated_date_time: float | None = None,
        failure_reason: str | None = None,
        **fields: object,
    ) -> str:
        """A solution version (its solution is created on first use of ``solution_name``)."""
        return self._create(
            "solution-versions",
            {
                "solutionName": solution_name,
                "solutionArn": solution_arn,
                "recipeArn": recipe_arn,
                "datasetGroupArn": dataset_group_arn,
                "versionId": version_id,
                "trainingMode": training_mode,
                **fields,
            },
            name=name,
            status=status,
            account=account,
            region=region,
            tags=tags,
            creation_date_time=creation_date_time,
            last_updated_date_time=last_updated_date_time,
            failure_reason=failure_reason,
        )

    def create_campaign(
        self,
        solution_version_arn: str,
        min_tps: int = 1,
        *,
        name: str | None = None,
        campaign_config: Mapping[str, object] | None = None,
        status: str | None = None,
        account: str | None = None,
        region: str | None = None,
        tags: Mapping[str, str] | None = None,
        creation_date_time: float | None = None,
        last_updated_date_time: float | None = None,
        failure_reason: str | None = None,
        **fields: object,
    ) -> str:
        return self._create(
            "campaigns",
            {
                "solutionVersionArn": solution_version_arn,
                "minProvisionedTPS": min_tps,
                "campaignConfig": dict(campaign_config) if campaign_config is not None else None,
                **fields,
            },
            name=name,
            status=status,
            account=account,
            region=region,
            tags=tags,
            creation_date_time=creation_date_time,
            last_updated_date_time=last_updated_date_time,
            failure_reason=failure_reason,
        )

    def create_recommender(
        self,
        dataset_group_arn: str,
        recipe_arn: str,
        min_rps: int = 1,
        *,
        name: str | None = None,
        recommender_config: Mapping[str, object] | None = None,
        status: str | None = None,
        account: str | None = None,
        region: str | None = None,
        tags: Mapping[str, str] | None = None,
        creation_date_time: float | None = None,
        last_updated_date_time: float | None = None,
        failure_reason: str | None = None,
        **fields: object,
    ) -> str:
        """``recommender_config`` is stored as given; ``min_rps`` fills in its
        ``minRecommendationRequestsPerSecond`` when absent."""
        config = dict(recommender_config or {})
        config.setdefault("minRecommendationRequestsPerSecond", min_rps)
        return self._create(
            "recommenders",
            {"datasetGroupArn": dataset_group_arn, "recipeArn": recipe_arn, "recommenderConfig": config, **fields},
            name=name,
            status=status,
            account=account,
            region=region,
            tags=tags,
            creation_date_time=creation_date_time,
            last_updated_date_time=last_updated_date_time,
            failure_reason=failure_reason,
        )

    def set_status(self, arn: str, status: str, *, failure_reason: str | None = None, update: bool = False) -> JsonObj:
        """Force a status (``update=True``: the latest campaign/recommender update's status)."""
        payload: dict[str, object] = {"arn": arn, "status": status, "update": update}
        if failure_reason is not None:
            payload["failureReason"] = failure_reason
        resource = self.request("POST", "set-status", payload)["resource"]
        return _as_obj(resource)

    # -- time, faults, counters -------------------------------------------------------------
    def settle(self) -> int:
        """Complete every pending transition now; returns the number of steps applied."""
        completed = self.request("POST", "settle", {})["completed"]
        return completed if isinstance(completed, int) else 0

    def configure(
        self,
        *,
        throttle_rate: float | None = None,
        throttle_operations: Sequence[str] | _Unset | None = UNSET,
        throttle_seed: int | _Unset | None = UNSET,
        latency_ms: float | None = None,
        transition_delay_seconds: float | None = None,
        update_status_prefix: str | None = None,
    ) -> JsonObj:
        """Change only the settings given (``throttle_operations=None``: all operations)."""
        payload: dict[str, object] = {}
        if throttle_rate is not None:
            payload["throttle_rate"] = throttle_rate
        if not isinstance(throttle_operations, _Unset):
            payload["throttle_operations"] = list(throttle_operations) if throttle_operations is not None else None
        if not isinstance(throttle_seed, _Unset):
            payload["throttle_seed"] = throttle_seed
        if latency_ms is not None:
            payload["latency_ms"] = latency_ms
        if transition_delay_seconds is not None:
            payload["transition_delay_seconds"] = transition_delay_seconds
        if update_status_prefix is not None:
            payload["update_status_prefix"] = update_status_prefix
        return self.request("POST", "config", payload)

    def get_config(self) -> JsonObj:
        return self.request("GET", "config")

    def set_clock(self, epoch_seconds: float | None) -> float:
        """Freeze the stub clock at ``epoch_seconds`` (``None``: real time); returns its now."""
        return float(str(self.request("POST", "clock", {"epoch_seconds": epoch_seconds})["now"]))

    def advance_clock(self, seconds: float) -> float:
        """Move the (then frozen) stub clock forward by ``seconds``; returns its now."""
        return float(str(self.request("POST", "clock", {"advance_seconds": seconds})["now"]))

    def calls(self) -> list[CallRecord]:
        rows = self.request("GET", "calls")["calls"]
        out: list[CallRecord] = []
        for row in rows if isinstance(rows, list) else []:
            item = _as_obj(row)
            out.append(
                CallRecord(
                    account=str(item["account"]),
                    region=str(item["region"]),
                    operation=str(item["operation"]),
                    count=int(str(item["count"])),
                    throttled=int(str(item["throttled"])),
                )
            )
        return out

    def call_count(self, operation: str | None = None, *, account: str | None = None, region: str | None = None) -> int:
        """Calls received, summed over the rows matching the given filters."""
        return sum(
            c.count
            for c in self.calls()
            if (operation is None or c.operation == operation)
            and (account is None or c.account == account)
            and (region is None or c.region == region)
        )

    def reset_calls(self) -> None:
        self.request("POST", "calls/reset", {})

    def reset(self, *, keep_config: bool = False) -> None:
        """Forget all resources and counters; also restore the launch config and real clock."""
        self.request("POST", "reset", {"keep_config": keep_config})

    def state(self) -> JsonObj:
        return self.request("GET", "state")

    def health(self) -> bool:
        return self.request("GET", "health").get("ok") is True
