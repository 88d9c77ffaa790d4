"""Settings the functions receive from Terraform through environment variables.

Every value is validated here too (Terraform validates first): a function with a broken
setting fails loudly at start instead of acting on a wrong value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import arns, contract

DEFAULT_NAME = contract.DEFAULT_NAME
METRIC_NAMESPACE = contract.METRIC_NAMESPACE
EVENT_SOURCE = contract.EVENT_SOURCE


class ConfigError(ValueError):
    """A setting is missing or malformed."""


def _default(setting: str) -> Any:
    """A setting's default (contract.json)."""
    return contract.setting(setting)["default"]


def _bool(env: Mapping[str, str], setting: str) -> bool:
    key, default = contract.setting(setting)["env"], bool(_default(setting))
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], setting: str) -> float:
    spec = contract.setting(setting)
    key, default, low, high = spec["env"], float(spec["default"]), float(spec["min"]), float(spec["max"])
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}, got {value:g}")
    return value


def _json_list(env: Mapping[str, str], setting: str) -> List[str]:
    key, default = contract.setting(setting)["env"], _default(setting)
    raw = env.get(key)
    if raw is None or raw == "":
        return list(default)
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a JSON list of strings") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a JSON list of strings")
    return value


def _string(env: Mapping[str, str], setting: str) -> str:
    return env.get(contract.setting(setting)["env"]) or str(_default(setting))


def _choice(env: Mapping[str, str], setting: str) -> Optional[str]:
    """One of the setting's choices (contract.json), or its default when unset."""
    spec = contract.setting(setting)
    raw = (env.get(spec["env"]) or "").strip()
    if not raw:
        default: Optional[str] = spec["default"]
        return default
    if raw not in spec["choices"]:
        raise ConfigError(f"{spec['env']} must be one of {', '.join(spec['choices'])}, got {raw!r}")
    return raw


# How the derived per-resource metrics (average rate, utilization) are made (var.derived_metrics):
# STORED - the monitor publishes them and the alarms and graphs read them (the seed's way);
# METRIC_MATH - not stored: home-region alarms and every graph compute them with metric math on
#   the AWS/Personalize request metrics; resources in other regions get no per-resource alarms;
# NONE - not stored and no per-resource alarms or utilization graphs.
STORED, METRIC_MATH, NONE = "stored", "metric_math", "none"
DERIVED_METRICS_MODES = (STORED, METRIC_MATH, NONE)


def _arn_scope(env: Mapping[str, str], setting: str, kind: str) -> Optional[Tuple[str, ...]]:
    """None means ``all``; otherwise the explicit ARNs (validated)."""
    key = contract.setting(setting)["env"]
    values = _json_list(env, setting)
    if values == ["all"]:
        return None
    if "all" in values:
        raise ConfigError(f"{key}: 'all' cannot be combined with explicit ARNs")
    for value in values:
        try:
            arns.parse(value, kind)
        except arns.InvalidArn as exc:
            raise ConfigError(f"{key}: {exc}") from None
    return tuple(dict.fromkeys(values))


def _scheduled_arns(env: Mapping[str, str]) -> Tuple[str, ...]:
    values = _json_list(env, "scheduled_capacity_arns")
    for value in values:
        try:
            arns.parse(value)
        except arns.InvalidArn as exc:
            raise ConfigError(f"{contract.setting('scheduled_capacity_arns')['env']}: {exc}") from None
    return tuple(dict.fromkeys(values))


COMMAND_ROLES = contract.ACTION_FUNCTIONS


