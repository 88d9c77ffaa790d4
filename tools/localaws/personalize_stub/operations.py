"""The AWS operations (List/Describe/Update/Delete/Stop/Start/Tag) and their pagination."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence

from tools.localaws.personalize_stub.core import BackendCore
from tools.localaws.personalize_stub.model import (
    ACTIVE,
    CAMPAIGN,
    CREATE_FAILED,
    DATASET_GROUP,
    DEFAULT_MAX_RESULTS,
    DELETE_IN_PROGRESS,
    DELETE_PENDING,
    INACTIVE,
    RECOMMENDER,
    SOLUTION,
    SOLUTION_VERSION,
    START_IN_PROGRESS,
    START_PENDING,
    STOP_IN_PROGRESS,
    STOP_PENDING,
    JsonObj,
    Step,
    _get_int,
    _get_obj,
    _get_str,
    parse_arn,
)
from tools.localaws.personalize_stub.state import _Caller, _check_tags, _Resource, _tags_from_list
from tools.localaws.personalize_stub.validation import ApiError


class ApiOperations(BackendCore):
    """The AWS operations this stand-in implements, served by :meth:`BackendCore.handle_api`."""

    def _operation_table(self) -> dict[str, Callable[[_Caller, JsonObj], JsonObj]]:
        return {
            "ListCampaigns": self._list_campaigns,
            "DescribeCampaign": self._describe_campaign,
            "UpdateCampaign": self._update_campaign,
            "DeleteCampaign": self._delete_campaign,
            "ListRecommenders": self._list_recommenders,
            "DescribeRecommender": self._describe_recommender,
            "UpdateRecommender": self._update_recommender,
            "StopRecommender": self._stop_recommender,
            "StartRecommender": self._start_recommender,
            "DescribeSolutionVersion": self._describe_solution_version,
            "DescribeSolution": self._describe_solution,
            "ListDatasetGroups": self._list_dataset_groups,
            "DescribeDatasetGroup": self._describe_dataset_group,
            "ListTagsForResource": self._list_tags_for_resource,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
        }

    # ---------------------------------------------------------------- pagination -----------
    def _encode_token(self, caller: _Caller, operation: str, filt: str | None, last: str) -> str:
        payload = json.dumps(
            {"o": operation, "a": caller.account, "r": caller.region, "f": filt, "k": last},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        mac = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def _decode_token(self, caller: _Caller, operation: str, filt: str | None, token: str) -> str:
        invalid = ApiError("InvalidNextTokenException", "The nextToken is not valid.")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise invalid from None
        mac, payload = raw[:16], raw[16:]
        expected = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]
        if len(raw) <= 16 or not hmac.compare_digest(mac, expected):
            raise invalid
        data = json.loads(payload)
        if not isinstance(data, dict) or (data.get("o"), data.get("a"), data.get("r"), data.get("f")) != (
            operation,
            caller.account,
            caller.region,
            filt,
        ):
            raise invalid
        last = data.get("k")
        if not isinstance(last, str):
            raise invalid
        return last

    def _list(
        self,
        caller: _Caller,
        params: JsonObj,
        operation: str,
        kind: str,
        out_key: str,
        filt: str | None,
        keep: Callable[[_Resource], bool],
    ) -> JsonObj:
        items = sorted(
            (
                r
                for r in self._resources.values()
                if r.kind == kind and r.account == caller.account and r.region == caller.region and keep(r)
            ),
            key=lambda r: r.arn,
        )
        token = _get_str(params, "nextToken")
        if token is not None:
            last = self._decode_token(caller, operation, filt, token)
            items = [r for r in items if r.arn > last]
        max_results = _get_int(params, "maxResults") or DEFAULT_MAX_RESULTS
        page = items[:max_results]
        out: JsonObj = {out_key: [self._view(r, summary=True) for r in page]}
        if len(items) > max_results:
            out["nextToken"] = self._encode_token(caller, operation, filt, page[-1].arn)
        return out

    def _filter_arn(self, params: JsonObj, key: str, kind: str) -> str | None:
        arn = _get_str(params, key)
        if arn is not None:
            parsed = parse_arn(arn)
            if parsed is None or parsed.kind != kind:
                raise ApiError("InvalidInputException", f"The ARN {arn} is not a valid {kind} ARN.")
        return arn

    # ---------------------------------------------------------------- operations -----------
    def _list_campaigns(self, caller: _Caller, params: JsonObj) -> JsonObj:
        solution_arn = self._filter_arn(params, "solutionArn", SOLUTION)

        def keep(resource: _Resource) -> bool:
            if solution_arn is None:
                return True
            version = resource.attrs.get("solutionVersionArn")
            return isinstance(version, str) and version.rsplit("/", 1)[0] == solution_arn

        return self._list(caller, params, "ListCampaigns", CAMPAIGN, "campaigns", solution_arn, keep)

    def _describe_campaign(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["campaignArn"]), CAMPAIGN)
        return {"campaign": self._view(resource)}

    def _check_solution_version_ref(self, caller: _Caller, arn: str) -> None:
        parsed = parse_arn(arn)
        if parsed is not None and parsed.kind == SOLUTION_VERSION and parsed.sub_id == "$LATEST":
            self._resolve(caller, arn.rsplit("/", 1)[0], SOLUTION)
        else:
            self._resolve(caller, arn, SOLUTION_VERSION)

    def _update_campaign(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["campaignArn"]), CAMPAIGN)
        self._ensure_idle(resource, frozenset({ACTIVE, CREATE_FAILED}), "update")
        attrs = resource.attrs
        version = _get_str(params, "solutionVersionArn")
        if version is not None:
            self._check_solution_version_ref(caller, version)
        tps = _get_int(params, "minProvisionedTPS")
        config = _get_obj(params, "campaignConfig")
        target: JsonObj = {
            "solutionVersionArn": version if version is not None else attrs.get("solutionVersionArn"),
            "minProvisionedTPS": tps if tps is not None else attrs.get("minProvisionedTPS"),
        }
        if config is not None:
            target["campaignConfig"] = copy.deepcopy(config)
        elif "campaignConfig" in attrs:
            target["campaignConfig"] = copy.deepcopy(attrs["campaignConfig"])

        def apply(ts: float) -> None:
            attrs.update(copy.deepcopy(target))
            attrs["lastUpdatedDateTime"] = ts
            if attrs.get("status") == CREATE_FAILED:
                attrs["status"] = ACTIVE
                attrs.pop("failureReason", None)

        self._start_update(resource, target, apply)
        return {"campaignArn": resource.arn}

    def _delete_step(self, resource: _Resource, status: str) -> Step:
        def step(ts: float) -> None:
            resource.attrs["status"] = status
            resource.attrs["lastUpdatedDateTime"] = ts
            update = resource.attrs.get("latestCampaignUpdate")
            if isinstance(update, dict):
                update["status"] = status
                update["lastUpdatedDateTime"] = ts

        return step

    def _delete_campaign(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["campaignArn"]), CAMPAIGN)
        self._ensure_idle(resource, frozenset({ACTIVE, CREATE_FAILED}), "delete")
        self._delete_step(resource, DELETE_PENDING)(self._clock.now())

        def remove(_ts: float) -> None:
            self._resources.pop(resource.arn, None)

        self._start_transition(resource, "delete", [self._delete_step(resource, DELETE_IN_PROGRESS), remove])
        return {}

    def _list_recommenders(self, caller: _Caller, params: JsonObj) -> JsonObj:
        group = self._filter_arn(params, "datasetGroupArn", DATASET_GROUP)

        def keep(resource: _Resource) -> bool:
            return group is None or resource.attrs.get("datasetGroupArn") == group

        return self._list(caller, params, "ListRecommenders", RECOMMENDER, "recommenders", group, keep)

    def _describe_recommender(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["recommenderArn"]), RECOMMENDER)
        return {"recommender": self._view(resource)}

    def _update_recommender(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["recommenderArn"]), RECOMMENDER)
        self._ensure_idle(resource, frozenset({ACTIVE}), "update")
        config = _get_obj(params, "recommenderConfig") or {}
        attrs = resource.attrs

        def apply(ts: float) -> None:
            attrs["recommenderConfig"] = copy.deepcopy(config)
            attrs["lastUpdatedDateTime"] = ts

        self._start_update(resource, {"recommenderConfig": config}, apply)
        return {"recommenderArn": resource.arn}

    def _run_status_cycle(self, resource: _Resource, kind: str, statuses: Sequence[str]) -> None:
        self._status_step(resource, statuses[0])(self._clock.now())
        self._start_transition(resource, kind, [self._status_step(resource, s) for s in statuses[1:]])

    def _stop_recommender(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["recommenderArn"]), RECOMMENDER)
        self._ensure_idle(resource, frozenset({ACTIVE}), "stop")
        self._run_status_cycle(resource, "stop", (STOP_PENDING, STOP_IN_PROGRESS, INACTIVE))
        return {"recommenderArn": resource.arn}

    def _start_recommender(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["recommenderArn"]), RECOMMENDER)
        self._ensure_idle(resource, frozenset({INACTIVE}), "start")
        self._run_status_cycle(resource, "start", (START_PENDING, START_IN_PROGRESS, ACTIVE))
        return {"recommenderArn": resource.arn}

    def _describe_solution_version(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["solutionVersionArn"]), SOLUTION_VERSION)
        return {"solutionVersion": self._view(resource)}

    def _describe_solution(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["solutionArn"]), SOLUTION)
        return {"solution": self._view(resource)}

    def _list_dataset_groups(self, caller: _Caller, params: JsonObj) -> JsonObj:
        return self._list(caller, params, "ListDatasetGroups", DATASET_GROUP, "datasetGroups", None, lambda _r: True)

    def _describe_dataset_group(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve(caller, str(params["datasetGroupArn"]), DATASET_GROUP)
        return {"datasetGroup": self._view(resource)}

    def _list_tags_for_resource(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve_any(caller, str(params["resourceArn"]))
        return {"tags": [{"tagKey": k, "tagValue": v} for k, v in resource.tags.items()]}

    def _tag_resource(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve_any(caller, str(params["resourceArn"]))
        raw = params.get("tags")
        new_tags = _tags_from_list(raw if isinstance(raw, list) else [])
        _check_tags(resource.tags, new_tags, ApiError)
        resource.tags.update(new_tags)
        return {}

    def _untag_resource(self, caller: _Caller, params: JsonObj) -> JsonObj:
        resource = self._resolve_any(caller, str(params["resourceArn"]))
        keys = params.get("tagKeys")
        for key in keys if isinstance(keys, list) else []:
            resource.tags.pop(str(key), None)
        return {}
