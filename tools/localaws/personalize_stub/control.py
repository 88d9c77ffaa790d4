"""The control API (``/_stub/...``): settle, config, clock, counters, reset, state, set-status."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import random
import urllib.parse
from collections.abc import Callable, Mapping

from tools.localaws.personalize_stub.creation import ResourceCreation
from tools.localaws.personalize_stub.model import (
    _KINDS,
    CAMPAIGN,
    CONTROL_PREFIX,
    DATASET_GROUP,
    RECOMMENDER,
    SOLUTION,
    SOLUTION_VERSION,
    UPDATE_STATUS_PREFIXES,
    JsonObj,
    _as_obj,
    _is_number,
)
from tools.localaws.personalize_stub.validation import ApiError, StubControlError


class ControlApi(ResourceCreation):
    """The control routes (creation routes to :meth:`ResourceCreation.create_resource`)."""

    def handle_control(self, method: str, path: str, payload: JsonObj) -> tuple[int, JsonObj]:
        """Serve one control request (``path`` starting with ``/_stub/``)."""
        route = urllib.parse.urlsplit(path).path[len(CONTROL_PREFIX) :].strip("/")
        routes: dict[tuple[str, str], Callable[[JsonObj], JsonObj]] = {
            ("POST", "dataset-groups"): lambda p: self.create_resource(DATASET_GROUP, p),
            ("POST", "solutions"): lambda p: self.create_resource(SOLUTION, p),
            ("POST", "solution-versions"): lambda p: self.create_resource(SOLUTION_VERSION, p),
            ("POST", "campaigns"): lambda p: self.create_resource(CAMPAIGN, p),
            ("POST", "recommenders"): lambda p: self.create_resource(RECOMMENDER, p),
            ("POST", "set-status"): self.set_status,
            ("POST", "settle"): lambda _p: {"completed": self.settle()},
            ("GET", "config"): lambda _p: self.configure({}),
            ("POST", "config"): self.configure,
            ("GET", "clock"): lambda _p: self.clock({}),
            ("POST", "clock"): self.clock,
            ("GET", "calls"): lambda _p: {"calls": self.calls()},
            ("POST", "calls/reset"): lambda _p: self._reset_calls_route(),
            ("DELETE", "calls"): lambda _p: self._reset_calls_route(),
            ("POST", "reset"): self.reset,
            ("GET", "state"): lambda _p: self.dump_state(),
            ("GET", "health"): lambda _p: {"ok": True},
        }
        handler = routes.get((method.upper(), route))
        if handler is None:
            known = any(r == route for _m, r in routes)
            return (405 if known else 404), {"error": f"no control route {method} {CONTROL_PREFIX}{route}"}
        try:
            return 200, handler(payload)
        except StubControlError as err:
            return err.status, {"error": err.message}
        except ApiError as err:
            return err.status, {"error": err.message, "code": err.code}

    def _reset_calls_route(self) -> JsonObj:
        self.reset_calls()
        return {}

    def settle(self) -> int:
        """Complete every pending transition now; returns the number of steps applied."""
        with self._lock:
            return self._advance_all(force=True)

    def configure(self, payload: Mapping[str, object]) -> JsonObj:
        """Change fault/timing settings (keys as :class:`StubConfig`); returns the new config."""
        with self._lock:
            self._advance_all(force=False)
            new = dataclasses.replace(self._config)
            for key, value in payload.items():
                if key in ("throttle_rate", "latency_ms", "transition_delay_seconds"):
                    if not _is_number(value):
                        raise StubControlError(400, f"{key} must be a number")
                    setattr(new, key, float(value))  # type: ignore[arg-type]  # checked by _is_number
                elif key == "throttle_operations":
                    if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                        raise StubControlError(400, "throttle_operations must be a list of operation names or null")
                    new.throttle_operations = frozenset(value) if isinstance(value, list) else None
                elif key == "throttle_seed":
                    if value is not None and not isinstance(value, int):
                        raise StubControlError(400, "throttle_seed must be an integer or null")
                    new.throttle_seed = value
                elif key == "update_status_prefix":
                    if value not in UPDATE_STATUS_PREFIXES:
                        raise StubControlError(400, f"update_status_prefix must be one of {UPDATE_STATUS_PREFIXES}")
                    new.update_status_prefix = str(value)
                else:
                    raise StubControlError(400, f"unknown config key {key!r}")
            self._check_config(new)
            self._config = new
            if "throttle_seed" in payload:
                self._rng = random.Random(new.throttle_seed)
            return new.to_json()

    def clock(self, payload: Mapping[str, object]) -> JsonObj:
        """``{"epoch_seconds": x|null}`` freezes/unfreezes the clock; ``{"advance_seconds": s}`` moves it."""
        with self._lock:
            self._advance_all(force=False)
            if "epoch_seconds" in payload:
                value = payload["epoch_seconds"]
                if value is not None and not _is_number(value):
                    raise StubControlError(400, "epoch_seconds must be a number or null")
                self._clock.override = float(value) if value is not None else None  # type: ignore[arg-type]
            if "advance_seconds" in payload:
                step = payload["advance_seconds"]
                if not _is_number(step):
                    raise StubControlError(400, "advance_seconds must be a number")
                self._clock.override = self._clock.now() + float(step)  # type: ignore[arg-type]
            return {"override": self._clock.override, "now": self._clock.now()}

    def calls(self) -> list[JsonObj]:
        """Call counters: one row per (account, region, operation), sorted."""
        with self._lock:
            return [
                {"account": a, "region": r, "operation": o, "count": s.count, "throttled": s.throttled}
                for (a, r, o), s in sorted(self._calls.items())
            ]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def reset(self, payload: Mapping[str, object] | None = None) -> JsonObj:
        """Wipe resources and counters; unless ``keep_config`` also restore config and clock."""
        with self._lock:
            self._resources.clear()
            self._calls.clear()
            self._seq = itertools.count(1)
            if not (payload or {}).get("keep_config"):
                self._config = dataclasses.replace(self._initial_config)
                self._rng = random.Random(self._config.throttle_seed)
                self._clock.override = None
            return {}

    def dump_state(self) -> JsonObj:
        """Every resource (as Describe would show it), its tags and pending transition."""
        with self._lock:
            self._advance_all(force=False)
            resources: list[JsonObj] = []
            for resource in sorted(self._resources.values(), key=lambda r: r.seq):
                transition = resource.transition
                resources.append(
                    {
                        "kind": resource.kind,
                        "arn": resource.arn,
                        "account": resource.account,
                        "region": resource.region,
                        "attributes": self._view(resource),
                        "tags": dict(resource.tags),
                        "transition": None
                        if transition is None
                        else {"kind": transition.kind, "remainingSteps": len(transition.steps)},
                    }
                )
            return {
                "resources": resources,
                "config": self._config.to_json(),
                "clock": {"override": self._clock.override, "now": self._clock.now()},
            }

    def set_status(self, payload: Mapping[str, object]) -> JsonObj:
        """Force ``status`` (and ``failureReason``) on ``arn``, cancelling its transition.

        With ``"update": true`` the status of ``latestCampaignUpdate`` /
        ``latestRecommenderUpdate`` is set instead (created from the current values if absent).
        """
        with self._lock:
            self._advance_all(force=False)
            arn = payload.get("arn")
            status = payload.get("status")
            failure = payload.get("failureReason")
            if not isinstance(arn, str) or not isinstance(status, str) or not status:
                raise StubControlError(400, "arn and status (strings) are required")
            if failure is not None and not isinstance(failure, str):
                raise StubControlError(400, "failureReason must be a string")
            resource = self._resources.get(arn)
            if resource is None:
                raise StubControlError(404, f"no resource {arn}")
            resource.transition = None
            now = self._clock.now()
            target = resource.attrs
            if payload.get("update"):
                member = _KINDS[resource.kind].update_member
                if member is None:
                    raise StubControlError(400, f"{resource.kind} resources have no update summary")
                existing = target.get(member)
                if isinstance(existing, dict):
                    update = _as_obj(existing)
                else:
                    keys = (
                        ("recommenderConfig",)
                        if resource.kind == RECOMMENDER
                        else (
                            "solutionVersionArn",
                            "minProvisionedTPS",
                            "campaignConfig",
                        )
                    )
                    update = {k: copy.deepcopy(target[k]) for k in keys if k in target}
                    update["creationDateTime"] = now
                target[member] = update
                target = update
            target["status"] = status
            target["lastUpdatedDateTime"] = now
            if failure is not None:
                target["failureReason"] = failure
            else:
                target.pop("failureReason", None)
            return {"arn": resource.arn, "resource": self._view(resource)}
