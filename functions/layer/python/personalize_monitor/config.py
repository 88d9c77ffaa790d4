"""Settings the functions receive from Terraform through environment variables.

Every value is validated here too (Terraform validates first): a function with a broken
setting fails loudly at start instead of acting on a wrong value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from . import arns

DEFAULT_NAME = "PersonalizeMonitor"
METRIC_NAMESPACE = "PersonalizeMonitor"
EVENT_SOURCE = "personalize.monitor"


class ConfigError(ValueError):
    """A setting is missing or malformed."""


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
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


def _json_list(env: Mapping[str, str], key: str, default: List[str]) -> List[str]:
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


def _arn_scope(env: Mapping[str, str], key: str, kind: str) -> Optional[Tuple[str, ...]]:
    """None means ``all``; otherwise the explicit ARNs (validated)."""
    values = _json_list(env, key, ["all"])
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
    values = _json_list(env, "PM_SCHEDULED_CAPACITY_ARNS", [])
    for value in values:
        try:
            arns.parse(value)
        except arns.InvalidArn as exc:
            raise ConfigError(f"PM_SCHEDULED_CAPACITY_ARNS: {exc}") from None
    return tuple(dict.fromkeys(values))


COMMAND_ROLES = ("update_tps", "delete_campaign", "stop_recommender")


@dataclass(frozen=True)
class Settings:
    name: str = DEFAULT_NAME
    home_region: str = "us-east-1"
    regions: Tuple[str, ...] = ()
    campaign_arns: Optional[Tuple[str, ...]] = None  # None = all
    recommender_arns: Optional[Tuple[str, ...]] = None  # None = all
    auto_create_utilization_alarms: bool = True
    utilization_threshold_percent: float = 100.0
    auto_create_idle_alarms: bool = True
    idle_threshold_hours: int = 24
    auto_adjust_min_tps: bool = True
    auto_delete_or_stop_idle_resources: bool = False
    dry_run: bool = False
    protection_tag_key: str = "PersonalizeMonitor:Protect"
    notification_topic_arn: str = ""
    publish_derived_metrics: bool = True
    describe_rate_per_second: float = 10.0
    # Estimated prices (USD) for the savings stated in cost-action notifications.
    price_per_tps_hour: float = 0.2  # campaigns: per TPS-hour of max(min TPS, actual TPS)
    price_per_rps_hour: float = 0.2  # recommenders: per RPS-hour (3,600 requests) of max(min RPS, actual)
    # Resources whose minimum follows var.scheduled_capacity: the automatic step-down leaves them alone.
    scheduled_capacity_arns: Tuple[str, ...] = ()
    # PutMetricAlarm pacing: CloudWatch's default quota is 3 per second; a run writes at most
    # 30 seconds' worth and leaves the rest to the next run.
    alarm_writes_per_second: float = 3.0
    tags: Dict[str, str] = field(default_factory=dict)
    dashboard_name: str = ""  # empty: no dashboard
    # The seed's behaviour, opt-in: act on command events from the default bus (this account only).
    accept_default_bus_commands: bool = False

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
        regions = _json_list(env, "PM_REGIONS", [])
        for region in regions:
            if not arns.REGION_PATTERN.fullmatch(region):
                raise ConfigError(f"PM_REGIONS: {region!r} is not a region name")
        name = env.get("PM_NAME") or DEFAULT_NAME
        tags_raw = env.get("PM_TAGS") or "{}"
        try:
            tags = json.loads(tags_raw)
        except ValueError:
            raise ConfigError("PM_TAGS must be a JSON object of strings") from None
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise ConfigError("PM_TAGS must be a JSON object of strings")
        topic = env.get("PM_NOTIFICATION_TOPIC_ARN", "")
        if topic and not topic.startswith("arn:"):
            raise ConfigError(f"PM_NOTIFICATION_TOPIC_ARN must be an ARN, got {topic!r}")
        return cls(
            name=name,
            home_region=home,
            regions=tuple(dict.fromkeys(regions)),
            campaign_arns=_arn_scope(env, "PM_CAMPAIGN_ARNS", arns.KIND_CAMPAIGN),
            recommender_arns=_arn_scope(env, "PM_RECOMMENDER_ARNS", arns.KIND_RECOMMENDER),
            auto_create_utilization_alarms=_bool(env, "PM_AUTO_CREATE_UTILIZATION_ALARMS", True),
            utilization_threshold_percent=_number(env, "PM_UTILIZATION_THRESHOLD_PERCENT", 100, 0, 1000),
            auto_create_idle_alarms=_bool(env, "PM_AUTO_CREATE_IDLE_ALARMS", True),
            idle_threshold_hours=int(_number(env, "PM_IDLE_THRESHOLD_HOURS", 24, 1, 168)),
            auto_adjust_min_tps=_bool(env, "PM_AUTO_ADJUST_MIN_TPS", True),
            auto_delete_or_stop_idle_resources=_bool(env, "PM_AUTO_DELETE_OR_STOP_IDLE_RESOURCES", False),
            dry_run=_bool(env, "PM_DRY_RUN", False),
            protection_tag_key=env.get("PM_PROTECTION_TAG_KEY", "PersonalizeMonitor:Protect"),
            notification_topic_arn=topic,
            publish_derived_metrics=_bool(env, "PM_PUBLISH_DERIVED_METRICS", True),
            describe_rate_per_second=_number(env, "PM_DESCRIBE_RATE_PER_SECOND", 10, 0.1, 100),
            price_per_tps_hour=_number(env, "PM_PRICE_PER_TPS_HOUR", 0.2, 0, 1000),
            price_per_rps_hour=_number(env, "PM_PRICE_PER_RPS_HOUR", 0.2, 0, 1000),
            scheduled_capacity_arns=_scheduled_arns(env),
            alarm_writes_per_second=_number(env, "PM_ALARM_WRITES_PER_SECOND", 3, 0.5, 100),
            tags=tags,
            dashboard_name=env.get("PM_DASHBOARD_NAME", ""),
            accept_default_bus_commands=_bool(env, "PM_ACCEPT_DEFAULT_BUS_COMMANDS", False),
        )
