"""The stand-in's state records: config, clock, resources, callers, responses, tags."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from tools.localaws.personalize_stub.model import MAX_TAGS_PER_RESOURCE, JsonObj, Step, personalize_model
from tools.localaws.personalize_stub.validation import StubControlError, _Validator


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
