"""Local stand-in for the Amazon Personalize *control-plane* API (test tooling only).

moto has no Personalize backend, so this module provides one: a standard-library HTTP server
on 127.0.0.1 that unmodified boto3 code reaches through ``endpoint_url=...`` or
``AWS_ENDPOINT_URL_PERSONALIZE=http://127.0.0.1:PORT``. botocore's own service model
(``botocore.session.get_session().get_service_model("personalize")``) is the source of truth
for every operation, member name, constraint and response shape used here.

Wire protocol (awsJson1_1, as the real service)
-----------------------------------------------
* ``POST /`` with ``X-Amz-Target: AmazonPersonalize.<Operation>`` and a JSON body; JSON
  responses with ``Content-Type: application/x-amz-json-1.1`` and an ``x-amzn-RequestId``.
* Timestamps are epoch seconds (JSON numbers).
* Errors: HTTP 400 (403 for authentication problems) with ``{"__type": CODE, "message": ...}``
  and the same code in the ``x-amzn-ErrorType`` header, so botocore raises ``ClientError``
  with ``Error.Code == CODE`` (``ThrottlingException`` is retried by botocore's retry modes).
* Caller: the region comes from the SigV4 credential scope
  (``Credential=AKID/DATE/REGION/personalize/aws4_request``); the account from
  ``account_resolver(access_key_id)`` (default: the key itself when it is 12 digits, else
  ``123456789012``; a resolver raising ``LookupError``/``ValueError`` yields 403
  ``UnrecognizedClientException``). No ``Authorization`` header -> 403
  ``MissingAuthenticationTokenException``; a scope for another service -> 403
  ``InvalidSignatureException``. The signature itself is *not* verified.

Operations
----------
ListCampaigns, DescribeCampaign, UpdateCampaign, DeleteCampaign, ListRecommenders,
DescribeRecommender, UpdateRecommender, StopRecommender, StartRecommender,
DescribeSolutionVersion, DescribeSolution, ListDatasetGroups, DescribeDatasetGroup,
ListTagsForResource, TagResource, UntagResource. Every other target (including real
Personalize operations this stub does not implement) -> 400 ``UnknownOperationException``.

Modelled behaviour
------------------
* Input validation from the model: required members, string length, integer/double ranges
  (e.g. ``maxResults`` 1-100), list/map sizes, enums and patterns -> ``InvalidInputException``
  (AWS "N validation errors detected: ..." message); JSON of the wrong type ->
  ``SerializationException``. Unknown members are ignored. Responses are projected through
  the model's output shapes, so only real member names are ever returned.
* State is partitioned by (account, region): resources of another account or region are
  invisible to List* and give ``ResourceNotFoundException`` to Describe/Update/Delete/Tag
  (as calling a different regional endpoint would). A malformed ARN, or an ARN of the wrong
  resource type (a recommender ARN given to DescribeCampaign), -> ``InvalidInputException``.
* ARNs: ``arn:{partition}:personalize:{region}:{account}:campaign/{name}``, ``recommender/``,
  ``dataset-group/``, ``solution/{name}`` and ``solution/{name}/{versionId}`` (8 hex digits by
  default). Partition ``aws-cn`` for ``cn-*``, ``aws-us-gov`` for ``us-gov-*``, ``aws-iso*``
  for the ISO regions, else ``aws``.
* Pagination: stable ordering by ARN; ``maxResults`` defaults to 100; ``nextToken`` is an
  opaque HMAC-signed token bound to the operation, caller and filter. A forged, garbled or
  foreign token -> ``InvalidNextTokenException`` (the error the model declares for the List
  operations), not InvalidInputException.
* Life cycles (statuses exactly as the model documents them):
  - create (control API only): ``CREATE PENDING > CREATE IN_PROGRESS > ACTIVE``, or created
    directly in any stable status (``ACTIVE`` by default, ``CREATE FAILED``, ...).
  - UpdateCampaign: allowed when the campaign is ``ACTIVE`` or ``CREATE FAILED`` (the
    documented precondition) and nothing is in progress. ``latestCampaignUpdate`` carries the
    target solutionVersionArn/minProvisionedTPS/campaignConfig and goes
    ``<P> PENDING > <P> IN_PROGRESS > ACTIVE``; only then are the values applied to the
    campaign and its ``lastUpdatedDateTime`` bumped (the campaign keeps serving the old
    configuration meanwhile, and its own status stays ``ACTIVE``). ``<P>`` is ``CREATE`` by
    default because the model documents the update-summary states as ``CREATE PENDING >
    CREATE IN_PROGRESS > ACTIVE``; set ``update_status_prefix="UPDATE"`` for ``UPDATE
    PENDING``/``UPDATE IN_PROGRESS``. A ``campaignConfig`` sent replaces the stored one; an
    omitted member keeps the current value.
  - DeleteCampaign: the campaign's status goes ``DELETE PENDING > DELETE IN_PROGRESS`` and
    then it is gone (Describe -> ResourceNotFoundException, List omits it). If the campaign
    has a ``latestCampaignUpdate`` its status mirrors the DELETE states too (the model lists
    them for the update summary as well).
  - UpdateRecommender: requires ``ACTIVE``; ``recommenderConfig`` is *replaced* by what was
    sent (callers must send the full config, as with the real API), via
    ``latestRecommenderUpdate`` with the same life cycle as a campaign update.
  - StopRecommender: ``ACTIVE`` -> ``STOP PENDING > STOP IN_PROGRESS > INACTIVE``;
    StartRecommender: ``INACTIVE`` -> ``START PENDING > START IN_PROGRESS > ACTIVE``.
    Stopping a recommender that is not ACTIVE, starting one that is not INACTIVE, and any
    update/delete/stop/start while a create/update/delete/stop/start is in progress ->
    ``ResourceInUseException`` (the only state error the model declares for them).
* Transition timing: a pending transition advances one step each time
  ``transition_delay_seconds`` of wall-clock (monotonic) time has passed since its previous
  step. With the default 0.0 the transient statuses are skipped: the next read shows the
  final state. ``settle()`` completes every pending transition at once. Timestamps written
  by transitions come from the stub clock: real time unless overridden (``set_clock``).
* Tags on every modelled resource: at most 50 per resource (``TooManyTagsException``); keys
  starting with ``aws:`` are reserved (``InvalidInputException``).
* Faults and measurement (process wide): ``throttle_rate`` in 0..1 (optionally only for
  ``throttle_operations``; seedable via ``throttle_seed``) -> 400 ``ThrottlingException``;
  ``latency_ms`` slept before every API response (errors included); a call counter per
  (account, region, operation), counting throttled attempts too.

Simplifications
---------------
* No Create* API operations: resources are created through the control API below (with an
  arbitrary status and timestamps). DeleteRecommender, datasets, filters, etc. are absent.
* A solution version needs its solution; the control API auto-creates the solution when it
  is referenced by name. ``latestSolutionVersion`` of a solution is derived from its most
  recently created version. ``SolutionArn/$LATEST`` is accepted by UpdateCampaign when the
  solution exists and stored verbatim.
* Signatures, IAM, service quotas and the data plane (GetRecommendations) are not modelled.

Control API (not part of AWS; plain JSON over HTTP on the same port)
--------------------------------------------------------------------
``POST /_stub/dataset-groups | solutions | solution-versions | campaigns | recommenders``
(body: ``account``, ``region``, ``name``, optional ``status``, ``creationDateTime``,
``lastUpdatedDateTime``, ``failureReason``, ``tags`` (dict or Tag list) and any member of the
resource's describe shape, e.g. ``solutionVersionArn``, ``minProvisionedTPS``,
``campaignConfig``; solution versions also take ``solutionName`` / ``solutionArn`` and
``versionId``) -> ``{"arn": ..., "resource": {...}}``; ``POST /_stub/set-status``;
``POST /_stub/settle``; ``GET|POST /_stub/config``; ``GET|POST /_stub/clock``;
``GET /_stub/calls``; ``POST /_stub/calls/reset``; ``POST /_stub/reset`` (wipes resources and
counters and restores the launch config and the real clock; ``{"keep_config": true}`` keeps
them); ``GET /_stub/state``; ``GET /_stub/health``. :class:`PersonalizeStubControl` wraps them.
Control errors are ``{"error": message}`` with 400 (bad input), 404 (unknown reference) or 409
(already exists).

Entry points: :class:`PersonalizeStub` (embed in-process: ``start()`` -> endpoint URL, runs
in a daemon thread) and ``python -m tools.localaws.personalize_stub --port 0 --ready-file
PATH`` (writes ``{"endpoint": URL, "pid": N}`` to PATH once listening).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import dataclasses
import functools
import hashlib
import hmac
import itertools
import json
import logging
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StringShape, StructureShape

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "UNSET",
    "ApiError",
    "ApiResponse",
    "CallRecord",
    "PersonalizeBackend",
    "PersonalizeStub",
    "PersonalizeStubControl",
    "StubConfig",
    "StubControlError",
    "build_arn",
    "default_account_resolver",
    "main",
    "parse_arn",
    "partition_for_region",
]

LOG = logging.getLogger(__name__)

JsonObj = dict[str, object]
AccountResolver = Callable[[str], str]
Step = Callable[[float], None]

DEFAULT_ACCOUNT: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
TARGET_PREFIX: Final = "AmazonPersonalize."
CONTROL_PREFIX: Final = "/_stub/"
JSON_CONTENT_TYPE: Final = "application/x-amz-json-1.1"
DEFAULT_MAX_RESULTS: Final = 100
MAX_TAGS_PER_RESOURCE: Final = 50
UPDATE_STATUS_PREFIXES: Final = ("CREATE", "UPDATE")

# Statuses, spelled as the service model documents them.
ACTIVE: Final = "ACTIVE"
INACTIVE: Final = "INACTIVE"
CREATE_PENDING: Final = "CREATE PENDING"
CREATE_IN_PROGRESS: Final = "CREATE IN_PROGRESS"
CREATE_FAILED: Final = "CREATE FAILED"
CREATE_STOPPING: Final = "CREATE STOPPING"
CREATE_STOPPED: Final = "CREATE STOPPED"
DELETE_PENDING: Final = "DELETE PENDING"
DELETE_IN_PROGRESS: Final = "DELETE IN_PROGRESS"
STOP_PENDING: Final = "STOP PENDING"
STOP_IN_PROGRESS: Final = "STOP IN_PROGRESS"
START_PENDING: Final = "START PENDING"
START_IN_PROGRESS: Final = "START IN_PROGRESS"

# Resource kinds (the ARN resource-type prefix, except solution versions).
DATASET_GROUP: Final = "dataset-group"
SOLUTION: Final = "solution"
SOLUTION_VERSION: Final = "solution-version"
CAMPAIGN: Final = "campaign"
RECOMMENDER: Final = "recommender"


@dataclass(frozen=True)
class _KindSpec:
    arn_member: str
    shape: str
    summary_shape: str
    initial_statuses: frozenset[str]
    update_member: str | None = None


_CREATE_STATUSES: Final = frozenset({ACTIVE, CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_FAILED})
_KINDS: Final[Mapping[str, _KindSpec]] = {
    DATASET_GROUP: _KindSpec("datasetGroupArn", "DatasetGroup", "DatasetGroupSummary", _CREATE_STATUSES),
    SOLUTION: _KindSpec("solutionArn", "Solution", "SolutionSummary", _CREATE_STATUSES),
    SOLUTION_VERSION: _KindSpec(
        "solutionVersionArn",
        "SolutionVersion",
        "SolutionVersionSummary",
        _CREATE_STATUSES | {CREATE_STOPPING, CREATE_STOPPED},
    ),
    CAMPAIGN: _KindSpec("campaignArn", "Campaign", "CampaignSummary", _CREATE_STATUSES, "latestCampaignUpdate"),
    RECOMMENDER: _KindSpec(
        "recommenderArn",
        "Recommender",
        "RecommenderSummary",
        _CREATE_STATUSES | {INACTIVE},
        "latestRecommenderUpdate",
    ),
}
# Statuses from which a transition runs on its own, and where it ends.
_AUTO_PROGRESS: Final[Mapping[str, tuple[str, ...]]] = {
    CREATE_PENDING: (CREATE_IN_PROGRESS, ACTIVE),
    CREATE_IN_PROGRESS: (ACTIVE,),
    CREATE_STOPPING: (CREATE_STOPPED,),
}

_PARTITION_PREFIXES: Final = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
)
_ARN_RE: Final = re.compile(r"arn:([a-z0-9-]+):personalize:([a-z0-9-]*):([0-9A-Za-z-]*):([a-z-]+)/([^/]+)(?:/([^/]+))?")
_CREDENTIAL_RE: Final = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
_ACCOUNT_RE: Final = re.compile(r"\d{12}")
_REGION_RE: Final = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_VERSION_ID_RE: Final = re.compile(r"[A-Za-z0-9$]{1,32}")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------
def partition_for_region(region: str) -> str:
    """The ARN partition of ``region`` (``aws-cn`` for cn-*, ``aws-us-gov`` for us-gov-*, ...)."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def default_account_resolver(access_key_id: str) -> str:
    """The access key itself when it is 12 digits (moto's convention), else 123456789012."""
    return access_key_id if _ACCOUNT_RE.fullmatch(access_key_id) else DEFAULT_ACCOUNT


