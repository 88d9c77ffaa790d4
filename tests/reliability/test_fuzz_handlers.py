"""Hostile input for every handler: hypothesis-generated events, loaded in-process, against the
local AWS with a small fleet seeded once per handler.

Events are random JSON values, EventBridge envelopes with mutated fields, bare payloads,
Lambda on-failure records (also nested), SQS event-source batches (from the function's own
command queue or another, with bodies of every kind), with wrong types, huge strings, ARNs of
other services, partitions, regions and accounts, and injection attempts in names and reasons -
plus, often enough, valid commands for the seeded resources, so that the accepting paths run
too. Default-bus command events are switched on (``accept_default_bus_commands``) so that their
checks are exercised; ``test_cost_actions`` holds them rejected when it is off.

What every example must show (the handler contract, docs/reliability.md):

* no handler raises on any input here. (A handler raises only when AWS itself fails - after the
  client's retries - before anything was changed, so that Lambda retries and finally
  dead-letters the event: tests/reliability/test_action_faults.py. The local AWS is healthy here.)
* an event that the specification below calls invalid is rejected: the result is
  ``{"status": "rejected", "reason": ...}``, a WARNING/ERROR log record carries the reason, and
  NOT ONE AWS call was made (moto's and the Personalize stand-in's call counters unchanged) -
  so in particular no mutating call (UpdateCampaign, DeleteCampaign, UpdateRecommender,
  StopRecommender, PutMetricAlarm, DeleteAlarms, PutDashboard, PutEvents, PutMetricData, ...);
* a valid event is acted on: never "rejected" before an AWS call; Personalize changes only for
  the command's own ARN, at most one, and only with an acting status (updated/deleted/stopped).

The specification (``valid``) is written here independently of the handlers' code.
The normal run draws 1,000 examples per handler; ``pytest --slow`` draws 10,000.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.costactions import command_queues
from tests.support.functions import load_function
from tools.fleet import Fleet
from tools.localaws import LocalAWS

HOME = "us-east-1"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
NAME = "Fuzz"
IDLE_HOURS = 6
MAX_PAST = dt.timedelta(days=31)
FUTURE_SKEW = dt.timedelta(minutes=10)

COMMANDS = {
    "update_tps": {"UpdatePersonalizeCampaignMinProvisionedTPS": "campaign",
                   "UpdatePersonalizeRecommenderMinRecommendationRPS": "recommender"},
    "delete_campaign": {"DeletePersonalizeCampaign": "campaign"},
    "stop_recommender": {"StopPersonalizeRecommender": "recommender"},
}
ALL_DETAIL_TYPES = ["BuildPersonalizeMonitorDashboard", "UpdatePersonalizeCampaignMinProvisionedTPS",
                    "UpdatePersonalizeRecommenderMinRecommendationRPS", "DeletePersonalizeCampaign",
                    "StopPersonalizeRecommender", "Scheduled Event", "PersonalizeCampaignDeleted"]
ACTED = {"updated", "deleted", "stopped"}
# What a valid command may end in without changing anything (besides being acted on).
NOT_ACTED = {"skipped", "dry-run", "rejected", "deferred", "withheld"}
PERSONALIZE_MUTATING = {"UpdateCampaign", "UpdateRecommender", "DeleteCampaign", "StopRecommender",
                        "StartRecommender", "TagResource", "UntagResource", "CreateCampaign", "DeleteRecommender"}
ALLOWED_CHANGE = {"update_tps": {"UpdateCampaign", "UpdateRecommender"}, "delete_campaign": {"DeleteCampaign"},
                  "stop_recommender": {"StopRecommender"}}

# An ARN of a campaign or recommender, independent of personalize_monitor.arns.
STRICT_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):personalize:(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)"
    r":(?P<account>\d{12}):(?P<type>campaign|recommender)/[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}"
)


class Context:
    invoked_function_arn = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:{NAME}-fuzz"
    function_name = f"{NAME}-fuzz"
    aws_request_id = "fuzz"


# -- the specification --------------------------------------------------------------------------
def partition_of(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def unwrap(event: Any) -> tuple[bool, Any]:
    """(still acceptable, the event) after taking a Lambda on-failure record apart."""
    if isinstance(event, dict) and "requestContext" in event and "requestPayload" in event:
        payload = event["requestPayload"]
        if not isinstance(event["requestContext"], dict):
            return False, None
        if isinstance(payload, dict) and "requestContext" in payload and "requestPayload" in payload:
            return False, None
        return True, payload
    return True, event


def queue_arn(role: str) -> str:
    return f"arn:aws:sqs:{HOME}:{ACCOUNT}:{NAME}-{role.replace('_', '-')}-commands"


def sqs_shaped(event: Any) -> bool:
    return (isinstance(event, dict) and isinstance(event.get("Records"), list) and bool(event["Records"])
            and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in event["Records"]))


def valid_action(role: str, event: Any) -> bool:
    if sqs_shaped(event):
        # One command per record; the generators make one record per batch.
        (record,) = event["Records"]
        body = record.get("body")
        if record.get("eventSourceARN") != queue_arn(role) or not isinstance(body, str):
            return False
        try:
            parsed = json.loads(body)
        except ValueError:
            return False
        return parsed is not None and valid_command(role, parsed, queued=True)
    return valid_command(role, event, queued=False)


def valid_command(role: str, event: Any, queued: bool) -> bool:
    ok, event = unwrap(event)
    if not ok or not isinstance(event, dict):
        return False
    detail_types = COMMANDS[role]
    if "detail-type" in event or "detail" in event:
        # From the default bus (accepted here): only this account's; from the queue: any stated
        # account must be this one.
        if (not queued or "account" in event) and event.get("account") != ACCOUNT:
            return False
        detail_type = event.get("detail-type")
        if event.get("source") != "personalize.monitor" or not isinstance(detail_type, str):
            return False
        if detail_type not in detail_types:
            return False
        payload = event.get("detail")
        if not isinstance(payload, dict):
            return False
        kinds = {detail_types[detail_type]}
    else:
        payload, kinds = event, set(detail_types.values())
    if payload.get("DecidedAt") is not None and parse_time(payload["DecidedAt"]) is None:
        return False
    arn = payload.get("ARN")
    if not isinstance(arn, str) or len(arn) > 256:
        return False
    m = STRICT_ARN.fullmatch(arn)
    if not m or m["type"] not in kinds or m["account"] != ACCOUNT or m["region"] != HOME:
        return False
    if m["partition"] != partition_of(m["region"]):
        return False
    if role == "update_tps":
        for key, required in (("NewMinTPS", True), ("CurrentMinTPS", False)):
            value = payload.get(key)
            if value is None and not required:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
                return False
    reason = payload.get("Reason")
    return reason is None or isinstance(reason, str)


def valid_dashboard(event: Any) -> bool:
    ok, event = unwrap(event)
    if not ok or not isinstance(event, dict):
        return False

    def reason_ok(value: Any) -> bool:
        return value is None or (isinstance(value, str) and len(value) <= 1000)

    if "detail-type" in event or "source" in event:
        if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
            return True
        build = "BuildPersonalizeMonitorDashboard"
        if event.get("source") == "personalize.monitor" and event.get("detail-type") == build:
            detail = event.get("detail")
            detail = {} if detail is None else detail
            return isinstance(detail, dict) and reason_ok(detail.get("Reason"))
        return False
    return set(event) <= {"Reason"} and reason_ok(event.get("Reason"))


def valid_monitor(event: Any, wall: dt.datetime) -> bool:
    if not isinstance(event, dict):
        return False
    if "source" in event or "detail-type" in event:
        if event.get("source") != "aws.events" or event.get("detail-type") != "Scheduled Event":
            return False
    elif set(event) - {"time"}:
        return False
    if "time" not in event:
        return True
    stamped = parse_time(event.get("time"))
    return stamped is not None and stamped >= wall - MAX_PAST


# -- the generators ---------------------------------------------------------------------------------
INJECTIONS = [
    "'; DROP TABLE campaigns; --", "$(rm -rf /)", "`id`", "${jndi:ldap://127.0.0.1/x}", "../../etc/passwd",
    "<script>alert(1)</script>", "%s%s%s%n", "{{7*7}}", "\x00", "a\nb", "\u202eevil", "*", "arn:aws:iam::*",
    "campaign/x\n", " ", "", "\ud7ff", "😈" * 10, '"}]}', "\\", "null", "[]",
]
text = st.one_of(st.text(max_size=40), st.sampled_from(INJECTIONS))
huge = st.integers(min_value=257, max_value=300_000).map(lambda n: "A" * n)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        text)
json_value = st.recursive(json_scalar, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)), max_leaves=12)

names = st.one_of(st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}", fullmatch=True), text, huge.map(lambda s: s[:400]))


@st.composite
def built_arns(draw: st.DrawFn) -> str:
    partition = draw(st.sampled_from(["aws", "aws", "aws-cn", "aws-us-gov", "aws-iso", "AWS", ""]))
    service = draw(st.sampled_from(["personalize", "personalize", "lambda", "s3", "iam", "sns", "events"]))
    region = draw(st.sampled_from([HOME, HOME, "eu-west-1", "cn-north-1", "us-gov-west-1", "", "us-east-1\n"]))
    account = draw(st.sampled_from([ACCOUNT, ACCOUNT, OTHER_ACCOUNT, "12345678901", "", "*"]))
    kind = draw(st.sampled_from(["campaign", "recommender", "dataset-group", "solution", "function", "Campaign"]))
    suffix = draw(st.sampled_from(["", "", "/v1", "\n", ":$LATEST", "/../x"]))
    return f"arn:{partition}:{service}:{region}:{account}:{kind}/{draw(names)}{suffix}"


def arn_values(known: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(known), st.sampled_from(known), built_arns(), text, huge, json_value)


def times(wall: dt.datetime) -> st.SearchStrategy[Any]:
    def iso(t: dt.datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    return st.one_of(
        st.integers(min_value=0, max_value=40 * 24 * 60).map(lambda m: iso(wall - dt.timedelta(minutes=m))),
        st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00+00:00",
                         "2020-02-30T00:00:00Z", "yesterday", ""]),
        st.integers(min_value=1, max_value=10**6).map(lambda h: iso(wall + dt.timedelta(hours=h))),
        json_value,
    )


def capacities() -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(min_value=1, max_value=50), st.integers(min_value=-5, max_value=2**33),
                     st.sampled_from([0, 2**31 - 1, 2**31, True, False, 2.5, "5", None, [5], {"n": 5}]), json_value)


def payloads(role: str, known: list[str], wall: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {"ARN": arn_values(known),
                                                 "Reason": st.one_of(st.none(), text, huge, json_value),
                                                 "DecidedAt": times(wall)}
    if role == "update_tps":
        fields["NewMinTPS"] = capacities()
        fields["CurrentMinTPS"] = capacities()
    extra = st.dictionaries(text, json_value, max_size=2)
    return st.builds(lambda picked, more: {**more, **picked},
                     st.fixed_dictionaries({}, optional=fields), extra)


def envelopes(detail: st.SearchStrategy[Any], detail_types: list[str], sources: list[str],
              wall: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"source": st.one_of(st.sampled_from(sources), text), "detail-type": st.one_of(st.sampled_from(detail_types),
                                                                                        text)},
        optional={"version": st.just("0"), "id": text, "account": st.sampled_from([ACCOUNT, OTHER_ACCOUNT]),
                  "time": times(wall), "region": st.sampled_from([HOME, "eu-west-1"]),
                  "resources": st.lists(text, max_size=2), "detail": detail},
    )


def records(events: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Lambda on-failure records around an event (sometimes broken, sometimes nested)."""
    context = st.one_of(st.fixed_dictionaries({"functionArn": st.just(f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:x"),
                                               "condition": st.just("RetriesExhausted")}), json_value)
    return st.fixed_dictionaries({"requestContext": context, "requestPayload": events},
                                 optional={"version": st.just("1.0"), "responsePayload": json_value})


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]],
            hostile: dict[str, st.SearchStrategy[Any]]) -> Any:
    """A valid event with one or two fields (at the top or in its detail) replaced by a hostile
    value of the kind that field expects, or removed."""
    event = draw(valid)
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        key = draw(st.sampled_from(sorted(hostile) + ["ARN"] * 3))  # the ARN matters most
        detail = event.get("detail")
        in_detail = key in ("ARN", "NewMinTPS", "CurrentMinTPS", "Reason")
        target = detail if in_detail and isinstance(detail, dict) else event
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(hostile[key])
    return event


