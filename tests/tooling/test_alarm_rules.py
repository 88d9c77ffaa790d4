"""The alarm evaluator's decision rules against the CloudWatch documentation's worked examples.

Source: CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data" and
"Avoiding premature transitions to alarm state"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html;
published source github.com/awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md).
In its tables 0 is a non-breaching datapoint, X a breaching one, - a missing one, the most recent
on the right; the evaluation range is 5 and Evaluation Periods 3. "Retain current state" (None
here) keeps whatever the alarm was in.
"""

from __future__ import annotations

from typing import List, Optional

import pytest

from tools.localaws import alarm_rules as r

MISSING, IGNORE, BREACHING, NOT_BREACHING = r.MISSING, r.IGNORE, r.BREACHING, r.NOT_BREACHING
OK, ALARM, INSUFFICIENT = r.OK, r.ALARM, r.INSUFFICIENT_DATA
COLUMNS = (MISSING, IGNORE, BREACHING, NOT_BREACHING)


def points(text: str) -> List[Optional[float]]:
    """ "0 - X - X" -> [0.0, None, 5.0, None, 5.0] (threshold 3, GreaterThanThreshold)."""
    return [{"0": 0.0, "X": 5.0, "-": None}[c] for c in text.split()]


def rule(m: int, treat: str, n: int = 3) -> r.Rule:
    return r.Rule(threshold=3.0, comparison="GreaterThanThreshold", evaluation_periods=n, datapoints_to_alarm=m,
                  treat_missing_data=treat)


# First table: Datapoints to Alarm = Evaluation Periods = 3 (current page).
THREE_OF_THREE = [
    ("0 - X - X", (OK, OK, OK, OK)),
    ("0 - - - -", (OK, OK, OK, OK)),
    ("- - - - -", (INSUFFICIENT, None, ALARM, OK)),
    ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("- - X - -", (ALARM, None, ALARM, OK)),  # premature-alarm rule: X is 3 periods old
]
# Second table: 2 out of 3 (current page).
TWO_OF_THREE = [
    ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 - X - -", (OK, OK, ALARM, OK)),
    ("- - - - 0", (OK, OK, ALARM, OK)),
    ("- - - X -", (ALARM, None, ALARM, OK)),
]
# Rows of earlier revisions of the same tables (doc_source/AlarmThatSendsEmail.md history).
EARLIER_REVISIONS = [
    (3, "- - - - X", (INSUFFICIENT, None, ALARM, OK)),  # "does not go immediately into ALARM"
    (3, "X - - - -", (ALARM, None, ALARM, OK)),
    (2, "- - - - X", (INSUFFICIENT, None, ALARM, OK)),
]


@pytest.mark.parametrize(("data", "expected"), THREE_OF_THREE)
def test_three_of_three_table(data: str, expected: tuple[Optional[str], ...]) -> None:
    assert tuple(r.decide(points(data), rule(3, treat)).state for treat in COLUMNS) == expected


@pytest.mark.parametrize(("data", "expected"), TWO_OF_THREE)
def test_two_of_three_table(data: str, expected: tuple[Optional[str], ...]) -> None:
    assert tuple(r.decide(points(data), rule(2, treat)).state for treat in COLUMNS) == expected


@pytest.mark.parametrize(("m", "data", "expected"), EARLIER_REVISIONS)
def test_rows_of_earlier_revisions(m: int, data: str, expected: tuple[Optional[str], ...]) -> None:
    assert tuple(r.decide(points(data), rule(m, treat)).state for treat in COLUMNS) == expected


def test_the_number_of_filled_datapoints_is_the_tables_second_column() -> None:
    # "Column 2 shows how many of the 3 necessary data points are missing ... must be filled in".
    for data, filled in [("0 - X - X", 0), ("0 - - - -", 2), ("- - - - -", 3), ("0 X X - X", 0), ("- - X - -", 2)]:
        assert len(r.decide(points(data), rule(3, BREACHING)).filled) == filled
    for data, filled in [("0 - X - -", 1), ("- - - - 0", 2), ("- - - X -", 2)]:
        assert len(r.decide(points(data), rule(2, BREACHING)).filled) == filled


def test_breaching_fills_the_most_recent_missing_datapoints() -> None:
    # "the two most recent missing data points are both treated as breaching" (2 of 3, row 4).
    verdict = r.decide(points("- - - - 0"), rule(2, BREACHING))
    assert verdict.filled == (2, 3)
    assert verdict.breaching == (2, 3)


def test_no_missing_data_the_most_recent_n_decide_and_older_ones_are_ignored() -> None:
    # 2 of 3, row 2: "the two oldest data points in the evaluation range are not needed".
    verdict = r.decide(points("X X 0 0 X"), rule(2, BREACHING))
    assert verdict.state == OK and verdict.evaluated == (2, 3, 4) and verdict.filled == ()


def test_missing_datapoints_in_the_range_are_skipped_when_enough_real_ones_remain() -> None:
    # "the most recent real data points ... including the necessary extra data points from
    # farther back in the evaluation range": 3 real points spread over the 5.
    verdict = r.decide(points("X - X X -"), rule(3, NOT_BREACHING))
    assert verdict.state == ALARM and verdict.evaluated == (0, 2, 3)


def test_comparison_operators_and_threshold_edges() -> None:
    for comparison, value, breaches in [
        ("GreaterThanOrEqualToThreshold", 3.0, True), ("GreaterThanThreshold", 3.0, False),
        ("LessThanThreshold", 3.0, False), ("LessThanOrEqualToThreshold", 3.0, True),
        ("LessThanThreshold", 2.9, True), ("GreaterThanThreshold", 3.1, True),
    ]:
        one = r.Rule(threshold=3.0, comparison=comparison, evaluation_periods=1, datapoints_to_alarm=1)
        assert r.decide([None, None, value], one).state == (ALARM if breaches else OK), (comparison, value)