def build_arn(kind: str, region: str, account: str, name: str, version_id: str | None = None) -> str:
    """ARN of a Personalize resource; ``kind`` is one of the resource kinds of this module."""
    if kind == SOLUTION_VERSION:
        if not version_id:
            raise ValueError("a solution version ARN needs a version id")
        resource = f"solution/{name}/{version_id}"
    else:
        resource = f"{kind}/{name}"
    return f"arn:{partition_for_region(region)}:personalize:{region}:{account}:{resource}"


@dataclass(frozen=True)
class ParsedArn:
    """The parts of a Personalize ARN. ``kind`` is ``solution-version`` for solution versions."""

    partition: str
    region: str
    account: str
    kind: str
    name: str
    sub_id: str | None


def parse_arn(arn: str) -> ParsedArn | None:
    """Parse a Personalize ARN; ``None`` when it is not one."""
    match = _ARN_RE.fullmatch(arn)
    if match is None:
        return None
    partition, region, account, rtype, name, sub_id = match.groups()
    if rtype == SOLUTION and sub_id is not None:
        kind = SOLUTION_VERSION
    elif sub_id is None:
        kind = rtype
    else:
        kind = f"{rtype}/*"
    return ParsedArn(partition, region, account, kind, name, sub_id)


@functools.lru_cache(maxsize=1)
def personalize_model() -> ServiceModel:
    """botocore's Personalize service model (loaded once)."""
    return botocore.session.get_session().get_service_model("personalize")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get_str(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _get_int(obj: Mapping[str, object], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _get_obj(obj: Mapping[str, object], key: str) -> JsonObj | None:
    value = obj.get(key)
    return _as_obj(value) if isinstance(value, dict) else None


def _as_obj(value: object) -> JsonObj:
    if not isinstance(value, dict):
        raise TypeError("expected a JSON object")
    return {str(k): v for k, v in value.items()}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class ApiError(Exception):
    """An AWS-style error: serialized as ``{"__type": code, "message": message}``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _not_found(arn: str) -> ApiError:
    return ApiError("ResourceNotFoundException", f"Resource {arn} does not exist.")


def _in_use(message: str) -> ApiError:
    return ApiError("ResourceInUseException", message)


class StubControlError(RuntimeError):
    """A control-API request failed (HTTP status and message from the stub)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


# --------------------------------------------------------------------------------------------
# Model-driven validation and projection
# --------------------------------------------------------------------------------------------
_PROPERTY_IN_CLASS: Final = {"ASCII": r"\x00-\x7F", "L": r"\w", "N": r"\d", "Z": r"\s"}
_PROPERTY_OUTSIDE: Final = {"ASCII": r"[\x00-\x7F]", "L": r"[^\W\d_]", "N": r"\d", "Z": r"\s"}


@functools.lru_cache(maxsize=None)
def _model_pattern(pattern: str) -> re.Pattern[str] | None:
    """Compile a model (Java) regex for Python; ``\\p{..}`` classes approximated, else None."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            if pattern[i + 1] == "p" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                table = _PROPERTY_IN_CLASS if in_class else _PROPERTY_OUTSIDE
                prop = pattern[i + 3 : end] if end > 0 else ""
                if prop not in table:
                    return None
                out.append(table[prop])
                i = end + 1
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return None


class _Validator:
    """Collects model-constraint violations the way AWS reports them."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.type_errors: list[str] = []

    @staticmethod
    def _join(path: str, name: str) -> str:
        return f"{path}.{name}" if path else name

    def _constraint(self, value: object, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.errors.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    def _bounds(self, shape: Shape, value: object, measure: float, path: str, what: str) -> None:
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if isinstance(low, (int, float)) and measure < low:
            self._constraint(value, path, f"have {what} greater than or equal to {low}")
        if isinstance(high, (int, float)) and measure > high:
            self._constraint(value, path, f"have {what} less than or equal to {high}")

    def check(self, shape: Shape, value: object, path: str = "") -> None:
        if isinstance(shape, StructureShape):
            if not isinstance(value, dict):
                self.type_errors.append(f"Expected an object at '{path or shape.name}'")
                return
            for name in shape.required_members:
                if value.get(name) is None:
                    self._constraint(None, self._join(path, name), "not be null")
            for name, member in shape.members.items():
                if value.get(name) is not None:
                    self.check(member, value[name], self._join(path, name))
            return
        if isinstance(shape, ListShape):
            if not isinstance(value, list):
                self.type_errors.append(f"Expected a list at '{path}'")
                return
            self._bounds(shape, value, len(value), path, "length")
            for index, item in enumerate(value, start=1):
                self.check(shape.member, item, f"{path}.{index}.member")
            return
        if isinstance(shape, MapShape):
            if not isinstance(value, dict):
                self.type_errors.append(f"Expected a map at '{path}'")
                return
            self._bounds(shape, value, len(value), path, "length")
            for key, item in value.items():
                self.check(shape.key, key, f"{path}.{key}.key")
                self.check(shape.value, item, f"{path}.{key}.value")
            return
        self._check_scalar(shape, value, path)

    def _check_scalar(self, shape: Shape, value: object, path: str) -> None:
        kind = shape.type_name
        if kind == "string":
            if not isinstance(value, str):
                self.type_errors.append(f"Expected a string at '{path}'")
                return
            self._bounds(shape, value, len(value), path, "length")
            enum = shape.enum if isinstance(shape, StringShape) else []
            if enum and value not in enum:
                self._constraint(value, path, f"satisfy enum value set: [{', '.join(enum)}]")
            pattern = shape.metadata.get("pattern")
            if isinstance(pattern, str):
                compiled = _model_pattern(pattern)
                if compiled is not None and compiled.fullmatch(value) is None:
                    self._constraint(value, path, f"satisfy regular expression pattern: {pattern}")
        elif kind in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                self.type_errors.append(f"Expected an integer at '{path}'")
                return
            self._bounds(shape, value, value, path, "value")
        elif kind in ("float", "double"):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self.type_errors.append(f"Expected a number at '{path}'")
                return
            self._bounds(shape, value, value, path, "value")
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.type_errors.append(f"Expected a boolean at '{path}'")
        elif kind == "timestamp":
            if not (_is_number(value) or isinstance(value, str)):
                self.type_errors.append(f"Expected a timestamp at '{path}'")
        elif kind == "blob" and not isinstance(value, str):
            self.type_errors.append(f"Expected base64 text at '{path}'")

    def message(self) -> str:
        count = len(self.errors)
        return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(self.errors)

    def raise_api(self) -> None:
        if self.type_errors:
            raise ApiError("SerializationException", self.type_errors[0])
        if self.errors:
            raise ApiError("InvalidInputException", self.message())

    def raise_control(self) -> None:
        if self.type_errors:
            raise StubControlError(400, self.type_errors[0])
        if self.errors:
            raise StubControlError(400, self.message())


def _project(shape: Shape, value: object) -> object:
    """Keep only what ``shape`` declares (recursively); timestamps as float epoch seconds."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return None
        out: JsonObj = {}
        for name, member in shape.members.items():
            if name in value:
                projected = _project(member, value[name])
                if projected is not None:
                    out[name] = projected
        return out
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return None
        return [p for p in (_project(shape.member, item) for item in value) if p is not None]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return None
        return {str(k): p for k, v in value.items() if (p := _project(shape.value, v)) is not None}
    if shape.type_name == "timestamp" and _is_number(value):
        return float(value)  # type: ignore[arg-type]  # narrowed by _is_number
    return value


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------
@dataclass
class StubConfig:
    """Process-wide fault injection and timing settings."""

    throttle_rate: float = 0.0
    throttle_operations: frozenset[str] | None = None
    throttle_seed: int | None = None
    latency_ms: float = 0.0
    transition_delay_seconds: float = 0.0
    update_status_prefix: str = "CREATE"

    def to_json(self) -> JsonObj:
        return {
            "throttle_rate": self.throttle_rate,
            "throttle_operations": sorted(self.throttle_operations) if self.throttle_operations is not None else None,
            "throttle_seed": self.throttle_seed,
            "latency_ms": self.latency_ms,
            "transition_delay_seconds": self.transition_delay_seconds,
            "update_status_prefix": self.update_status_prefix,
        }


class _Clock:
    """Wall clock for timestamps; can be frozen at an arbitrary epoch value."""

    def __init__(self) -> None:
        self.override: float | None = None

    def now(self) -> float:
        return self.override if self.override is not None else time.time()

    def at_monotonic(self, mono: float) -> float:
        """The stub-clock time at which monotonic instant ``mono`` happened."""
        if self.override is not None:
            return self.override
        return time.time() - max(0.0, time.monotonic() - mono)


@dataclass
class _Transition:
    kind: str
    steps: list[Step]
    last_step_mono: float


@dataclass
class _Resource:
    kind: str
    arn: str
    account: str
    region: str
    seq: int
    attrs: JsonObj
    tags: dict[str, str] = field(default_factory=dict)
    transition: _Transition | None = None


@dataclass
class _CallStat:
    count: int = 0
    throttled: int = 0


@dataclass(frozen=True)
class _Caller:
    account: str
    region: str
    access_key_id: str


@dataclass(frozen=True)
class _NewResource:
    account: str
    region: str
    name: str | None
    status: str
    created: float
    updated: float
    failure_reason: str | None
    tags: dict[str, str]


@dataclass(frozen=True)
class ApiResponse:
    """An awsJson1_1 response, plus the injected latency to sleep before sending it."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]
    delay_seconds: float


_COMMON_CONTROL_KEYS: Final = frozenset(
    {"account", "region", "name", "status", "tags", "creationDateTime", "lastUpdatedDateTime", "failureReason"}
)
# Solution members a solution version reports too.
_INHERITED_SOLUTION_FIELDS: Final = (
    "recipeArn",
    "datasetGroupArn",
    "performHPO",
    "performAutoML",
    "eventType",
    "solutionConfig",
)
_READ_ONLY_FIELDS: Final = frozenset(
    {"latestCampaignUpdate", "latestRecommenderUpdate", "latestSolutionVersion", "latestSolutionUpdate"}
)


class PersonalizeBackend:
    """State, life cycles, faults and both APIs (AWS wire protocol + control), without HTTP.

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
        self._operations: dict[str, Callable[[_Caller, JsonObj], JsonObj]] = {
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

    # ---------------------------------------------------------------- control API ----------
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

    # ---------------------------------------------------------------- control: creation ----
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


def _control_error(code: str, message: str) -> StubControlError:
    return StubControlError(400, f"{code}: {message}")


def _tags_from_list(raw: Sequence[object]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw:
        if isinstance(item, dict):
            key, value = item.get("tagKey"), item.get("tagValue")
            if isinstance(key, str) and isinstance(value, str):
                tags[key] = value
    return tags


def _tags_from_control(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        validator = _Validator()
        validator.check(personalize_model().shape_for("Tags"), raw, "tags")
        validator.raise_control()
        return _tags_from_list(raw)
    raise StubControlError(400, "tags must be an object of strings or a list of {tagKey, tagValue}")


def _check_tags(existing: Mapping[str, str], new: Mapping[str, str], error: Callable[[str, str], Exception]) -> None:
    reserved = sorted(k for k in new if k.lower().startswith("aws:"))
    if reserved:
        raise error("InvalidInputException", f"Tag keys starting with 'aws:' are reserved: {reserved}")
    if len(set(existing) | set(new)) > MAX_TAGS_PER_RESOURCE:
        raise error("TooManyTagsException", f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags.")


# --------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------
class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: PersonalizeBackend) -> None:
        self.backend = backend
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PersonalizeStub/1.0"
    # Keep-alive clients (botocore) would otherwise wait ~40 ms per call on delayed ACKs.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("%s - " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path.startswith(CONTROL_PREFIX):
                self._control(path, body)
            elif self.command == "POST":
                self._api(body)
            else:
                self._send_json(404, {"__type": "UnknownOperationException", "message": "Not found."})
        except Exception:  # report any bug as a 500 rather than drop the socket
            LOG.exception("personalize stub failed on %s %s", self.command, self.path)
            self._send_json(500, {"__type": "InternalFailure", "message": "Internal error in the Personalize stub."})

    def _api(self, body: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.server.backend.handle_api(headers, body)
        if response.delay_seconds > 0:
            time.sleep(response.delay_seconds)
        self._send(response.status, response.body, response.headers)

    def _control(self, path: str, body: bytes) -> None:
        payload: JsonObj = {}
        if body.strip():
            try:
                raw = json.loads(body)
            except ValueError:
                self._send_json(400, {"error": "body is not JSON"})
                return
            if not isinstance(raw, dict):
                self._send_json(400, {"error": "body must be a JSON object"})
                return
            payload = _as_obj(raw)
        status, result = self.server.backend.handle_control(self.command, path, payload)
        self._send_json(status, result)

    def _send_json(self, status: int, payload: JsonObj) -> None:
        error = payload.get("__type")
        headers = [("Content-Type", "application/json")]
        if isinstance(error, str):
            headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-ErrorType", error)]
        self._send(status, json.dumps(payload).encode(), tuple(headers))

    def _send(self, status: int, body: bytes, headers: Sequence[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class PersonalizeStub:
    """The stand-in as an embeddable server: ``start()`` returns the endpoint URL.

    ``account_resolver(access_key_id) -> account`` maps callers to accounts (the local-AWS
    launcher passes moto's so assumed-role credentials land in the right account). The other
    arguments are the initial :class:`StubConfig` (restored by ``reset()``).
    """

    def __init__(
        self,
        account_resolver: AccountResolver | None = None,
        *,
        transition_delay_seconds: float = 0.0,
        latency_ms: float = 0.0,
        throttle_rate: float = 0.0,
        throttle_operations: Sequence[str] | None = None,
        throttle_seed: int | None = None,
        update_status_prefix: str = "CREATE",
    ) -> None:
        config = StubConfig(
            throttle_rate=throttle_rate,
            throttle_operations=frozenset(throttle_operations) if throttle_operations is not None else None,
            throttle_seed=throttle_seed,
            latency_ms=latency_ms,
            transition_delay_seconds=transition_delay_seconds,
            update_status_prefix=update_status_prefix,
        )
        self.backend = PersonalizeBackend(account_resolver, config)
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 = a free port) in a daemon thread; returns the endpoint URL."""
        if self._server is not None:
            return self.endpoint_url
        server = _HTTPServer((host, port), self.backend)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="personalize-stub", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Personalize stub is not running")
        host, port = self._server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{host_text}:{port}"

    def stop(self) -> None:
        """Stop listening and join the server thread (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def control(self) -> PersonalizeStubControl:
        """A control client bound to this running stub."""
        return PersonalizeStubControl(self.endpoint_url)

    def __enter__(self) -> PersonalizeStub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# Control client
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.localaws.personalize_stub --port 0 --ready-file PATH``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.localaws.personalize_stub",
        description="Local stand-in for the Amazon Personalize control-plane API (test tooling).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help='written with {"endpoint": URL, "pid": N} once listening')
    parser.add_argument("--transition-delay-seconds", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--update-status-prefix", choices=UPDATE_STATUS_PREFIXES, default="CREATE")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    stub = PersonalizeStub(
        transition_delay_seconds=args.transition_delay_seconds,
        latency_ms=args.latency_ms,
        update_status_prefix=args.update_status_prefix,
    )
    endpoint = stub.start(args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"endpoint": endpoint, "pid": os.getpid()}, fh)
        os.replace(tmp, args.ready_file)
    print(endpoint, flush=True)
    stop.wait()
    stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
