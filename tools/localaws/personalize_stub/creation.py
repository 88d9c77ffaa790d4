"""Resources created through the control API: validated, linked to their parents, ARNs built."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping

from botocore.model import StructureShape

from tools.localaws.personalize_stub.core import BackendCore
from tools.localaws.personalize_stub.model import (
    _ACCOUNT_RE,
    _AUTO_PROGRESS,
    _KINDS,
    _REGION_RE,
    _VERSION_ID_RE,
    ACTIVE,
    CAMPAIGN,
    DATASET_GROUP,
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    RECOMMENDER,
    SOLUTION,
    SOLUTION_VERSION,
    JsonObj,
    _is_number,
    build_arn,
    parse_arn,
    partition_for_region,
)
from tools.localaws.personalize_stub.state import (
    _COMMON_CONTROL_KEYS,
    _INHERITED_SOLUTION_FIELDS,
    _READ_ONLY_FIELDS,
    _check_tags,
    _control_error,
    _NewResource,
    _Resource,
    _tags_from_control,
)
from tools.localaws.personalize_stub.validation import StubControlError, _Validator


class ResourceCreation(BackendCore):
    """``POST /_stub/<kind>s``: a resource in any stable (or starting) status."""

    def create_resource(self, kind: str, payload: Mapping[str, object]) -> JsonObj:
        """Create a resource of ``kind`` from a control payload; ``{"arn": ..., "resource": ...}``."""
        with self._lock:
            self._advance_all(force=False)
            creators: dict[str, Callable[[Mapping[str, object]], _Resource]] = {
                DATASET_GROUP: self._create_dataset_group,
                SOLUTION: self._create_solution,
                SOLUTION_VERSION: self._create_solution_version,
                CAMPAIGN: self._create_campaign,
                RECOMMENDER: self._create_recommender,
            }
            creator = creators.get(kind)
            if creator is None:
                raise StubControlError(400, f"unknown resource kind {kind!r}")
            resource = creator(payload)
            return {"arn": resource.arn, _KINDS[kind].arn_member: resource.arn, "resource": self._view(resource)}

    def _new_base(self, kind: str, payload: Mapping[str, object], auto_name: bool = True) -> _NewResource:
        account = payload.get("account", DEFAULT_ACCOUNT)
        region = payload.get("region", DEFAULT_REGION)
        if not isinstance(account, str) or not _ACCOUNT_RE.fullmatch(account):
            raise StubControlError(400, f"account must be 12 digits, got {account!r}")
        if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
            raise StubControlError(400, f"region {region!r} is not a region name")
        name = payload.get("name")
        if name is None and auto_name:
            name = f"{kind}-{next(self._seq):04d}"
        if name is not None:
            validator = _Validator()
            validator.check(self._model.shape_for("Name"), name, "name")
            validator.raise_control()
        status = payload.get("status", ACTIVE)
        if status not in _KINDS[kind].initial_statuses:
            raise StubControlError(
                400, f"status for a new {kind} must be one of {sorted(_KINDS[kind].initial_statuses)}, got {status!r}"
            )
        now = self._clock.now()
        created = payload.get("creationDateTime", now)
        updated = payload.get("lastUpdatedDateTime", created)
        if not _is_number(created) or not _is_number(updated):
            raise StubControlError(400, "creationDateTime and lastUpdatedDateTime must be epoch seconds")
        failure = payload.get("failureReason")
        if failure is not None and not isinstance(failure, str):
            raise StubControlError(400, "failureReason must be a string")
        tags = _tags_from_control(payload.get("tags"))
        _check_tags({}, tags, _control_error)
        return _NewResource(
            account=account,
            region=region,
            name=str(name) if name is not None else None,
            status=str(status),
            created=float(created),  # type: ignore[arg-type]  # checked by _is_number
            updated=float(updated),  # type: ignore[arg-type]
            failure_reason=failure,
            tags=tags,
        )

    def _model_fields(self, kind: str, payload: Mapping[str, object], extra: frozenset[str] = frozenset()) -> JsonObj:
        """Members of the resource's describe shape given in ``payload``, validated."""
        spec = _KINDS[kind]
        shape = self._model.shape_for(spec.shape)
        assert isinstance(shape, StructureShape)
        fields: JsonObj = {}
        for key, value in payload.items():
            if key in _COMMON_CONTROL_KEYS or key in extra:
                continue
            if key not in shape.members or key == spec.arn_member or key in _READ_ONLY_FIELDS:
                raise StubControlError(400, f"{key!r} is not a settable {spec.shape} field")
            if value is None:
                continue
            validator = _Validator()
            validator.check(shape.members[key], value, key)
            validator.raise_control()
            fields[key] = copy.deepcopy(value)
        return fields

    def _require(self, kind: str, arn: object, base: _NewResource) -> _Resource:
        if not isinstance(arn, str):
            raise StubControlError(400, f"a {kind} ARN (string) is required")
        parsed = parse_arn(arn)
        resource = self._resources.get(arn)
        if (
            parsed is None
            or resource is None
            or resource.kind != kind
            or (parsed.account, parsed.region) != (base.account, base.region)
        ):
            raise StubControlError(404, f"no {kind} {arn} in account {base.account}, region {base.region}")
        return resource

    def _insert(self, kind: str, base: _NewResource, arn: str, fields: JsonObj) -> _Resource:
        if arn in self._resources:
            raise StubControlError(409, f"{arn} already exists")
        spec = _KINDS[kind]
        attrs: JsonObj = {spec.arn_member: arn}
        if base.name is not None:
            attrs["name"] = base.name
        attrs.update(fields)
        attrs["status"] = base.status
        attrs["creationDateTime"] = base.created
        attrs["lastUpdatedDateTime"] = base.updated
        if base.failure_reason is not None:
            attrs["failureReason"] = base.failure_reason
        resource = _Resource(kind, arn, base.account, base.region, next(self._seq), attrs, dict(base.tags))
        self._resources[arn] = resource
        following = _AUTO_PROGRESS.get(base.status)
        if following:
            self._start_transition(resource, "create", [self._status_step(resource, s) for s in following])
        return resource

    def _create_dataset_group(self, payload: Mapping[str, object]) -> _Resource:
        base = self._new_base(DATASET_GROUP, payload)
        fields = self._model_fields(DATASET_GROUP, payload)
        return self._insert(
            DATASET_GROUP, base, build_arn(DATASET_GROUP, base.region, base.account, str(base.name)), fields
        )

    def _default_recipe(self, region: str) -> str:
        return f"arn:{partition_for_region(region)}:personalize:::recipe/aws-user-personalization"

    def _create_solution(self, payload: Mapping[str, object]) -> _Resource:
        base = self._new_base(SOLUTION, payload)
        fields = self._model_fields(SOLUTION, payload)
        if "datasetGroupArn" in fields:
            self._require(DATASET_GROUP, fields["datasetGroupArn"], base)
        fields.setdefault("recipeArn", self._default_recipe(base.region))
        return self._insert(SOLUTION, base, build_arn(SOLUTION, base.region, base.account, str(base.name)), fields)

    def _create_solution_version(self, payload: Mapping[str, object]) -> _Resource:
        base = self._new_base(SOLUTION_VERSION, payload, auto_name=False)
        fields = self._model_fields(SOLUTION_VERSION, payload, frozenset({"solutionName", "versionId"}))
        solution_arn = fields.pop("solutionArn", None)
        if solution_arn is not None:
            solution = self._require(SOLUTION, solution_arn, base)
        else:
            solution_name = payload.get("solutionName")
            if solution_name is None:
                solution_name = f"solution-{next(self._seq):04d}"
            if not isinstance(solution_name, str):
                raise StubControlError(400, "solutionName must be a string")
            arn = build_arn(SOLUTION, base.region, base.account, solution_name)
            existing = self._resources.get(arn)
            if existing is not None:
                solution = existing
            else:
                spec: dict[str, object] = {"account": base.account, "region": base.region, "name": solution_name}
                spec["creationDateTime"] = base.created
                spec.update({k: fields[k] for k in _INHERITED_SOLUTION_FIELDS if k in fields})
                solution = self._create_solution(spec)
        for key in ("recipeArn", "datasetGroupArn"):
            if key in fields and fields[key] != solution.attrs.get(key):
                raise StubControlError(409, f"{key} {fields[key]!r} differs from solution {solution.arn}")
        for key in _INHERITED_SOLUTION_FIELDS:
            if key in solution.attrs and key not in fields:
                fields[key] = copy.deepcopy(solution.attrs[key])
        fields["solutionArn"] = solution.arn
        fields.setdefault("trainingMode", "FULL")
        fields.setdefault("trainingType", "MANUAL")
        version_id = payload.get("versionId")
        if version_id is None:
            version_id = hashlib.sha256(f"{solution.arn}#{next(self._seq)}".encode()).hexdigest()[:8]
        if not isinstance(version_id, str) or not _VERSION_ID_RE.fullmatch(version_id):
            raise StubControlError(400, f"versionId must be 1-32 letters/digits, got {version_id!r}")
        solution_name = str(solution.attrs["name"])
        arn = build_arn(SOLUTION_VERSION, base.region, base.account, solution_name, version_id)
        return self._insert(SOLUTION_VERSION, base, arn, fields)

    def _create_campaign(self, payload: Mapping[str, object]) -> _Resource:
        base = self._new_base(CAMPAIGN, payload)
        fields = self._model_fields(CAMPAIGN, payload)
        self._require(SOLUTION_VERSION, fields.get("solutionVersionArn"), base)
        fields.setdefault("minProvisionedTPS", 1)
        return self._insert(CAMPAIGN, base, build_arn(CAMPAIGN, base.region, base.account, str(base.name)), fields)

    def _create_recommender(self, payload: Mapping[str, object]) -> _Resource:
        base = self._new_base(RECOMMENDER, payload)
        fields = self._model_fields(RECOMMENDER, payload)
        self._require(DATASET_GROUP, fields.get("datasetGroupArn"), base)
        if not isinstance(fields.get("recipeArn"), str):
            raise StubControlError(400, "recipeArn is required for a recommender")
        fields.setdefault("recommenderConfig", {"minRecommendationRequestsPerSecond": 1})
        return self._insert(
            RECOMMENDER, base, build_arn(RECOMMENDER, base.region, base.account, str(base.name)), fields
        )