def test_nine_of_twelve() -> None:
    low = r.Rule(threshold=100.0, comparison="LessThanThreshold", evaluation_periods=12, datapoints_to_alarm=9)
    assert low.evaluation_range == 14
    eight = [150.0] * 6 + [50.0] * 8
    assert r.decide(eight, low).state == OK
    assert r.decide([*eight[1:], 50.0], low).state == ALARM  # the ninth low period


def test_unsupported_definitions_are_refused() -> None:
    with pytest.raises(r.UnsupportedAlarm, match="anomaly"):
        r.Rule(threshold=1, comparison="LessThanLowerOrGreaterThanUpperThreshold", evaluation_periods=1,
               datapoints_to_alarm=1)
    with pytest.raises(r.UnsupportedAlarm, match="DatapointsToAlarm"):
        r.Rule(threshold=1, comparison="GreaterThanThreshold", evaluation_periods=2, datapoints_to_alarm=3)
    with pytest.raises(r.UnsupportedAlarm, match="percentiles"):
        agg = r.Aggregate()
        agg.add_value(1.0)
        agg.statistic("p99")


def test_statistics() -> None:
    agg = r.Aggregate()
    for v in (4.0, 1.0, 7.0):
        agg.add_value(v)
    agg.add_set(count=2, total=10.0, minimum=0.5, maximum=9.0)
    assert [agg.statistic(s) for s in r.STATISTICS] == [5.0, 22.0 / 5, 22.0, 0.5, 9.0]
    assert r.Aggregate().statistic("Maximum") is None


def test_evaluation_times() -> None:
    # Every minute over a sliding window ending at the minute (alarm-evaluation.html: "at the end
    # of minute 6, ... the data from minutes 2 to 6").
    assert r.due(6 * 60, 300, 1) == 360 and r.window_starts(360, 300, 1) == [60]
    assert r.due(6 * 60 + 10, 300, 1) is None
    # High-resolution periods every 10 seconds.
    assert r.due(70, 10, 3) == 70
    # Multi-day alarms (N x Period > 1 day) once an hour, on the data up to the hour.
    assert r.is_multi_day(3600, 168) and not r.is_multi_day(300, 288)
    hour = 1_700_000_000 - 1_700_000_000 % 3600
    assert r.due(hour + 180, 3600, 168) == hour
    assert r.due(hour + 60, 3600, 168) is None


def test_reason_wording() -> None:
    values = points("0 - X - X")
    starts = [0, 300, 600, 900, 1200]
    two = rule(2, MISSING)
    verdict = r.decide(values, two)
    text = r.reason(verdict, two, values, starts, OK, ALARM)
    assert text == ("Threshold Crossed: 2 out of the last 3 datapoints [5 (01/01/70 00:20:00), 5 (01/01/70 00:10:00)] "
                    "were greater than the threshold (3) (minimum 2 datapoints for OK -> ALARM transition).")
    filled = r.decide(points("0 - - - -"), rule(3, BREACHING))
    assert r.reason(filled, rule(3, BREACHING), points("0 - - - -"), starts, ALARM, OK) == (
        "Threshold Crossed: 1 out of the last 3 datapoints [0 (01/01/70 00:00:00)] was not greater than the threshold "
        "(3) (minimum 1 datapoint for ALARM -> OK transition). And no datapoints were received for 2 periods and "
        "2 missing datapoints were treated as [Breaching].")
    empty = r.decide(points("- - - - -"), rule(3, NOT_BREACHING))
    assert r.reason(empty, rule(3, NOT_BREACHING), points("- - - - -"), starts, ALARM, OK) == (
        "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as "
        "[NotBreaching].")
    none = r.decide(points("- - - - -"), rule(3, MISSING))
    assert r.reason(none, rule(3, MISSING), points("- - - - -"), starts, OK, INSUFFICIENT) == (
        "Insufficient Data: 3 datapoints were unknown.")


def test_reasons_count_what_was_evaluated_and_fit_the_api_limit() -> None:
    # Missing treated as missing with one real datapoint: OK, and the reason says one datapoint.
    idle = r.Rule(threshold=0.0, comparison="LessThanOrEqualToThreshold", evaluation_periods=144,
                  datapoints_to_alarm=144)
    values: List[Optional[float]] = [None] * 145 + [2.5]
    starts = [300 * i for i in range(146)]
    verdict = r.decide(values, idle)
    assert verdict.state == OK
    assert r.reason(verdict, idle, values, starts, INSUFFICIENT, OK).startswith(
        "Threshold Crossed: 1 out of the last 144 datapoints [2.5 (01/01/70 12:05:00)] was not less than or equal to")
    # 288 breaching datapoints: the reason lists as many as fit in StateReason's 1023 characters.
    day = r.Rule(threshold=0.0, comparison="LessThanOrEqualToThreshold", evaluation_periods=288,
                 datapoints_to_alarm=288)
    zeros: List[Optional[float]] = [0.0] * 290
    text = r.reason(r.decide(zeros, day), day, zeros, [300 * i for i in range(290)], OK, ALARM)
    assert len(text) <= r.REASON_LIMIT and text.startswith("Threshold Crossed: 288 out of the last 288 datapoints [0 (")
    assert " more)] were less than or equal to the threshold (0)" in text