ARN_CHANGES: list[tuple[str, str]] = (
    [(ACCOUNT, a) for a in (OTHER_ACCOUNT, "12345678901", "1234567890123", "*")]
    + [("arn:aws:", f"arn:{p}:") for p in ("aws-cn", "aws-us-gov", "aws-iso", "AWS", "")]
    + [(HOME, r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1", "", "us-east-1 ")]
    + [(":personalize:", f":{s}:") for s in ("lambda", "s3", "iam", "personalize-x")]
    + [(":campaign/", f":{t}/") for t in ("recommender", "dataset-group", "solution", "function")]
    + [(":recommender/", f":{t}/") for t in ("campaign", "dataset-group", "solution")]
)
ARN_SUFFIXES = ["\n", " ", "/v1", ":$LATEST", "\x00", "/../../x", "*", "; rm -rf /", "\r\n"]


def arn_corpus(known: list[str]) -> list[str]:
    """Every single-place change of every known ARN (the edge cases, without relying on luck)."""
    out = []
    for arn in known:
        out += [arn.replace(old, new) for old, new in ARN_CHANGES if old in arn]
        out += [arn + suffix for suffix in ARN_SUFFIXES] + [arn.upper(), " " + arn, "\n" + arn]
    return out


@st.composite
def arn_variants(draw: st.DrawFn, known: list[str]) -> str:
    """A known ARN, changed in one place: another account, partition, region, service or type, a
    suffix, a path segment, different case."""
    arn = draw(st.sampled_from(known))
    change = draw(st.sampled_from(["account", "partition", "region", "service", "type", "suffix", "case", "prefix"]))
    if change == "account":
        return arn.replace(ACCOUNT, draw(st.sampled_from([OTHER_ACCOUNT, "12345678901", "1234567890123", "*"])))
    if change == "partition":
        return arn.replace("arn:aws:", f"arn:{draw(st.sampled_from(['aws-cn', 'aws-us-gov', 'aws-iso', 'AWS', '']))}:")
    if change == "region":
        return arn.replace(HOME, draw(st.sampled_from(["eu-west-1", "cn-north-1", "us-gov-west-1", "", "us-east-1 "])))
    if change == "service":
        return arn.replace(":personalize:", f":{draw(st.sampled_from(['lambda', 's3', 'iam', 'personalize-x']))}:")
    if change == "type":
        kinds = ["campaign", "recommender", "dataset-group", "solution", "function", "schema"]
        return re.sub(r":(campaign|recommender)/", f":{draw(st.sampled_from(kinds))}/", arn)
    if change == "suffix":
        return arn + draw(st.sampled_from(["\n", " ", "/v1", ":$LATEST", "\x00", "/../../x", "*", "; rm -rf /"]))
    if change == "case":
        return arn.upper()
    return draw(st.sampled_from([" ", "\n", "x"])) + arn


def action_events(role: str, known: list[str], wall: dt.datetime) -> st.SearchStrategy[Any]:
    def iso(minutes: int) -> str:
        return (wall - dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    kinds = set(COMMANDS[role].values())
    mine = [a for a in known if a.startswith(f"arn:aws:personalize:{HOME}:{ACCOUNT}:")
            and a.split(":")[5].split("/")[0] in kinds]
    good: dict[str, st.SearchStrategy[Any]] = {"ARN": st.sampled_from(mine), "Reason": text}
    if role == "update_tps":
        good["NewMinTPS"] = st.integers(min_value=1, max_value=60)
    required = ("ARN", "NewMinTPS")
    good_detail = st.fixed_dictionaries({k: v for k, v in good.items() if k in required},
                                        optional={k: v for k, v in good.items() if k not in required})
    valid = st.one_of(
        st.fixed_dictionaries({"version": st.just("0"), "source": st.just("personalize.monitor"),
                               "detail-type": st.sampled_from(sorted(COMMANDS[role])),
                               "account": st.just(ACCOUNT), "region": st.just(HOME),
                               "time": st.integers(min_value=0, max_value=600).map(iso), "detail": good_detail}),
        good_detail,
    )
    hostile = {
        "ARN": st.one_of(arn_variants(known), arn_variants(known), arn_values(known)), "NewMinTPS": capacities(),
        "CurrentMinTPS": capacities(), "Reason": st.one_of(text, huge, json_value), "time": times(wall),
        "source": st.one_of(st.sampled_from(["aws.events", "aws.personalize", "Personalize.Monitor"]), text,
                            json_value),
        "detail-type": st.one_of(st.sampled_from(ALL_DETAIL_TYPES), text, json_value),
        "detail": st.one_of(json_value, payloads(role, known, wall)),
    }
    if role != "update_tps":
        del hostile["NewMinTPS"], hostile["CurrentMinTPS"]
    payload = payloads(role, known, wall)
    sources = ["personalize.monitor", "personalize.monitor", "aws.events", "aws.personalize"]
    noise = st.one_of(payload, envelopes(payload, list(COMMANDS[role]) + ALL_DETAIL_TYPES, sources, wall), json_value)
    base = st.one_of(valid, mutated(valid, hostile), mutated(valid, hostile), noise)
    return st.one_of(base, base, base, records(base), records(records(base)), sqs_events(role, base, wall))


def sqs_events(role: str, inner: st.SearchStrategy[Any], wall: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    """What an event source mapping delivers: one record from the function's own command queue
    (mostly) or another queue, with a body of any kind."""
    sources = st.sampled_from([queue_arn(role)] * 3 + [queue_arn(r) for r in COMMANDS if r != role]
                              + [queue_arn(role).replace(ACCOUNT, OTHER_ACCOUNT), "", "arn:aws:sqs:x"])
    body = st.one_of(inner.map(json.dumps), inner.map(json.dumps), text, st.none(), st.integers(), json_value)
    sent = st.one_of(st.just(str(int(wall.timestamp() * 1000))), text,
                     st.sampled_from(["99999999999999999999", "-1", "", "1e12"]))
    record = st.fixed_dictionaries(
        {"eventSource": st.just("aws:sqs"), "eventSourceARN": sources, "body": body},
        optional={"attributes": st.one_of(st.fixed_dictionaries({}, optional={"SentTimestamp": sent}), json_value),
                  "messageId": text, "receiptHandle": text})
    return st.builds(lambda r: {"Records": [r]}, record)


def dashboard_events(wall: dt.datetime) -> st.SearchStrategy[Any]:
    detail = st.one_of(st.none(), st.fixed_dictionaries({}, optional={"Reason": st.one_of(text, huge, json_value)}),
                       json_value)
    direct = st.one_of(st.fixed_dictionaries({}, optional={"Reason": st.one_of(text, huge, json_value)}),
                       st.dictionaries(text, json_value, max_size=3))
    base = st.one_of(direct, envelopes(detail, ALL_DETAIL_TYPES, ["aws.events", "personalize.monitor", "x"], wall),
                     json_value)
    return st.one_of(base, base, records(base))


def monitor_events(wall: dt.datetime) -> st.SearchStrategy[Any]:
    scheduled = envelopes(json_value, ["Scheduled Event", "Scheduled event", "BuildPersonalizeMonitorDashboard"],
                          ["aws.events", "aws.events", "personalize.monitor"], wall)
    direct = st.one_of(st.fixed_dictionaries({}, optional={"time": times(wall)}),
                       st.dictionaries(text, json_value, max_size=3))
    return st.one_of(scheduled, direct, json_value, records(scheduled))


# -- the harness --------------------------------------------------------------------------------------
def call_totals(aws: LocalAWS) -> Counter[str]:
    totals: Counter[str] = Counter()
    for row in aws.calls():
        totals[f"{row['service']}:{row['operation']}"] += row["count"]
    for record in aws.personalize.calls():
        totals[f"personalize:{record.operation}"] += record.count
    return totals


@pytest.fixture()
def examples(slow: bool) -> int:
    return 10_000 if slow else 1_000


@pytest.fixture()
def fleet_arns(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A small fleet (old and idle, old and busy, young) and the handlers' settings."""
    command_queues(aws, NAME)
    for key, value in {"PM_NAME": NAME, "PM_AUTO_DELETE_OR_STOP_IDLE_RESOURCES": "true",
                       "PM_IDLE_THRESHOLD_HOURS": str(IDLE_HOURS), "PM_DASHBOARD_NAME": f"{NAME}-Dashboard",
                       "PM_DESCRIBE_RATE_PER_SECOND": "100", "PM_ACCEPT_DEFAULT_BUS_COMMANDS": "true"}.items():
        monkeypatch.setenv(key, value)
    fleet = Fleet(aws)
    group = fleet.dataset_group(HOME, "fuzz")
    seeded = [
        fleet.campaign(HOME, group, "fz-idle", min_tps=5, created_hours_ago=72),
        fleet.campaign(HOME, group, "fz-young", min_tps=5, created_hours_ago=1),
        fleet.recommender(HOME, group, "fz-idle-rec", min_rps=3, created_hours_ago=72),
        fleet.recommender(HOME, group, "fz-busy-rec", min_rps=3, created_hours_ago=72),
    ]
    now = dt.datetime.now(dt.timezone.utc)
    fleet.traffic(seeded[3], {now - dt.timedelta(minutes=30): 100})
    known = [s.arn for s in seeded]
    known.append(f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/fz-missing")
    known.append(f"arn:aws:personalize:{HOME}:{ACCOUNT}:recommender/fz-missing")
    known.append(seeded[0].arn.replace(ACCOUNT, OTHER_ACCOUNT))
    known.append(seeded[0].arn.replace("arn:aws:", "arn:aws-cn:"))
    _TOTALS.clear()  # the seeding made calls: count afresh
    yield known
    _TOTALS.clear()


_TOTALS: dict[int, Counter[str]] = {}


def check_one(aws: LocalAWS, logs: list[dict[str, Any]], handler: Callable[[Any], Any], event: Any, valid: bool,
              check_valid: Callable[[Any, dict[str, Any], Counter[str]], None]) -> str:
    """Run one event through the handler and check the contract; returns what happened."""
    # The counters after one example are those before the next (nothing else calls AWS meanwhile).
    before, first_log = _TOTALS.get(id(aws)) or call_totals(aws), len(logs)
    try:
        result = handler(copy.deepcopy(event))
    except Exception as exc:
        _TOTALS.clear()
        raise AssertionError(f"unhandled {type(exc).__name__}: {exc} for event {str(event)[:600]}") from exc
    after = call_totals(aws)
    _TOTALS[id(aws)] = after
    calls = after - before
    assert isinstance(result, dict), result
    json.dumps(result, default=str)  # a Lambda result must serialize
    status = str(result.get("status"))
    if not valid:
        assert status == "rejected", f"accepted an invalid event ({result}): {str(event)[:600]}"
        assert not calls, f"AWS calls on invalid input {dict(calls)}: {str(event)[:600]}"
        reasons = [r for r in logs[first_log:] if r["level"] in ("WARNING", "ERROR") and r.get("reason")]
        assert reasons and reasons[-1]["reason"] == result["reason"], logs[first_log:]
    else:
        assert status != "rejected" or calls, f"rejected a valid event ({result}): {str(event)[:600]}"
        check_valid(event, result, calls)
    return f"{'valid' if valid else 'invalid'}:{status}"


def run_examples(aws: LocalAWS, logs: list[dict[str, Any]], handler: Callable[[Any], Any],
                 strategy: st.SearchStrategy[Any], is_valid: Callable[[Any], bool], examples: int,
                 check_valid: Callable[[Any, dict[str, Any], Counter[str]], None]) -> Counter[str]:
    seen: Counter[str] = Counter()

    # The normal run draws the same examples every time (a stable suite); --slow explores afresh.
    @settings(max_examples=examples, deadline=None, database=None, derandomize=examples <= 1_000,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(event=strategy)
    def one(event: Any) -> None:
        seen[check_one(aws, logs, handler, event, is_valid(copy.deepcopy(event)), check_valid)] += 1

    one()
    return seen


def action_checks(role: str) -> Callable[[Any, dict[str, Any], Counter[str]], None]:
    def check(event: Any, result: dict[str, Any], calls: Counter[str]) -> None:
        changes = {k.split(":", 1)[1]: n for k, n in calls.items()
                   if k.startswith("personalize:") and k.split(":", 1)[1] in PERSONALIZE_MUTATING}
        if result["status"] in ACTED:
            assert set(changes) <= ALLOWED_CHANGE[role] and sum(changes.values()) == 1, (result, changes)
        else:
            assert not changes, (result, changes)
            assert result["status"] in NOT_ACTED, result

    return check


@pytest.mark.parametrize("role", ["update_tps", "delete_campaign", "stop_recommender"])
def test_action_handlers_survive_hostile_input(aws: LocalAWS, json_logs: list[dict[str, Any]], fleet_arns: list[str],
                                               examples: int, role: str) -> None:
    module: ModuleType = load_function(role)
    wall = dt.datetime.now(dt.timezone.utc)
    check_valid = action_checks(role)
    time = wall.strftime("%Y-%m-%dT%H:%M:%SZ")
    for arn in arn_corpus(fleet_arns):
        detail = {"ARN": arn, "NewMinTPS": 4, "Reason": "corpus"}
        envelope = {"source": "personalize.monitor", "detail-type": sorted(COMMANDS[role])[0], "account": ACCOUNT,
                    "time": time, "detail": detail}
        queued = {"Records": [{"eventSource": "aws:sqs", "eventSourceARN": queue_arn(role),
                               "body": json.dumps(detail)}]}
        for event in (detail, envelope, queued):
            check_one(aws, json_logs, lambda e: module.lambda_handler(e, Context()), event,
                      valid_action(role, event), check_valid)
    seen = run_examples(
        aws, json_logs, lambda e: module.lambda_handler(e, Context()), action_events(role, fleet_arns, wall),
        lambda e: valid_action(role, e), examples, action_checks(role))
    # Both sides were exercised, and some valid commands got as far as acting or being re-checked.
    assert seen["invalid:rejected"] > examples // 3, seen
    assert sum(n for k, n in seen.items() if k.startswith("valid:")) > examples // 20, seen


def test_dashboard_handler_survives_hostile_input(aws: LocalAWS, json_logs: list[dict[str, Any]],
                                                  fleet_arns: list[str], examples: int) -> None:
    module: ModuleType = load_function("dashboard")
    wall = dt.datetime.now(dt.timezone.utc)

    def check(event: Any, result: dict[str, Any], calls: Counter[str]) -> None:
        assert result["status"] == "built", result
        assert not {k for k in calls if k.startswith("personalize:") and k.split(":", 1)[1] in PERSONALIZE_MUTATING}

    seen = run_examples(aws, json_logs, lambda e: module.lambda_handler(e, Context()), dashboard_events(wall),
                        valid_dashboard, examples, check)
    assert seen["invalid:rejected"] > examples // 3 and seen["valid:built"] > examples // 20, seen


def test_monitor_handler_survives_hostile_input(aws: LocalAWS, json_logs: list[dict[str, Any]],
                                                fleet_arns: list[str], examples: int) -> None:
    module: ModuleType = load_function("monitor")
    wall = dt.datetime.now(dt.timezone.utc)

    def check(event: Any, result: dict[str, Any], calls: Counter[str]) -> None:
        assert result["errors"] == 0 and result["monitored"] == 4, result
        assert not {k for k in calls if k.startswith("personalize:") and k.split(":", 1)[1] in PERSONALIZE_MUTATING}

    seen = run_examples(aws, json_logs, lambda e: module.lambda_handler(e, Context()), monitor_events(wall),
                        lambda e: valid_monitor(e, dt.datetime.now(dt.timezone.utc)), examples, check)
    assert seen["invalid:rejected"] > examples // 3 and seen["valid:None"] > examples // 50, seen