@dataclass(frozen=True)
class Settings:
    # Defaults: contract.json ("settings"), as Terraform's variables.tf (tests/test_contract.py).
    name: str = DEFAULT_NAME
    home_region: str = "us-east-1"
    regions: Tuple[str, ...] = ()
    campaign_arns: Optional[Tuple[str, ...]] = None  # None = all
    recommender_arns: Optional[Tuple[str, ...]] = None  # None = all
    auto_create_utilization_alarms: bool = _default("auto_create_utilization_alarms")
    utilization_threshold_percent: float = float(_default("utilization_threshold_percent"))
    auto_create_idle_alarms: bool = _default("auto_create_idle_alarms")
    idle_threshold_hours: int = int(_default("idle_threshold_hours"))
    auto_adjust_min_tps: bool = _default("auto_adjust_min_tps")
    auto_delete_or_stop_idle_resources: bool = _default("auto_delete_or_stop_idle_resources")
    dry_run: bool = _default("dry_run")
    protection_tag_key: str = _default("protection_tag_key")
    notification_topic_arn: str = _default("notification_topic_arn")
    # True while the derived metrics are stored (mode STORED); derived_metrics METRIC_MATH or NONE
    # sets it to False. derived_metrics None (the default) follows it: True STORED, False NONE.
    publish_derived_metrics: bool = _default("publish_derived_metrics")
    derived_metrics: Optional[str] = _default("derived_metrics")
    describe_rate_per_second: float = float(_default("describe_rate_per_second"))
    # Estimated prices (USD) for the savings stated in cost-action notifications: campaigns per
    # TPS-hour of max(min TPS, actual TPS), recommenders per RPS-hour (3,600 requests) of max(min RPS, actual).
    price_per_tps_hour: float = float(_default("price_per_tps_hour"))
    price_per_rps_hour: float = float(_default("price_per_rps_hour"))
    # Resources whose minimum follows var.scheduled_capacity: the automatic step-down leaves them alone.
    scheduled_capacity_arns: Tuple[str, ...] = ()
    # PutMetricAlarm pacing: CloudWatch's default quota is 3 per second; a run writes at most
    # 30 seconds' worth and leaves the rest to the next run.
    alarm_writes_per_second: float = float(_default("alarm_writes_per_second"))
    tags: Dict[str, str] = field(default_factory=dict)
    dashboard_name: str = _default("dashboard_name")  # empty: no dashboard
    # The seed's behaviour, opt-in: act on command events from the default bus (this account only).
    accept_default_bus_commands: bool = _default("accept_default_bus_commands")

    def __post_init__(self) -> None:
        key = contract.setting("derived_metrics")["env"]
        if self.derived_metrics is not None and self.derived_metrics not in DERIVED_METRICS_MODES:
            raise ConfigError(f"{key} must be one of {', '.join(DERIVED_METRICS_MODES)}, got {self.derived_metrics!r}")
        if self.derived_metrics == STORED and not self.publish_derived_metrics:
            raise ConfigError(
                f"{key}=stored contradicts {contract.setting('publish_derived_metrics')['env']}=false "
                "(leave derived_metrics unset, or choose metric_math or none)")
        if self.derived_metrics in (METRIC_MATH, NONE):
            object.__setattr__(self, "publish_derived_metrics", False)

    @property
    def derived_mode(self) -> str:
        """STORED, METRIC_MATH or NONE: derived_metrics, or what publish_derived_metrics implies."""
        if self.derived_metrics is not None:
            return self.derived_metrics
        return STORED if self.publish_derived_metrics else NONE

    @property
    def monitored_regions(self) -> Tuple[str, ...]:
        """Regions to look in: configured ones (default home) plus those of explicit ARNs."""
        regions: Dict[str, None] = dict.fromkeys(self.regions or (self.home_region,))
        for scope in (self.campaign_arns, self.recommender_arns):
            for arn in scope or ():
                regions[arns.parse(arn).region] = None
        return tuple(regions)

    def in_scope(self, arn: str) -> bool:
        """True when the ARN is one this deployment may monitor and act on."""
        try:
            parsed = arns.parse(arn)
        except arns.InvalidArn:
            return False
        if parsed.resource_type == arns.KIND_CAMPAIGN:
            scope = self.campaign_arns
        elif parsed.resource_type == arns.KIND_RECOMMENDER:
            scope = self.recommender_arns
        else:
            return False
        if scope is not None:
            return arn in scope
        return parsed.region in (self.regions or (self.home_region,))

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        env = os.environ if env is None else env
        home = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
        if not arns.REGION_PATTERN.fullmatch(home):
            raise ConfigError(f"AWS_REGION must be a region name, got {home!r}")
        regions = _json_list(env, "regions")
        for region in regions:
            if not arns.REGION_PATTERN.fullmatch(region):
                raise ConfigError(f"{contract.setting('regions')['env']}: {region!r} is not a region name")
        name = _string(env, "name")
        tags_key = contract.setting("tags")["env"]
        try:
            tags = json.loads(env.get(tags_key) or "{}")
        except ValueError:
            raise ConfigError(f"{tags_key} must be a JSON object of strings") from None
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise ConfigError(f"{tags_key} must be a JSON object of strings")
        topic = _string(env, "notification_topic_arn")
        if topic and not topic.startswith("arn:"):
            raise ConfigError(f"{contract.setting('notification_topic_arn')['env']} must be an ARN, got {topic!r}")
        return cls(
            name=name,
            home_region=home,
            regions=tuple(dict.fromkeys(regions)),
            campaign_arns=_arn_scope(env, "campaign_arns", arns.KIND_CAMPAIGN),
            recommender_arns=_arn_scope(env, "recommender_arns", arns.KIND_RECOMMENDER),
            auto_create_utilization_alarms=_bool(env, "auto_create_utilization_alarms"),
            utilization_threshold_percent=_number(env, "utilization_threshold_percent"),
            auto_create_idle_alarms=_bool(env, "auto_create_idle_alarms"),
            idle_threshold_hours=int(_number(env, "idle_threshold_hours")),
            auto_adjust_min_tps=_bool(env, "auto_adjust_min_tps"),
            auto_delete_or_stop_idle_resources=_bool(env, "auto_delete_or_stop_idle_resources"),
            dry_run=_bool(env, "dry_run"),
            protection_tag_key=env.get(contract.setting("protection_tag_key")["env"], _default("protection_tag_key")),
            notification_topic_arn=topic,
            publish_derived_metrics=_bool(env, "publish_derived_metrics"),
            derived_metrics=_choice(env, "derived_metrics"),
            describe_rate_per_second=_number(env, "describe_rate_per_second"),
            price_per_tps_hour=_number(env, "price_per_tps_hour"),
            price_per_rps_hour=_number(env, "price_per_rps_hour"),
            scheduled_capacity_arns=_scheduled_arns(env),
            alarm_writes_per_second=_number(env, "alarm_writes_per_second"),
            tags=tags,
            dashboard_name=env.get(contract.setting("dashboard_name")["env"], _default("dashboard_name")),
            accept_default_bus_commands=_bool(env, "accept_default_bus_commands"),
        )
