"""Tests of the local Personalize control-plane stand-in, driven through real boto3 clients.

Every client talks to the stub on 127.0.0.1 only (endpoint_url / AWS_ENDPOINT_URL_PERSONALIZE,
fake credentials, no proxy, no instance metadata).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mypy_boto3_personalize import PersonalizeClient

from tools.localaws.personalize_stub import (
    PersonalizeStub,
    PersonalizeStubControl,
    StubControlError,
    build_arn,
    parse_arn,
    partition_for_region,
)

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
RECIPE = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"
# botocore: "max_attempts" counts retries only; "total_max_attempts" includes the first try.
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})

ClientFactory = Callable[..., PersonalizeClient]


def _isolated_env(mp: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("AWS_") or var.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            mp.delenv(var)
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_CONFIG_FILE", os.devnull)
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")
    mp.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def stub() -> Iterator[PersonalizeStub]:
    with pytest.MonkeyPatch.context() as mp:
        _isolated_env(mp)
        server = PersonalizeStub()
        server.start(host="127.0.0.1", port=0)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def session(stub: PersonalizeStub) -> boto3.session.Session:
    """One session for all clients, so botocore loads the service model once."""
    return boto3.session.Session()


@pytest.fixture
def ctl(stub: PersonalizeStub) -> PersonalizeStubControl:
    control = stub.control()
    control.reset()
    return control


@pytest.fixture
def make_client(stub: PersonalizeStub, session: boto3.session.Session, ctl: PersonalizeStubControl) -> ClientFactory:
    def make(
        region: str = "us-east-1",
        account: str = ACCOUNT,
        retries: Config = NO_RETRY,
        validate: bool = True,
    ) -> PersonalizeClient:
        client = session.client(
            "personalize",
            region_name=region,
            endpoint_url=stub.endpoint_url,
            aws_access_key_id=account,
            aws_secret_access_key="fake-secret",
            config=retries.merge(Config(parameter_validation=validate, connect_timeout=5, read_timeout=15)),
        )
        assert client.meta.endpoint_url == stub.endpoint_url
        return client

    return make


@pytest.fixture
def client(make_client: ClientFactory) -> PersonalizeClient:
    return make_client()


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def new_campaign(ctl: PersonalizeStubControl, name: str = "c1", tps: int = 1, **kwargs: object) -> str:
    version = ctl.create_solution_version("sol", region=str(kwargs.pop("region", "us-east-1")))
    return ctl.create_campaign(version, tps, name=name, region=version.split(":")[3], **kwargs)  # type: ignore[arg-type]


def new_recommender(ctl: PersonalizeStubControl, name: str = "r1", **kwargs: object) -> str:
    group = ctl.create_dataset_group(f"{name}-dsg", domain="ECOMMERCE")
    return ctl.create_recommender(group, RECIPE, name=name, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- campaigns ---
def test_list_and_describe_campaign(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    version = ctl.create_solution_version("sol", recipe_arn="arn:aws:personalize:::recipe/aws-user-personalization")
    arn = ctl.create_campaign(
        version, 5, name="c1", campaign_config={"itemExplorationConfig": {"explorationWeight": "0.3"}}
    )
    assert arn == f"arn:aws:personalize:us-east-1:{ACCOUNT}:campaign/c1"

    campaign = client.describe_campaign(campaignArn=arn)["campaign"]
    assert campaign["name"] == "c1"
    assert campaign["solutionVersionArn"] == version
    assert campaign["minProvisionedTPS"] == 5
    assert campaign["campaignConfig"] == {"itemExplorationConfig": {"explorationWeight": "0.3"}}
    assert campaign["status"] == "ACTIVE"
    assert abs(campaign["creationDateTime"].timestamp() - time.time()) < 60
    assert "latestCampaignUpdate" not in campaign

    summaries = client.list_campaigns()["campaigns"]
    assert [s["campaignArn"] for s in summaries] == [arn]
    assert set(summaries[0]) == {"name", "campaignArn", "status", "creationDateTime", "lastUpdatedDateTime"}

    other = ctl.create_campaign(ctl.create_solution_version("other-sol"), name="c2")
    solution_arn = version.rsplit("/", 1)[0]
    assert [s["name"] for s in client.list_campaigns(solutionArn=solution_arn)["campaigns"]] == ["c1"]
    assert len(client.list_campaigns()["campaigns"]) == 2
    assert client.describe_campaign(campaignArn=other)["campaign"]["minProvisionedTPS"] == 1


def test_campaign_update_life_cycle_in_use_and_delete(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    arn = new_campaign(ctl, tps=2)
    before = client.describe_campaign(campaignArn=arn)["campaign"]
    new_version = ctl.create_solution_version("sol")
    ctl.configure(transition_delay_seconds=600)

    client.update_campaign(campaignArn=arn, minProvisionedTPS=10, solutionVersionArn=new_version)
    during = client.describe_campaign(campaignArn=arn)["campaign"]
    assert during["status"] == "ACTIVE"
    assert during["minProvisionedTPS"] == 2  # still serving the old configuration
    update = during["latestCampaignUpdate"]
    assert update["status"] == "CREATE PENDING"  # the update-summary states the model documents
    assert update["minProvisionedTPS"] == 10
    assert update["solutionVersionArn"] == new_version

    with pytest.raises(ClientError) as in_use:
        client.update_campaign(campaignArn=arn, minProvisionedTPS=3)
    assert error_code(in_use) == "ResourceInUseException"
    with pytest.raises(ClientError) as delete_in_use:
        client.delete_campaign(campaignArn=arn)
    assert error_code(delete_in_use) == "ResourceInUseException"

    assert ctl.settle() == 2
    after = client.describe_campaign(campaignArn=arn)["campaign"]
    assert after["status"] == "ACTIVE"
    assert after["minProvisionedTPS"] == 10
    assert after["solutionVersionArn"] == new_version
    assert after["latestCampaignUpdate"]["status"] == "ACTIVE"
    assert after["lastUpdatedDateTime"] > before["lastUpdatedDateTime"]

    client.delete_campaign(campaignArn=arn)
    deleting = client.describe_campaign(campaignArn=arn)["campaign"]
    assert deleting["status"] == "DELETE PENDING"
    assert [c["status"] for c in client.list_campaigns()["campaigns"]] == ["DELETE PENDING"]
    with pytest.raises(ClientError) as update_deleting:
        client.update_campaign(campaignArn=arn, minProvisionedTPS=4)
    assert error_code(update_deleting) == "ResourceInUseException"

    ctl.settle()
    with pytest.raises(ClientError) as gone:
        client.describe_campaign(campaignArn=arn)
    assert error_code(gone) == "ResourceNotFoundException"
    assert client.list_campaigns()["campaigns"] == []


def test_delay_zero_skips_transient_statuses(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    arn = new_campaign(ctl, status="CREATE PENDING")
    assert client.describe_campaign(campaignArn=arn)["campaign"]["status"] == "ACTIVE"
    client.update_campaign(campaignArn=arn, campaignConfig={"enableMetadataWithRecommendations": True})
    campaign = client.describe_campaign(campaignArn=arn)["campaign"]
    assert campaign["latestCampaignUpdate"]["status"] == "ACTIVE"
    assert campaign["campaignConfig"] == {"enableMetadataWithRecommendations": True}
    client.delete_campaign(campaignArn=arn)
    with pytest.raises(ClientError) as gone:
        client.describe_campaign(campaignArn=arn)
    assert error_code(gone) == "ResourceNotFoundException"


def test_update_status_prefix_update_and_failed_create(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    ctl.configure(update_status_prefix="UPDATE", transition_delay_seconds=600)
    arn = new_campaign(ctl)
    client.update_campaign(campaignArn=arn, minProvisionedTPS=3)
    assert client.describe_campaign(campaignArn=arn)["campaign"]["latestCampaignUpdate"]["status"] == "UPDATE PENDING"

    failed = new_campaign(ctl, name="broken", status="CREATE FAILED", failure_reason="boom")
    campaign = client.describe_campaign(campaignArn=failed)["campaign"]
    assert (campaign["status"], campaign["failureReason"]) == ("CREATE FAILED", "boom")
    client.update_campaign(campaignArn=failed, minProvisionedTPS=2)  # allowed from CREATE FAILED
    ctl.settle()
    campaign = client.describe_campaign(campaignArn=failed)["campaign"]
    assert campaign["status"] == "ACTIVE"
    assert "failureReason" not in campaign


def test_transition_delay_shows_intermediate_statuses(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    delay = 0.3
    ctl.configure(transition_delay_seconds=delay)
    pending = new_campaign(ctl, name="pending", status="CREATE PENDING")
    assert client.describe_campaign(campaignArn=pending)["campaign"]["status"] == "CREATE PENDING"

    arn = new_campaign(ctl)
    started = time.monotonic()
    client.update_campaign(campaignArn=arn, minProvisionedTPS=9)
    seen: list[str] = []
    while time.monotonic() - started < 10 * delay:
        campaign = client.describe_campaign(campaignArn=arn)["campaign"]
        status = campaign["latestCampaignUpdate"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "ACTIVE":
            break
        time.sleep(0.03)
    assert seen == ["CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"]
    assert time.monotonic() - started >= 2 * delay
    assert campaign["minProvisionedTPS"] == 9
    assert client.describe_campaign(campaignArn=pending)["campaign"]["status"] == "ACTIVE"


# ----------------------------------------------------------------------------- recommenders ---
def test_recommender_update_replaces_config_as_sent(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    arn = new_recommender(
        ctl,
        recommender_config={
            "minRecommendationRequestsPerSecond": 2,
            "itemExplorationConfig": {"explorationWeight": "0.5"},
        },
    )
    recommender = client.describe_recommender(recommenderArn=arn)["recommender"]
    assert recommender["recommenderConfig"] == {
        "minRecommendationRequestsPerSecond": 2,
        "itemExplorationConfig": {"explorationWeight": "0.5"},
    }
    assert recommender["recipeArn"] == RECIPE

    client.update_recommender(recommenderArn=arn, recommenderConfig={"minRecommendationRequestsPerSecond": 5})
    recommender = client.describe_recommender(recommenderArn=arn)["recommender"]
    assert recommender["recommenderConfig"] == {"minRecommendationRequestsPerSecond": 5}
    assert recommender["latestRecommenderUpdate"]["status"] == "ACTIVE"
    assert recommender["latestRecommenderUpdate"]["recommenderConfig"] == {"minRecommendationRequestsPerSecond": 5}

    full = {
        "minRecommendationRequestsPerSecond": 7,
        "itemExplorationConfig": {"explorationWeight": "0.1", "explorationItemAgeCutOff": "30"},
        "trainingDataConfig": {"excludedDatasetColumns": {"Interactions": ["EVENT_VALUE"]}},
        "enableMetadataWithRecommendations": True,
    }
    ctl.configure(transition_delay_seconds=600)
    client.update_recommender(recommenderArn=arn, recommenderConfig=full)  # type: ignore[arg-type]
    during = client.describe_recommender(recommenderArn=arn)["recommender"]
    assert during["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 5
    assert during["latestRecommenderUpdate"]["status"] == "CREATE PENDING"
    ctl.settle()
    assert client.describe_recommender(recommenderArn=arn)["recommender"]["recommenderConfig"] == full

    summaries = client.list_recommenders()["recommenders"]
    assert len(summaries) == 1
    assert summaries[0]["recommenderConfig"] == full
    group = summaries[0]["datasetGroupArn"]
    assert client.list_recommenders(datasetGroupArn=group)["recommenders"][0]["recommenderArn"] == arn
    other_group = ctl.create_dataset_group("empty-dsg")
    assert client.list_recommenders(datasetGroupArn=other_group)["recommenders"] == []


def test_recommender_stop_start_cycle(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    arn = new_recommender(ctl)
    ctl.configure(transition_delay_seconds=600)

    def status() -> str:
        return client.describe_recommender(recommenderArn=arn)["recommender"]["status"]

    with pytest.raises(ClientError) as start_active:
        client.start_recommender(recommenderArn=arn)
    assert error_code(start_active) == "ResourceInUseException"

    client.stop_recommender(recommenderArn=arn)
    assert status() == "STOP PENDING"
    with pytest.raises(ClientError) as stop_twice:
        client.stop_recommender(recommenderArn=arn)
    assert error_code(stop_twice) == "ResourceInUseException"
    ctl.settle()
    assert status() == "INACTIVE"

    with pytest.raises(ClientError) as update_inactive:
        client.update_recommender(recommenderArn=arn, recommenderConfig={"minRecommendationRequestsPerSecond": 2})
    assert error_code(update_inactive) == "ResourceInUseException"
    with pytest.raises(ClientError) as stop_inactive:
        client.stop_recommender(recommenderArn=arn)
    assert error_code(stop_inactive) == "ResourceInUseException"

    client.start_recommender(recommenderArn=arn)
    assert status() == "START PENDING"
    ctl.settle()
    assert status() == "ACTIVE"

    ctl.configure(transition_delay_seconds=0)
    client.stop_recommender(recommenderArn=arn)
    assert status() == "INACTIVE"


# ---------------------------------------------------------------- solutions, dataset groups ---
def test_describe_solution_version_and_solution(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    group = ctl.create_dataset_group("dsg")
    recipe = "arn:aws:personalize:::recipe/aws-similar-items"
    version = ctl.create_solution_version(
        "sims", recipe_arn=recipe, dataset_group_arn=group, version_id="0a1b2c3d", trainingHours=1.5
    )
    assert version == f"arn:aws:personalize:us-east-1:{ACCOUNT}:solution/sims/0a1b2c3d"
    described = client.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    assert described["solutionVersionArn"] == version
    assert described["solutionArn"] == f"arn:aws:personalize:us-east-1:{ACCOUNT}:solution/sims"
    assert described["recipeArn"] == recipe
    assert described["datasetGroupArn"] == group
    assert described["status"] == "ACTIVE"
    assert described["trainingHours"] == 1.5
    assert described["trainingMode"] == "FULL"

    second = ctl.create_solution_version("sims", status="CREATE IN_PROGRESS")
    solution = client.describe_solution(solutionArn=described["solutionArn"])["solution"]
    assert solution["name"] == "sims"
    assert solution["recipeArn"] == recipe
    assert solution["latestSolutionVersion"]["solutionVersionArn"] == second

    with pytest.raises(ClientError) as missing:
        client.describe_solution_version(solutionVersionArn=version.replace("0a1b2c3d", "ffffffff"))
    assert error_code(missing) == "ResourceNotFoundException"


def test_dataset_groups(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    first = ctl.create_dataset_group("alpha", domain="VIDEO_ON_DEMAND")
    second = ctl.create_dataset_group("beta", status="CREATE FAILED", failure_reason="no data")
    groups = client.list_dataset_groups()["datasetGroups"]
    assert [g["datasetGroupArn"] for g in groups] == [first, second]
    assert groups[0]["domain"] == "VIDEO_ON_DEMAND"
    assert groups[1]["failureReason"] == "no data"
    described = client.describe_dataset_group(datasetGroupArn=first)["datasetGroup"]
    assert (described["name"], described["status"]) == ("alpha", "ACTIVE")


# ------------------------------------------------------------------------------ pagination ---
def test_pagination_with_max_results_two(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    version = ctl.create_solution_version("sol")
    arns = sorted(ctl.create_campaign(version, name=f"camp-{i}") for i in (3, 0, 4, 1, 2))
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        response = client.list_campaigns(maxResults=2, **({"nextToken": token} if token else {}))
        pages.append([c["campaignArn"] for c in response["campaigns"]])
        token = response.get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [arn for page in pages for arn in page] == arns


def test_pagination_250_resources_at_max_results_100(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    version = ctl.create_solution_version("sol")
    for i in range(250):
        ctl.create_campaign(version, name=f"campaign-{i:03d}")
    paginator = client.get_paginator("list_campaigns")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 100}))
    assert [len(p["campaigns"]) for p in pages] == [100, 100, 50]
    names = [c["name"] for p in pages for c in p["campaigns"]]
    assert names == [f"campaign-{i:03d}" for i in range(250)]


def test_invalid_max_results_and_next_token(ctl: PersonalizeStubControl, make_client: ClientFactory) -> None:
    client = make_client()
    with pytest.raises(ClientError) as too_big:
        client.list_campaigns(maxResults=101)
    assert error_code(too_big) == "InvalidInputException"
    assert "maxResults" in str(too_big.value)

    unvalidated = make_client(validate=False)  # botocore itself rejects 0 client-side
    with pytest.raises(ClientError) as zero:
        unvalidated.list_recommenders(maxResults=0)
    assert error_code(zero) == "InvalidInputException"

    with pytest.raises(ClientError) as garbage:
        client.list_campaigns(nextToken="not-a-real-token")
    assert error_code(garbage) == "InvalidNextTokenException"

    version = ctl.create_solution_version("sol")
    for i in range(3):
        ctl.create_campaign(version, name=f"c{i}")
    token = client.list_campaigns(maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as foreign:
        client.list_dataset_groups(nextToken=token)
    assert error_code(foreign) == "InvalidNextTokenException"
    with pytest.raises(ClientError) as other_region:
        make_client(region="eu-west-1").list_campaigns(nextToken=token)
    assert error_code(other_region) == "InvalidNextTokenException"


# ------------------------------------------------------------------------------- isolation ---
def test_region_isolation(ctl: PersonalizeStubControl, make_client: ClientFactory) -> None:
    arn = new_campaign(ctl)
    eu = make_client(region="eu-west-1")
    assert eu.list_campaigns()["campaigns"] == []
    with pytest.raises(ClientError) as not_found:
        eu.describe_campaign(campaignArn=arn)
    assert error_code(not_found) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as update_elsewhere:
        eu.update_campaign(campaignArn=arn, minProvisionedTPS=2)
    assert error_code(update_elsewhere) == "ResourceNotFoundException"

    eu_arn = new_campaign(ctl, name="eu-campaign", region="eu-west-1")
    assert eu_arn.startswith(f"arn:aws:personalize:eu-west-1:{ACCOUNT}:campaign/")
    assert [c["campaignArn"] for c in eu.list_campaigns()["campaigns"]] == [eu_arn]
    assert [c["campaignArn"] for c in make_client().list_campaigns()["campaigns"]] == [arn]


def test_account_isolation(ctl: PersonalizeStubControl, make_client: ClientFactory) -> None:
    arn = new_campaign(ctl)
    other = make_client(account=OTHER_ACCOUNT)
    assert other.list_campaigns()["campaigns"] == []
    with pytest.raises(ClientError) as not_found:
        other.describe_campaign(campaignArn=arn)
    assert error_code(not_found) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as delete_elsewhere:
        other.delete_campaign(campaignArn=arn)
    assert error_code(delete_elsewhere) == "ResourceNotFoundException"
    # A non-12-digit key maps to the default account.
    assert len(make_client(account="AKIDEXAMPLE").list_campaigns()["campaigns"]) == 1


def test_custom_account_resolver() -> None:
    accounts = {"AKIDALICE": "111111111111"}
    with PersonalizeStub(account_resolver=lambda key: accounts[key]) as server:
        control = server.control()
        version = control.create_solution_version("sol", account="111111111111")
        arn = control.create_campaign(version, account="111111111111", name="alice")

        def client_for(key: str) -> PersonalizeClient:
            return boto3.client(
                "personalize",
                region_name="us-east-1",
                endpoint_url=server.endpoint_url,
                aws_access_key_id=key,
                aws_secret_access_key="fake-secret",
                config=NO_RETRY,
            )

        assert client_for("AKIDALICE").describe_campaign(campaignArn=arn)["campaign"]["name"] == "alice"
        with pytest.raises(ClientError) as unknown:
            client_for("AKIDMALLORY").list_campaigns()
        assert error_code(unknown) == "UnrecognizedClientException"


def test_arn_partitions(ctl: PersonalizeStubControl, make_client: ClientFactory) -> None:
    assert partition_for_region("cn-north-1") == "aws-cn"
    assert partition_for_region("us-gov-west-1") == "aws-us-gov"
    assert partition_for_region("eu-central-1") == "aws"

    cn_arn = new_campaign(ctl, name="cn-campaign", region="cn-north-1")
    assert cn_arn == f"arn:aws-cn:personalize:cn-north-1:{ACCOUNT}:campaign/cn-campaign"
    cn = make_client(region="cn-north-1")
    assert cn.describe_campaign(campaignArn=cn_arn)["campaign"]["solutionVersionArn"].startswith(
        f"arn:aws-cn:personalize:cn-north-1:{ACCOUNT}:solution/sol/"
    )
    gov_group = ctl.create_dataset_group("gov", region="us-gov-west-1")
    assert gov_group == f"arn:aws-us-gov:personalize:us-gov-west-1:{ACCOUNT}:dataset-group/gov"
    # The same name in the aws partition is a different (absent) resource.
    with pytest.raises(ClientError) as wrong_partition:
        cn.describe_campaign(campaignArn=cn_arn.replace("aws-cn", "aws", 1))
    assert error_code(wrong_partition) == "ResourceNotFoundException"

    parsed = parse_arn(build_arn("solution-version", "cn-north-1", ACCOUNT, "s", "abc"))
    assert parsed is not None
    assert (parsed.partition, parsed.kind, parsed.name, parsed.sub_id) == ("aws-cn", "solution-version", "s", "abc")


def test_malformed_and_wrong_type_arns(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    recommender = new_recommender(ctl)
    for bad in ("not-an-arn", f"arn:aws:personalize:us-east-1:{ACCOUNT}:campaign", recommender):
        with pytest.raises(ClientError) as invalid:
            client.describe_campaign(campaignArn=bad)
        assert error_code(invalid) == "InvalidInputException", bad


# ------------------------------------------------------------------------- faults, metrics ---
def test_throttling_at_rate_one(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    arn = new_campaign(ctl)
    ctl.configure(throttle_rate=1.0, throttle_operations=["DescribeCampaign"])
    ctl.reset_calls()
    with pytest.raises(ClientError) as throttled:
        client.describe_campaign(campaignArn=arn)
    assert error_code(throttled) == "ThrottlingException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [(c.operation, c.count, c.throttled) for c in ctl.calls()] == [("DescribeCampaign", 1, 1)]  # no retry
    assert client.list_campaigns()["campaigns"]  # other operations are not throttled
    ctl.configure(throttle_operations=None)
    with pytest.raises(ClientError) as all_ops:
        client.list_campaigns()
    assert error_code(all_ops) == "ThrottlingException"


def test_partial_throttling_is_absorbed_by_standard_retries(
    ctl: PersonalizeStubControl, make_client: ClientFactory
) -> None:
    arn = new_campaign(ctl)
    client = make_client(retries=Config(retries={"mode": "standard", "total_max_attempts": 6}))
    ctl.configure(throttle_rate=0.3, throttle_seed=1)
    ctl.reset_calls()
    for _ in range(6):
        assert client.describe_campaign(campaignArn=arn)["campaign"]["campaignArn"] == arn
    (record,) = ctl.calls()
    assert record.operation == "DescribeCampaign"
    assert record.throttled >= 1
    assert record.count == 6 + record.throttled


def test_latency_injection(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    arn = new_campaign(ctl)
    client.describe_campaign(campaignArn=arn)  # warm the connection
    started = time.monotonic()
    client.describe_campaign(campaignArn=arn)
    baseline = time.monotonic() - started
    ctl.configure(latency_ms=300)
    started = time.monotonic()
    client.describe_campaign(campaignArn=arn)
    slowed = time.monotonic() - started
    assert slowed >= 0.3
    assert slowed - baseline >= 0.25


def test_call_counters(ctl: PersonalizeStubControl, make_client: ClientFactory) -> None:
    arn = new_campaign(ctl)
    ctl.reset_calls()
    client = make_client()
    for _ in range(3):
        client.describe_campaign(campaignArn=arn)
    client.list_campaigns()
    make_client(region="eu-west-1").list_campaigns()
    make_client(account=OTHER_ACCOUNT).list_campaigns()

    assert ctl.call_count("DescribeCampaign") == 3
    assert ctl.call_count("ListCampaigns") == 3
    assert ctl.call_count("ListCampaigns", region="us-east-1", account=ACCOUNT) == 1
    assert ctl.call_count(account=OTHER_ACCOUNT) == 1
    assert ctl.call_count(region="eu-west-1") == 1
    assert {(c.account, c.region, c.operation) for c in ctl.calls()} == {
        (ACCOUNT, "us-east-1", "DescribeCampaign"),
        (ACCOUNT, "us-east-1", "ListCampaigns"),
        (ACCOUNT, "eu-west-1", "ListCampaigns"),
        (OTHER_ACCOUNT, "us-east-1", "ListCampaigns"),
    }
    ctl.reset_calls()
    assert ctl.calls() == []


def test_tags(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    arn = new_campaign(ctl, tags={"team": "recs", "env": "test"})
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"tagKey": "team", "tagValue": "recs"},
        {"tagKey": "env", "tagValue": "test"},
    ]
    client.tag_resource(resourceArn=arn, tags=[{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "x", "tagValue": ""}])
    client.untag_resource(resourceArn=arn, tagKeys=["team"])
    tags = {t["tagKey"]: t["tagValue"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"env": "prod", "x": ""}

    with pytest.raises(ClientError) as too_many:
        client.tag_resource(resourceArn=arn, tags=[{"tagKey": f"k{i}", "tagValue": "v"} for i in range(60)])
    assert error_code(too_many) == "TooManyTagsException"
    with pytest.raises(ClientError) as reserved:
        client.tag_resource(resourceArn=arn, tags=[{"tagKey": "aws:owner", "tagValue": "v"}])
    assert error_code(reserved) == "InvalidInputException"
    with pytest.raises(ClientError) as missing:
        client.list_tags_for_resource(resourceArn=arn.replace("c1", "nope"))
    assert error_code(missing) == "ResourceNotFoundException"


def test_clock_override_sets_timestamps(ctl: PersonalizeStubControl, client: PersonalizeClient) -> None:
    start = 1_600_000_000.0
    assert ctl.set_clock(start) == start
    arn = new_campaign(ctl)
    campaign = client.describe_campaign(campaignArn=arn)["campaign"]
    assert campaign["creationDateTime"].timestamp() == start

    three_days_later = ctl.advance_clock(3 * 86400)
    assert three_days_later == start + 3 * 86400
    client.update_campaign(campaignArn=arn, minProvisionedTPS=4)
    campaign = client.describe_campaign(campaignArn=arn)["campaign"]
    assert campaign["creationDateTime"].timestamp() == start
    assert campaign["lastUpdatedDateTime"].timestamp() == three_days_later
    assert campaign["latestCampaignUpdate"]["creationDateTime"].timestamp() == three_days_later

    old = ctl.create_dataset_group("old", creation_date_time=start - 86400)
    assert client.describe_dataset_group(datasetGroupArn=old)["datasetGroup"]["creationDateTime"].timestamp() == (
        start - 86400
    )
    ctl.set_clock(None)
    fresh = ctl.create_dataset_group("fresh")
    created = client.describe_dataset_group(datasetGroupArn=fresh)["datasetGroup"]["creationDateTime"]
    assert abs(created.timestamp() - time.time()) < 60


# --------------------------------------------------------------------------- protocol edges ---
def _raw_post(url: str, headers: dict[str, str], body: bytes = b"{}") -> tuple[int, dict[str, str], dict[str, object]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


AUTH = (
    f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20240101/us-east-1/personalize/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def test_unknown_operations_and_auth_errors(
    stub: PersonalizeStub, ctl: PersonalizeStubControl, client: PersonalizeClient
) -> None:
    with pytest.raises(ClientError) as not_implemented:
        client.list_solutions()
    assert error_code(not_implemented) == "UnknownOperationException"

    json_type = "application/x-amz-json-1.1"
    status, headers, body = _raw_post(
        stub.endpoint_url + "/",
        {"X-Amz-Target": "AmazonPersonalize.Bogus", "Authorization": AUTH, "Content-Type": json_type},
    )
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    assert {k.lower(): v for k, v in headers.items()}["x-amzn-errortype"] == "UnknownOperationException"

    status, _, body = _raw_post(
        stub.endpoint_url + "/", {"X-Amz-Target": "AmazonPersonalize.ListCampaigns", "Content-Type": json_type}
    )
    assert (status, body["__type"]) == (403, "MissingAuthenticationTokenException")

    status, _, body = _raw_post(
        stub.endpoint_url + "/",
        {"X-Amz-Target": "AmazonPersonalize.ListCampaigns", "Authorization": AUTH, "Content-Type": json_type},
        b"{not json",
    )
    assert (status, body["__type"]) == (400, "SerializationException")

    status, _, body = _raw_post(
        stub.endpoint_url + "/",
        {"X-Amz-Target": "AmazonPersonalize.DescribeCampaign", "Authorization": AUTH, "Content-Type": json_type},
    )
    assert (status, body["__type"]) == (400, "InvalidInputException")
    assert "campaignArn" in str(body["message"])


def test_endpoint_from_environment_variable(
    stub: PersonalizeStub, ctl: PersonalizeStubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = new_campaign(ctl)
    monkeypatch.setenv("AWS_ENDPOINT_URL_PERSONALIZE", stub.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCOUNT)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    plain = boto3.session.Session(region_name="us-east-1").client("personalize", config=NO_RETRY)
    assert plain.meta.endpoint_url == stub.endpoint_url  # never let it reach the real service
    assert plain.describe_campaign(campaignArn=arn)["campaign"]["campaignArn"] == arn


def test_control_api_validation(ctl: PersonalizeStubControl) -> None:
    missing_version = f"arn:aws:personalize:us-east-1:{ACCOUNT}:solution/none/12345678"
    with pytest.raises(StubControlError) as no_version:
        ctl.create_campaign(missing_version)
    assert no_version.value.status == 404
    version = ctl.create_solution_version("sol")
    with pytest.raises(StubControlError) as other_region:
        ctl.create_campaign(version, region="eu-west-1")
    assert other_region.value.status == 404
    with pytest.raises(StubControlError) as bad_status:
        ctl.create_campaign(version, status="SLEEPING")
    assert bad_status.value.status == 400
    with pytest.raises(StubControlError) as bad_tps:
        ctl.create_campaign(version, 0)
    assert bad_tps.value.status == 400
    ctl.create_campaign(version, name="dup")
    with pytest.raises(StubControlError) as duplicate:
        ctl.create_campaign(version, name="dup")
    assert duplicate.value.status == 409
    with pytest.raises(StubControlError) as bad_config:
        ctl.configure(throttle_rate=2.0)
    assert bad_config.value.status == 400

    state = ctl.state()
    resources = state["resources"]
    assert isinstance(resources, list)
    assert [r["kind"] for r in resources] == ["solution", "solution-version", "campaign"]


def test_standalone_entry_point(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    log = tmp_path / "stub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "tools.localaws.personalize_stub", "--port", "0", "--ready-file", str(ready)]
    with log.open("wb") as sink, subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink) as proc:
        try:
            deadline = time.monotonic() + 20
            while not ready.exists():
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "stub did not become ready"
                time.sleep(0.05)
            endpoint = json.loads(ready.read_text())["endpoint"]
            assert endpoint.startswith("http://127.0.0.1:")
            assert PersonalizeStubControl(endpoint).health()
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0, log.read_text()
