"""How CloudWatch decides a metric alarm's state, as its documentation describes it (test tooling).

Pure functions, no AWS: the local AWS's evaluator (tools.localaws.alarm_evaluator) feeds them the
datapoints of an alarm's evaluation range and acts on the verdict. Sources (the CloudWatch User
Guide; its published source is github.com/awsdocs/amazon-cloudwatch-user-guide,
doc_source/AlarmThatSendsEmail.md, whose sections now live on alarm-evaluation.html and
alarms-and-missing-data.html):

* Evaluating an alarm (DOC_EVALUATION): Period, Evaluation Periods (N) and Datapoints to Alarm
  (M); an alarm with a period of a minute or more is evaluated every minute over a sliding window
  ("at the end of minute 6 ... the data from minutes 2 to 6"); an alarm whose N x Period exceeds a
  day is evaluated once an hour on the data up to the current hour at :00 (DOC_MULTIDAY).
* How alarm state is evaluated when data is missing (DOC_MISSING): CloudWatch retrieves an
  *evaluation range* of more datapoints than N. If the range holds at least N real datapoints,
  the N most recent real ones are evaluated and the missing-data setting is not used. Otherwise
  every real datapoint in the range is evaluated and the fewest possible missing ones (the most
  recent) are filled in according to TreatMissingData; fewer than M breaching means OK.
* Avoiding premature transitions to alarm state (DOC_PREMATURE): with missing data treated as
  missing, an alarm whose real datapoints are all breaching but fewer than M goes to ALARM only
  when the oldest breaching one is at least M datapoints old ("- - X - -" alarms at M = 3,
  "- - - - X" does not).

Choices where the documentation is silent (each is a constant or a branch below, with the why):

* Evaluation range = N + 2 datapoints (RANGE_EXTRA). The only range the documentation states is
  5 for N = 3; nothing is said for other N.
* Real datapoints all breaching, fewer than M, not old enough for the premature rule, missing
  treated as missing: INSUFFICIENT_DATA. The page's current text only says such an alarm "does
  not go immediately into ALARM"; an earlier revision of the same table gave
  ``- - - - X`` -> "Insufficient data" for MISSING and "Retain current state" for IGNORE.
* The premature-ALARM age is compared with M (Datapoints to Alarm). The page's last paragraph
  says "at least as old as the value of Evaluation Periods" for M out of N alarms, but its own
  2-of-3 table (``- - - X -`` -> ALARM under MISSING) needs M; the worked example wins.
* The premature rule is not applied when a real non-breaching datapoint is in the range: the
  2-of-3 row ``0 - X - -`` is OK under MISSING although its breaching point is old enough.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

DOC_EVALUATION = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html"
DOC_MULTIDAY = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html#evaluate-multiday-alarm"
DOC_MISSING = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html"
DOC_PREMATURE = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
    "AlarmThatSendsEmail.html#CloudWatch-alarms-avoiding-premature-transition"
)
DOC_SOURCE = "https://github.com/awsdocs/amazon-cloudwatch-user-guide/blob/master/doc_source/AlarmThatSendsEmail.md"

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

MISSING = "missing"
IGNORE = "ignore"
BREACHING = "breaching"
NOT_BREACHING = "notBreaching"
TREATMENTS = (MISSING, IGNORE, BREACHING, NOT_BREACHING)

# Datapoints retrieved beyond Evaluation Periods (see the module docstring).
RANGE_EXTRA = 2
# Alarms whose N x Period exceeds this are evaluated hourly (DOC_MULTIDAY).
MULTI_DAY_SECONDS = 86400

COMPARISONS: Dict[str, Tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


class UnsupportedAlarm(ValueError):
    """The alarm uses something this evaluator does not implement (it says what)."""


@dataclass(frozen=True)
class Rule:
    """The parts of an alarm definition that decide its state from its datapoints."""

    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str = MISSING

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise UnsupportedAlarm(f"comparison operator {self.comparison} (anomaly-detection bands are not evaluated)")
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise UnsupportedAlarm(
                f"DatapointsToAlarm {self.datapoints_to_alarm} must be 1..EvaluationPeriods ({self.evaluation_periods})"
            )
        if self.treat_missing_data not in TREATMENTS:
            raise UnsupportedAlarm(f"TreatMissingData {self.treat_missing_data!r}")

    @property
    def evaluation_range(self) -> int:
        return self.evaluation_periods + RANGE_EXTRA

    def breaches(self, value: float) -> bool:
        check, _ = COMPARISONS[self.comparison]
        return bool(check(value, self.threshold))


@dataclass(frozen=True)
class Verdict:
    """What one evaluation decided. ``state`` None means: keep the current state (ignore)."""

    state: Optional[str]
    evaluated: Tuple[int, ...]  # positions (0 = oldest of the range) of the real datapoints evaluated
    filled: Tuple[int, ...]  # positions of missing datapoints filled in by TreatMissingData
    breaching: Tuple[int, ...]  # positions counted as breaching (real or filled)
    how: str  # "threshold", "filled", "premature", "insufficient", "retained"


def decide(values: Sequence[Optional[float]], rule: Rule) -> Verdict:
    """The state for an evaluation range (oldest first; None = no datapoint in that period)."""
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    real = [i for i, v in enumerate(values) if v is not None]
    if len(real) >= n:
        # Enough real datapoints: the N most recent real ones decide; missing data is not used.
        chosen = real[-n:]
        bad = tuple(i for i in chosen if rule.breaches(float(values[i])))  # type: ignore[arg-type]
        return Verdict(ALARM if len(bad) >= m else OK, tuple(chosen), (), bad, "threshold")
    missing = [i for i, v in enumerate(values) if v is None]
    fill = tuple(missing[len(missing) - (n - len(real)):])  # the most recent missing periods
    bad_real = tuple(i for i in real if rule.breaches(float(values[i])))  # type: ignore[arg-type]
    good_real = len(real) - len(bad_real)
    treat = rule.treat_missing_data
    if treat == BREACHING:
        bad = tuple(sorted(bad_real + fill))
        return Verdict(ALARM if len(bad) >= m else OK, tuple(real), fill, bad, "filled")
    if treat == NOT_BREACHING:
        return Verdict(ALARM if len(bad_real) >= m else OK, tuple(real), fill, bad_real, "filled")
    # missing / ignore: missing datapoints are not considered.
    if len(bad_real) >= m:
        return Verdict(ALARM, tuple(real), (), bad_real, "threshold")
    if good_real:
        return Verdict(OK, tuple(real), (), bad_real, "threshold")
    if treat == IGNORE:
        return Verdict(None, tuple(real), (), bad_real, "retained")
    if bad_real and len(values) - bad_real[0] >= m:
        return Verdict(ALARM, tuple(real), (), bad_real, "premature")
    return Verdict(INSUFFICIENT_DATA, tuple(real), (), bad_real, "insufficient")


# -- statistics ---------------------------------------------------------------------------------
@dataclass
class Aggregate:
    """Statistics of the datapoints that fell in one period."""

    count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def add_value(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def add_set(self, count: float, total: float, minimum: float, maximum: float) -> None:
        self.count += count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)

    def statistic(self, name: str) -> Optional[float]:
        if self.count <= 0:
            return None
        if name == "SampleCount":
            return self.count
        if name == "Sum":
            return self.total
        if name == "Average":
            return self.total / self.count
        if name == "Minimum":
            return self.minimum
        if name == "Maximum":
            return self.maximum
        raise UnsupportedAlarm(f"statistic {name} (percentiles and other extended statistics are not evaluated)")


# -- evaluation times ---------------------------------------------------------------------------
def is_multi_day(period: int, evaluation_periods: int) -> bool:
    return period * evaluation_periods > MULTI_DAY_SECONDS


# A multi-day alarm is evaluated once an hour; the documentation's example evaluates at :03.
MULTI_DAY_MINUTE = 3


def due(tick: int, period: int, evaluation_periods: int) -> Optional[int]:
    """The end (epoch seconds) of the data window evaluated at ``tick``, or None if not due then.

    ``tick`` is an epoch second on a 10-second boundary. Periods of 10, 20 or 30 s are evaluated
    every 10 s, periods of a minute or more every minute, multi-day alarms once an hour (at
    MULTI_DAY_MINUTE past) on the data up to the hour.
    """
    if is_multi_day(period, evaluation_periods):
        return tick - tick % 3600 if tick % 3600 == MULTI_DAY_MINUTE * 60 else None
    if period < 60:
        return tick if tick % 10 == 0 else None
    return tick if tick % 60 == 0 else None


def window_starts(end: int, period: int, size: int) -> List[int]:
    """Start times of the ``size`` periods ending at ``end``, oldest first (a sliding window)."""
    return [end - (size - k) * period for k in range(size)]


# -- reasons --------------------------------------------------------------------------------------
def _stamp(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


# StateReason is at most 1023 characters (PutMetricAlarm / SetAlarmState API reference).
REASON_LIMIT = 1023


def _listing(items: Sequence[str], budget: int = REASON_LIMIT - 300) -> str:
    """The datapoints of a reason, as many as fit (a 288-period alarm would not)."""
    out: List[str] = []
    for item in items:
        if sum(len(x) + 2 for x in out) + len(item) > budget:
            return ", ".join(out) + f", ... ({len(items) - len(out)} more)"
        out.append(item)
    return ", ".join(out)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def reason(verdict: Verdict, rule: Rule, values: Sequence[Optional[float]], starts: Sequence[int],
           old: str, new: str) -> str:
    """A StateReason in CloudWatch's words ("Threshold Crossed: ..."; "Insufficient Data: ...")."""
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    _, phrase = COMPARISONS[rule.comparison]
    if verdict.how == "insufficient":
        unknown = n - len(verdict.evaluated)
        return f"Insufficient Data: {_plural(unknown, 'datapoint')} {'was' if unknown == 1 else 'were'} unknown."
    alarm = new == ALARM
    fill_text = ""
    if verdict.filled:
        label = "Breaching" if rule.treat_missing_data == BREACHING else "NotBreaching"
        k = len(verdict.filled)
        fill_text = (f"no datapoints were received for {_plural(k, 'period')} and {_plural(k, 'missing datapoint')} "
                     f"{'was' if k == 1 else 'were'} treated as [{label}].")
    if not verdict.evaluated:
        return "Threshold Crossed: " + fill_text
    if alarm:
        shown = [i for i in verdict.evaluated if i in verdict.breaching]
        count = len(verdict.breaching)
    else:  # the real datapoints within the threshold, and filled ones if they count as such
        shown = [i for i in verdict.evaluated if i not in verdict.breaching]
        count = len(shown) + (len(verdict.filled) if rule.treat_missing_data == NOT_BREACHING else 0)
    listed = _listing([f"{float(values[i]):g} ({_stamp(starts[i])})" for i in reversed(shown)])  # type: ignore[arg-type]
    verb = ("was" if count == 1 else "were") + ("" if alarm else " not")
    needed = m if alarm else n - m + 1
    text = (f"Threshold Crossed: {count} out of the last {n} datapoints [{listed}] {verb} {phrase} the threshold "
            f"({rule.threshold:g}) (minimum {_plural(needed, 'datapoint')} for {old} -> {new} transition).")
    if fill_text:
        text += " And " + fill_text
    if verdict.how == "premature":
        text += (f" The oldest breaching datapoint is at least {_plural(m, 'period')} old and no datapoint is within "
                 "the threshold (premature-transition rule).")
    return text


def reason_data(verdict: Verdict, rule: Rule, values: Sequence[Optional[float]], starts: Sequence[int],
                counts: Mapping[int, float], period: int, statistic: str, query_time: int) -> str:
    """StateReasonData (JSON, version 1.0) listing the evaluated datapoints."""
    points: List[Dict[str, Any]] = []
    for i in sorted(verdict.evaluated + verdict.filled, reverse=True):
        point: Dict[str, Any] = {"timestamp": _iso(starts[i])}
        if values[i] is not None:
            point["sampleCount"] = counts.get(i, 1.0)
            point["value"] = values[i]
        points.append(point)
    oldest = min(verdict.evaluated + verdict.filled, default=len(starts) - 1)
    data = {
        "version": "1.0",
        "queryDate": _iso(query_time),
        "startDate": _iso(starts[oldest]) if starts else _iso(query_time),
        "statistic": statistic,
        "period": period,
        "recentDatapoints": [v for v in values if v is not None][-rule.evaluation_periods:],
        "threshold": rule.threshold,
        "evaluatedDatapoints": points,
    }
    return json.dumps(data, separators=(",", ":"))
