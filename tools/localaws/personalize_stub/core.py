"""The backend's core: state, the awsJson1_1 entry point, look-ups and life-cycle transitions."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from tools.localaws.personalize_stub.model import (
    _CREDENTIAL_RE,
    _KINDS,
    ACTIVE,
    JSON_CONTENT_TYPE,
    SOLUTION,
    SOLUTION_VERSION,
    TARGET_PREFIX,
    UPDATE_STATUS_PREFIXES,
    AccountResolver,
    JsonObj,
    ParsedArn,
    Step,
    _as_obj,
    default_account_resolver,
    parse_arn,
    partition_for_region,
    personalize_model,
)
from tools.localaws.personalize_stub.state import (
    ApiResponse,
    StubConfig,
    _Caller,
    _CallStat,
    _Clock,
    _Resource,
    _Transition,
)
from tools.localaws.personalize_stub.validation import (
    ApiError,
    StubControlError,
    _in_use,
    _not_found,
    _project,
    _Validator,
)


class BackendCore:
    """State, faults, the AWS wire protocol and transitions; the operations come from subclasses.

    Thread safe: every public method takes one re-entrant lock.
    """

    def __init__(self, account_resolver: AccountResolver | None = None, config: StubConfig | None = None) -> None:
        self._lock = threading.RLock()
        self._resolver: AccountResolver = account_resolver or default_account_resolver
        self._model = personalize_model()
        initial = dataclasses.replace(config) if config is not None else StubConfig()
        self._check_config(initial)
        self._initial_config = initial
        self._config = dataclasses.replace(initial)
        self._rng = random.Random(initial.throttle_seed)
        self._clock = _Clock()
        self._resources: dict[str, _Resource] = {}
        self._seq = itertools.count(1)
        self._calls: dict[tuple[str, str, str], _CallStat] = {}
        self._token_key = secrets.token_bytes(32)
        self._operations = self._operation_table()

    def _operation_table(self) -> dict[str, Callable[[_Caller, JsonObj], JsonObj]]:
        """The implemented AWS operations by name (the API operations mixin fills it)."""
        raise NotImplementedError

    @property
    def operations(self) -> tuple[str, ...]:
        """The AWS operations this stub implements."""
        return tuple(self._operations)

    # ---------------------------------------------------------------- AWS wire protocol ----
    def handle_api(self, headers: Mapping[str, str], body: bytes) -> ApiResponse:
        """Serve one awsJson1_1 request. ``headers`` must have lower-case names."""
        with self._lock:
            delay = max(0.0, self._config.latency_ms) / 1000.0
            try:
                status, payload = 200, self._dispatch_api(headers, body)
                error_code = None
            except ApiError as err:
                status, error_code = err.status, err.code
                payload = {"__type": err.code, "message": err.message}
            data = json.dumps(payload, separators=(",", ":")).encode()
        out = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", str(uuid.uuid4()))]
        if error_code is not None:
            out.append(("x-amzn-ErrorType", error_code))
        return ApiResponse(status, data, tuple(out), delay)

    def _authenticate(self, headers: Mapping[str, str]) -> _Caller:
        auth = headers.get("authorization", "")
        if not auth:
            raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
        match = _CREDENTIAL_RE.search(auth)
        if not auth.startswith("AWS4-HMAC-SHA256") or match is None:
            raise ApiError(
                "IncompleteSignatureException",
                "Authorization header requires a SigV4 'Credential' parameter (AKID/DATE/REGION/SERVICE/aws4_request).",
            )
        key, _date, region, service = match.groups()
        if service != "personalize":
            raise ApiError(
                "InvalidSignatureException", "Credential should be scoped to correct service: 'personalize'.", 403
            )
        try:
            account = self._resolver(key)
        except (LookupError, ValueError) as exc:
            raise ApiError(
                "UnrecognizedClientException", "The security token included in the request is invalid.", 403
            ) from exc
        return _Caller(account=account, region=region, access_key_id=key)

    def _dispatch_api(self, headers: Mapping[str, str], body: bytes) -> JsonObj:
        caller = self._authenticate(headers)
        target = headers.get("x-amz-target", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        self._advance_all(force=False)
        stat = self._calls.setdefault((caller.account, caller.region, operation or target or "-"), _CallStat())
        stat.count += 1
        if self._should_throttle(operation):
            stat.throttled += 1
            raise ApiError("ThrottlingException", "Rate exceeded")
        handler = self._operations.get(operation)
        if handler is None:
            if operation in self._model.operation_names:
                raise ApiError(
                    "UnknownOperationException",
                    f"Operation {operation} is not implemented by the local Personalize stub.",
                )
            raise ApiError("UnknownOperationException", f"Unknown operation {target or '(no X-Amz-Target)'}.")
        params = self._parse_params(operation, body)
        return handler(caller, params)

    def _should_throttle(self, operation: str) -> bool:
        rate = self._config.throttle_rate
        if rate <= 0.0:
            return False
        only = self._config.throttle_operations
        if only is not None and operation not in only:
            return False
        return self._rng.random() < rate

    def _parse_params(self, operation: str, body: bytes) -> JsonObj:
        raw: object = {}
        if body.strip():
            try:
                raw = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise ApiError("SerializationException", "The request body is not valid JSON.") from None
        if not isinstance(raw, dict):
            raise ApiError("SerializationException", "The request body must be a JSON object.")
        shape = self._model.operation_model(operation).input_shape
        if shape is not None:
            validator = _Validator()
            validator.check(shape, raw)
            validator.raise_api()
        return _as_obj(raw)

    # ---------------------------------------------------------------- lookups --------------
    def _in_scope(self, parsed: ParsedArn, caller: _Caller) -> bool:
        return (
            parsed.region == caller.region
            and parsed.account == caller.account
            and parsed.partition == partition_for_region(caller.region)
        )

    def _resolve(self, caller: _Caller, arn: str, kind: str) -> _Resource:
        parsed = parse_arn(arn)
        if parsed is None or parsed.kind != kind:
            raise ApiError("InvalidInputException", f"The ARN {arn} is not a valid {kind} ARN.")
        resource = self._resources.get(arn)
        if resource is None or resource.kind != kind or not self._in_scope(parsed, caller):
            raise _not_found(arn)
        return resource

    def _resolve_any(self, caller: _Caller, arn: str) -> _Resource:
        parsed = parse_arn(arn)
        if parsed is None:
            raise ApiError("InvalidInputException", f"The ARN {arn} is not a valid Personalize ARN.")
        resource = self._resources.get(arn)
        if resource is None or not self._in_scope(parsed, caller):
            raise _not_found(arn)
        return resource

    def _view(self, resource: _Resource, summary: bool = False) -> JsonObj:
        spec = _KINDS[resource.kind]
        attrs = resource.attrs
        if resource.kind == SOLUTION and not summary:
            latest = self._latest_version(resource.arn)
            if latest is not None:
                summary_shape = self._model.shape_for("SolutionVersionSummary")
                attrs = {**attrs, "latestSolutionVersion": _project(summary_shape, latest.attrs)}
        projected = _project(self._model.shape_for(spec.summary_shape if summary else spec.shape), attrs)
        return _as_obj(projected)

    def _latest_version(self, solution_arn: str) -> _Resource | None:
        versions = [
            r
            for r in self._resources.values()
            if r.kind == SOLUTION_VERSION and r.attrs.get("solutionArn") == solution_arn
        ]
        return max(versions, key=lambda r: r.seq) if versions else None

    # ---------------------------------------------------------------- transitions ----------
    def _advance(self, resource: _Resource, now_mono: float, force: bool) -> int:
        delay = max(0.0, self._config.transition_delay_seconds)
        done = 0
        transition = resource.transition
        while transition is not None and transition.steps:
            if not force and now_mono - transition.last_step_mono < delay:
                break
            step_mono = now_mono if force else transition.last_step_mono + delay
            transition.last_step_mono = step_mono
            step = transition.steps.pop(0)
            if not transition.steps:
                resource.transition = None
            step(self._clock.at_monotonic(step_mono))
            done += 1
        return done

    def _advance_all(self, force: bool) -> int:
        now_mono = time.monotonic()
        return sum(
            self._advance(resource, now_mono, force)
            for resource in list(self._resources.values())
            if resource.transition is not None
        )

    def _start_transition(self, resource: _Resource, kind: str, steps: Sequence[Step]) -> None:
        resource.transition = _Transition(kind, list(steps), time.monotonic())
        self._advance(resource, time.monotonic(), force=False)

    @staticmethod
    def _status_step(resource: _Resource, status: str) -> Step:
        def step(ts: float) -> None:
            resource.attrs["status"] = status
            resource.attrs["lastUpdatedDateTime"] = ts

        return step

    def _update_in_progress(self, resource: _Resource) -> bool:
        member = _KINDS[resource.kind].update_member
        update = resource.attrs.get(member) if member else None
        status = update.get("status") if isinstance(update, dict) else None
        return isinstance(status, str) and status.endswith(("PENDING", "IN_PROGRESS"))

    def _ensure_idle(self, resource: _Resource, allowed: frozenset[str], action: str) -> None:
        status = resource.attrs.get("status")
        if resource.transition is not None:
            raise _in_use(
                f"Resource {resource.arn} is in use: a {resource.transition.kind} is in progress (status {status})."
            )
        if self._update_in_progress(resource):
            raise _in_use(f"Resource {resource.arn} is in use: an update is in progress.")
        if status not in allowed:
            need = " or ".join(sorted(allowed))
            raise _in_use(f"Cannot {action} {resource.arn} in status {status}; it must be {need}.")

    def _start_update(self, resource: _Resource, target: JsonObj, apply: Callable[[float], None]) -> None:
        """Run the update-summary life cycle; ``apply`` applies ``target`` at the end."""
        member = _KINDS[resource.kind].update_member
        assert member is not None
        prefix = self._config.update_status_prefix
        now = self._clock.now()
        update: JsonObj = {
            **copy.deepcopy(target),
            "status": f"{prefix} PENDING",
            "creationDateTime": now,
            "lastUpdatedDateTime": now,
        }
        resource.attrs[member] = update

        def in_progress(ts: float) -> None:
            update["status"] = f"{prefix} IN_PROGRESS"
            update["lastUpdatedDateTime"] = ts

        def finish(ts: float) -> None:
            update["status"] = ACTIVE
            update["lastUpdatedDateTime"] = ts
            apply(ts)

        self._start_transition(resource, "update", [in_progress, finish])

    def _check_config(self, config: StubConfig) -> None:
        if not 0.0 <= config.throttle_rate <= 1.0:
            raise StubControlError(400, "throttle_rate must be between 0 and 1")
        if config.latency_ms < 0 or config.transition_delay_seconds < 0:
            raise StubControlError(400, "latency_ms and transition_delay_seconds must be >= 0")
        if config.update_status_prefix not in UPDATE_STATUS_PREFIXES:
            raise StubControlError(400, f"update_status_prefix must be one of {UPDATE_STATUS_PREFIXES}")
        unknown = sorted((config.throttle_operations or frozenset()) - set(self._model.operation_names))
        if unknown:
            raise StubControlError(400, f"unknown Personalize operations in throttle_operations: {unknown}")
