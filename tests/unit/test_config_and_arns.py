from __future__ import annotations

import json

import pytest
from personalize_monitor import arns
from personalize_monitor.config import ConfigError, Settings

CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/shop"
RECOMMENDER = "arn:aws:personalize:eu-west-1:123456789012:recommender/vod"


@pytest.mark.parametrize(
    ("value", "kind", "region", "partition"),
    [
        (CAMPAIGN, "campaign", "us-east-1", "aws"),
        (RECOMMENDER, "recommender", "eu-west-1", "aws"),
        ("arn:aws-cn:personalize:cn-north-1:123456789012:campaign/c1", "campaign", "cn-north-1", "aws-cn"),
        ("arn:aws-us-gov:personalize:us-gov-west-1:123456789012:recommender/r", "recommender", "us-gov-west-1",
         "aws-us-gov"),
        ("arn:aws:personalize:us-east-1:123456789012:solution/s/abcdef12", "solution", "us-east-1", "aws"),
    ],
)
def test_parse_valid_arns(value: str, kind: str, region: str, partition: str) -> None:
    parsed = arns.parse(value)
    assert (parsed.resource_type, parsed.region, parsed.partition) == (kind, region, partition)


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "arn:aws:s3:::bucket",
        "arn:aws:personalize:us-east-1:12345:campaign/x",  # short account
        "arn:aws:personalize:us-east-1:123456789012:campaign/x/extra",
        "arn:aws:personalize:us-east-1:123456789012:campaign/x; rm -rf /",
        "arn:aws:personalize:us-east-1:123456789012:campaign/" + "a" * 300,
        "arn:evil:personalize:us-east-1:123456789012:campaign/x",
    ],
)
def test_parse_rejects_bad_arns(value: object) -> None:
    with pytest.raises(arns.InvalidArn):
        arns.parse(value)


def test_parse_checks_expected_type() -> None:
    with pytest.raises(arns.InvalidArn, match="expected a campaign ARN"):
        arns.parse(RECOMMENDER, "campaign")


def test_personalized_ranking_recipe_is_partition_aware() -> None:
    assert arns.is_personalized_ranking_recipe("arn:aws:personalize:::recipe/aws-personalized-ranking")
    assert arns.is_personalized_ranking_recipe("arn:aws-cn:personalize:::recipe/aws-personalized-ranking-v2")
    assert not arns.is_personalized_ranking_recipe("arn:aws:personalize:::recipe/aws-user-personalization")
    assert not arns.is_personalized_ranking_recipe(None)


def env(**extra: str) -> dict[str, str]:
    base = {"AWS_REGION": "us-east-1"}
    base.update(extra)
    return base


def test_defaults_monitor_everything_in_home_region() -> None:
    s = Settings.from_env(env())
    assert s.campaign_arns is None and s.recommender_arns is None
    assert s.monitored_regions == ("us-east-1",)
    assert s.name == "PersonalizeMonitor"
    assert s.in_scope(CAMPAIGN)
    assert not s.in_scope(RECOMMENDER)  # eu-west-1 is not monitored


def test_explicit_arns_add_their_regions_and_limit_scope() -> None:
    s = Settings.from_env(env(PM_CAMPAIGN_ARNS=json.dumps([CAMPAIGN]), PM_RECOMMENDER_ARNS=json.dumps([RECOMMENDER])))
    assert s.monitored_regions == ("us-east-1", "eu-west-1")
    assert s.in_scope(CAMPAIGN) and s.in_scope(RECOMMENDER)
    assert not s.in_scope("arn:aws:personalize:us-east-1:123456789012:campaign/other")


def test_regions_setting() -> None:
    s = Settings.from_env(env(PM_REGIONS='["eu-west-1","ap-south-1"]'))
    assert s.monitored_regions == ("eu-west-1", "ap-south-1")
    assert s.in_scope(RECOMMENDER)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PM_CAMPAIGN_ARNS", '["all", "arn:aws:personalize:us-east-1:123456789012:campaign/x"]', "cannot be combined"),
        ("PM_CAMPAIGN_ARNS", json.dumps([RECOMMENDER]), "expected a campaign ARN"),
        ("PM_CAMPAIGN_ARNS", "not json", "JSON list"),
        ("PM_REGIONS", '["moon-1"]', "not a region"),
        ("PM_UTILIZATION_THRESHOLD_PERCENT", "1001", "between 0 and 1000"),
        ("PM_IDLE_THRESHOLD_HOURS", "0", "between 1 and 168"),
        ("PM_DRY_RUN", "maybe", "true or false"),
        ("PM_TAGS", "[1]", "JSON object"),
        ("PM_DERIVED_METRICS", "math", "must be one of stored, metric_math, none"),
        ("PM_DERIVED_METRICS", "METRIC_MATH", "must be one of"),
    ],
)
def test_bad_settings_are_rejected(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env(**{key: value}))


def test_missing_region_is_rejected() -> None:
    with pytest.raises(ConfigError, match="AWS_REGION"):
        Settings.from_env({})


@pytest.mark.parametrize(
    ("derived", "publish", "mode", "stored"),
    [
        (None, None, "stored", True),  # neither set: the seed's way
        (None, "false", "none", False),  # publish_derived_metrics = false, as before
        ("stored", "true", "stored", True),
        ("metric_math", None, "metric_math", False),  # PM_PUBLISH_DERIVED_METRICS left at its default
        ("metric_math", "false", "metric_math", False),
        ("none", "true", "none", False),
    ],
)
def test_derived_metrics_mode(derived: str | None, publish: str | None, mode: str, stored: bool) -> None:
    values = {k: v for k, v in (("PM_DERIVED_METRICS", derived), ("PM_PUBLISH_DERIVED_METRICS", publish)) if v}
    s = Settings.from_env(env(**values))
    assert s.derived_mode == mode
    assert s.publish_derived_metrics is stored  # still means "the derived metrics are stored"
    assert s.derived_metrics == derived


def test_stored_derived_metrics_contradict_publish_false() -> None:
    with pytest.raises(ConfigError, match="contradicts PM_PUBLISH_DERIVED_METRICS=false"):
        Settings.from_env(env(PM_DERIVED_METRICS="stored", PM_PUBLISH_DERIVED_METRICS="false"))
    with pytest.raises(ConfigError, match="must be one of"):
        Settings(derived_metrics="sometimes")
