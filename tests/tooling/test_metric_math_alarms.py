"""Metric math as the alarm evaluator computes it (tools/localaws/metric_math.py).

Expected values come from "Using metric math" in the CloudWatch User Guide
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html): missing
values are 0 in arithmetic between two series, a division by zero drops the datapoint, and the
comparison example with metric1 = [30, 20, 0, 0] and metric2 = [20, -, 20, -].
"""

from __future__ import annotations

from typing import Dict, List, Optional

import pytest

from tools.localaws.alarm_rules import UnsupportedAlarm
from tools.localaws.metric_math import Array, Context, evaluate, series_of


def ctx(expressions: Optional[Dict[str, str]] = None, **metrics: List[Optional[float]]) -> Context:
    return Context(metrics, dict.fromkeys(metrics, 300), expressions or {})


def test_the_guides_comparison_example() -> None:
    c = ctx(metric1=[30.0, 20.0, 0.0, 0.0], metric2=[20.0, None, 20.0, None])
    assert series_of("(metric1 < metric2)", c) == [0.0, 0.0, 1.0, 0.0]
    assert series_of("(metric1 >= 30)", c) == [1.0, 0.0, 0.0, 0.0]
    assert series_of("(metric1 > 15 AND metric2 > 15)", c) == [1.0, 0.0, 0.0, 0.0]
    assert series_of("metric1 > 15 && metric2 > 15 || metric1 == 0", c) == [1.0, 0.0, 1.0, 1.0]


def test_arithmetic_missing_values_and_division_by_zero() -> None:
    c = ctx(m1=[2.0, None, 6.0, None], m2=[1.0, 4.0, 0.0, None])
    assert series_of("m1 + m2", c) == [3.0, 4.0, 6.0, None]  # a missing value is 0 beside a real one
    assert series_of("m1 / m2", c) == [2.0, 0.0, None, None]  # 6 / 0 is dropped
    assert series_of("100 * m1 / m2", c) == [200.0, 0.0, None, None]
    assert series_of("m1 * 2", c) == [4.0, None, 12.0, None]  # with a scalar, missing stays missing
    assert series_of("-m1 + 1", c) == [-1.0, None, -5.0, None]
    assert series_of("m1 ^ 2 - 2 * 3", c) == [-2.0, None, 30.0, None]  # precedence: ^, then *, then -


def test_functions() -> None:
    c = ctx(m1=[None, -2.5, None, None, 4.0, None], m2=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert series_of("ABS(m1)", c) == [None, 2.5, None, None, 4.0, None]
    assert series_of("CEIL(m1)", c) == [None, -2.0, None, None, 4.0, None]
    assert series_of("FILL(m1, 0)", c) == [0.0, -2.5, 0.0, 0.0, 4.0, 0.0]
    assert series_of("FILL(m1, REPEAT)", c) == [None, -2.5, -2.5, -2.5, 4.0, 4.0]
    linear = series_of("FILL(m1, LINEAR)", c)
    assert linear[0] is None and linear[5] is None  # no value before the first or after the last
    assert linear[1:5] == pytest.approx([-2.5, -2.5 + 6.5 / 3, -2.5 + 13 / 3, 4.0])
    assert series_of("FILL(m1, m2)", c) == [1.0, -2.5, 1.0, 1.0, 4.0, 1.0]
    assert series_of("IF(m2 > 0, m1, 9)", c) == [None, -2.5, None, None, 4.0, None]
    assert series_of("IF(m1 > 0, 1)", c) == [None, None, None, None, 1.0, None]
    assert series_of("IF(m1 > 0, 1, 0)", c) == [None, 0.0, None, None, 1.0, None]


def test_arrays_and_metrics_function() -> None:
    c = ctx(errors4xx=[1.0, None, 3.0], errors5xx=[2.0, None, None], total=[10.0, 10.0, 10.0])
    assert series_of("SUM([errors4xx, errors5xx])", c) == [3.0, None, 3.0]
    assert series_of("AVG([errors4xx, errors5xx])", c) == [1.5, None, 1.5]  # missing counts as 0
    assert series_of("MAX(METRICS(\"errors\"))", c) == [2.0, None, 3.0]
    assert series_of("SUM(METRICS(\"errors\")) / total * 100", c) == [30.0, 0.0, 30.0]
    assert isinstance(evaluate("METRICS()", c), Array)
    assert series_of("m - AVG(m)", ctx(m=[1.0, 2.0, 3.0])) == [-1.0, 0.0, 1.0]  # a scalar over the range
    assert series_of("PERIOD(total) / 60", c) == [5.0, 5.0, 5.0]


def test_expressions_refer_to_expressions() -> None:
    c = ctx({"rate": "errors / invocations * 100", "high": "rate > 5"}, errors=[1.0, 0.0], invocations=[10.0, 10.0])
    assert series_of("high", c) == [1.0, 0.0]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("SEARCH('{AWS/Lambda} Errors', 'Sum', 300)", "cannot read"),
        ("RATE(m1)", "RATE"),
        ("METRICS()", "exactly one"),
        ("m9 + 1", "no metric or expression"),
        ("loop", "refers to itself"),
        ("(m1 + ", "ends too early"),
    ],
)
def test_what_is_not_evaluated_says_so(expression: str, message: str) -> None:
    c = ctx({"loop": "loop + 1"}, m1=[1.0], m2=[2.0])
    with pytest.raises(UnsupportedAlarm, match=message):
        series_of(expression, c)


def test_fill_over_a_metric_without_any_datapoint_under_both_readings() -> None:
    # The guide is silent on it (metric_math's docstring): by default every period is filled; with
    # fill_empty=False a series without a datapoint has nothing to fill and stays missing. A series
    # with any datapoint is filled the same way under both readings.
    series: Dict[str, List[Optional[float]]] = {"m1": [None, None, None], "m2": [None, 2.0, None]}
    filled = Context(series, dict.fromkeys(series, 300), {})
    unfilled = Context(series, dict.fromkeys(series, 300), {}, fill_empty=False)
    assert series_of("FILL(m1, 0)", filled) == [0.0, 0.0, 0.0]
    assert series_of("FILL(m1, 0)", unfilled) == [None, None, None]
    assert series_of("FILL(m2, 0)", filled) == series_of("FILL(m2, 0)", unfilled) == [0.0, 2.0, 0.0]
    assert series_of("FILL(m1, 0) + FILL(m2, 0)", unfilled) == [0.0, 2.0, 0.0]  # missing beside a value is 0
    assert series_of("SUM(FILL(METRICS(), 0))", unfilled) == [0.0, 2.0, 0.0]  # per series in an array
    assert series_of("SUM(FILL(METRICS(), 0))", Context({"m1": [None, None]}, {"m1": 300}, {}, fill_empty=False)) \
        == [None, None]
