"""Metric math for alarms on math expressions, as the CloudWatch User Guide describes it (test tooling).

An alarm on a math expression (PutMetricAlarm ``Metrics``) names metrics (``MetricStat``, each
with its own period and statistic) and expressions over them by ``Id``; the one with
``ReturnData`` true is the series the alarm compares with its threshold. moto stores such alarms
but evaluates no expression, so the local AWS's evaluator computes them here, period by period
over the alarm's evaluation range.

What is implemented, following "Using metric math"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):

* numbers, metric and expression ids, parentheses, arrays ``[a, b]``;
* arithmetic ``+ - * / ^`` and unary minus on scalars, time series and arrays: between two time
  series a missing value is treated as 0 where the other has one; a division by zero drops the
  datapoint;
* comparisons ``== != <= >= < >`` (1 or 0; a value missing on one side is 0) and ``AND``/``&&``,
  ``OR``/``||``;
* ``ABS CEIL FLOOR LOG LOG10`` per datapoint; ``FILL(ts, value|ts|REPEAT|LINEAR)``;
  ``IF(condition, a[, b])``; ``SUM AVG MIN MAX`` of an array (one series; SUM and AVG treat a
  missing value as 0, MIN and MAX skip it) or of one series (a scalar over the retrieved range,
  which the guide advises against in alarms); ``DATAPOINT_COUNT``; ``METRICS()`` /
  ``METRICS("text")``; ``PERIOD(m)``.

Anything else (SEARCH, Metrics Insights, anomaly bands, RATE, RUNNING_SUM, ...) raises
UnsupportedAlarm, so an alarm using it is reported as not evaluated rather than evaluated wrongly.

Where the guide is silent - FILL over a metric that has no datapoint at all in the retrieved
range: the guide says FILL "fills the missing values of a time series" and, for alarms, that it
replaces a missing most recent datapoint with the requested value (so it fills on the alarm's
period grid, as done here), but not whether a metric without any datapoint has a grid to fill.
The evaluator fills every period (``Context(fill_empty=True)``, the default); the other reading,
nothing to fill so the result stays missing, is ``Context(fill_empty=False)``. Alarms that must
not depend on the difference treat missing data as the filled value would (the module's
metric-math alarms: FILL with 0 and TreatMissingData breaching; tests/tooling/
test_resource_alarms_metric_math.py evaluates them under both readings).

tests/tooling/test_metric_math_alarms.py checks this implementation on its own.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

from tools.localaws.alarm_rules import UnsupportedAlarm

Series = List[Optional[float]]


@dataclass(frozen=True)
class Array:
    """An array of time series (``[m1, m2]`` or ``METRICS()``)."""

    items: Tuple[Tuple[Optional[float], ...], ...]


Value = Union[float, Series, Array]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|(?P<str>\"[^\"]*\")"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^<>(),\[\]]))"
)


def tokenize(text: str) -> List[Tuple[str, str]]:
    tokens: List[Tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise UnsupportedAlarm(f"cannot read the expression at {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class Context:
    """The series of an alarm's queries over one evaluation range."""

    def __init__(self, metrics: Mapping[str, Series], periods: Mapping[str, int],
                 expressions: Mapping[str, str], fill_empty: bool = True) -> None:
        self.metrics = dict(metrics)
        self.fill_empty = fill_empty  # FILL over a series without any datapoint (see the module docstring)
        self.periods = dict(periods)
        self.expressions = dict(expressions)
        self.size = len(next(iter(self.metrics.values()))) if self.metrics else 0
        self._done: Dict[str, Value] = {}
        self._active: Set[str] = set()

    def value_of(self, ident: str) -> Value:
        if ident in self.metrics:
            return list(self.metrics[ident])
        if ident in self._done:
            return self._done[ident]
        if ident not in self.expressions:
            raise UnsupportedAlarm(f"the expression names {ident!r}, which is no metric or expression of the alarm")
        if ident in self._active:
            raise UnsupportedAlarm(f"the expression {ident!r} refers to itself")
        self._active.add(ident)
        try:
            result = evaluate(self.expressions[ident], self)
        finally:
            self._active.discard(ident)
        self._done[ident] = result
        return result


def evaluate(text: str, ctx: Context) -> Value:
    parser = _Parser(tokenize(text), ctx)
    result = parser.expression()
    if parser.pos != len(parser.tokens):
        raise UnsupportedAlarm(f"unexpected {parser.tokens[parser.pos][1]!r} in {text!r}")
    return result


def series_of(text: str, ctx: Context) -> Series:
    """The expression's single time series (what an alarm compares with its threshold)."""
    result = evaluate(text, ctx)
    if isinstance(result, list):
        return result
    if isinstance(result, Array):
        raise UnsupportedAlarm(f"{text!r} gives {len(result.items)} time series; an alarm needs exactly one")
    return [float(result)] * ctx.size


# -- operations -----------------------------------------------------------------------------------
def _safe(fn: Callable[[float, float], float], a: float, b: float) -> Optional[float]:
    try:
        out = fn(a, b)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    if isinstance(out, complex) or math.isnan(out) or math.isinf(out):
        return None
    return float(out)


def _pointwise(fn: Callable[[float, float], float], a: Value, b: Value, size: int,
               missing_as_zero: bool = True) -> Value:
    if isinstance(a, Array):
        return Array(tuple(tuple(_pointwise(fn, list(s), b, size)) for s in a.items))  # type: ignore[arg-type]
    if isinstance(b, Array):
        return Array(tuple(tuple(_pointwise(fn, a, list(s), size)) for s in b.items))  # type: ignore[arg-type]
    if isinstance(a, list) and isinstance(b, list):
        out: Series = []
        for x, y in zip(a, b):
            if x is None and y is None:
                out.append(None)
            elif missing_as_zero:
                out.append(_safe(fn, 0.0 if x is None else x, 0.0 if y is None else y))
            else:
                out.append(None if x is None or y is None else _safe(fn, x, y))
        return out
    if isinstance(a, list):
        return [None if x is None else _safe(fn, x, float(b)) for x in a]  # type: ignore[arg-type]
    if isinstance(b, list):
        return [None if y is None else _safe(fn, float(a), y) for y in b]
    result = _safe(fn, float(a), float(b))
    if result is None:
        raise UnsupportedAlarm("a scalar operation has no value (division by zero?)")
    return result


def _map(fn: Callable[[float], float], value: Value) -> Value:
    def one(x: Optional[float]) -> Optional[float]:
        if x is None:
            return None
        try:
            y = fn(x)
        except (ValueError, OverflowError):
            return None
        return None if math.isnan(y) or math.isinf(y) else float(y)

    if isinstance(value, Array):
        return Array(tuple(tuple(one(x) for x in s) for s in value.items))
    if isinstance(value, list):
        return [one(x) for x in value]
    result = one(float(value))
    if result is None:
        raise UnsupportedAlarm("a scalar function has no value")
    return result


_BINARY: Dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
    "<=": lambda a, b: float(a <= b),
    ">=": lambda a, b: float(a >= b),
    "<": lambda a, b: float(a < b),
    ">": lambda a, b: float(a > b),
    "AND": lambda a, b: float(bool(a) and bool(b)),
    "OR": lambda a, b: float(bool(a) or bool(b)),
}
_UNARY: Dict[str, Callable[[float], float]] = {
    "ABS": abs, "CEIL": math.ceil, "FLOOR": math.floor, "LOG": math.log, "LOG10": math.log10,
}


def _fill(value: Value, how: Union[str, Value], fill_empty: bool = True) -> Value:
    if isinstance(value, Array):
        return Array(tuple(tuple(_fill(list(s), how, fill_empty)) for s in value.items))  # type: ignore[arg-type]
    if not isinstance(value, list):
        raise UnsupportedAlarm("FILL needs a time series")
    out = list(value)
    if not fill_empty and all(x is None for x in out):
        return out  # no datapoint, no timestamp to fill (the other reading; module docstring)
    if how == "REPEAT":
        last: Optional[float] = None
        for i, x in enumerate(out):
            if x is None:
                out[i] = last
            else:
                last = x
        return out
    if how == "LINEAR":
        known = [i for i, x in enumerate(out) if x is not None]
        for a, b in zip(known, known[1:]):
            for i in range(a + 1, b):
                out[i] = out[a] + (out[b] - out[a]) * (i - a) / (b - a)  # type: ignore[operator]
        return out
    if isinstance(how, list):
        return [x if x is not None else y for x, y in zip(out, how)]
    if isinstance(how, (int, float)):
        return [x if x is not None else float(how) for x in out]
    raise UnsupportedAlarm(f"FILL with {how!r}")


def _aggregate(name: str, value: Value) -> Value:
    if isinstance(value, Array):
        rows = list(zip(*value.items)) if value.items else []
        out: Series = []
        for row in rows:
            present = [x for x in row if x is not None]
            if not present:
                out.append(None)
            elif name == "SUM":
                out.append(float(sum(present)))
            elif name == "AVG":
                out.append(float(sum(present)) / len(row))  # missing count as 0
            elif name == "MIN":
                out.append(min(present))
            else:
                out.append(max(present))
        return out
    if isinstance(value, list):
        known: List[float] = [x for x in value if x is not None]
        if name == "DATAPOINT_COUNT":
            return float(len(known))
        if not known:
            raise UnsupportedAlarm(f"{name} of a series without datapoints")
        if name == "SUM":
            return float(sum(known))
        if name == "AVG":
            return float(sum(known)) / len(known)
        return min(known) if name == "MIN" else max(known)
    return float(value)


class _Parser:
    def __init__(self, tokens: List[Tuple[str, str]], ctx: Context) -> None:
        self.tokens = tokens
        self.pos = 0
        self.ctx = ctx

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, expected: Optional[str] = None) -> Tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise UnsupportedAlarm("the expression ends too early")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise UnsupportedAlarm(f"expected {expected!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def expression(self) -> Value:
        return self._binary(0)

    _LEVELS: Tuple[Tuple[str, ...], ...] = (
        ("OR", "||"), ("AND", "&&"), ("==", "!=", "<=", ">=", "<", ">"), ("+", "-"), ("*", "/"), ("^",),
    )

    def _binary(self, level: int) -> Value:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while self.peek().upper() in self._LEVELS[level]:
            op = self.take()[1].upper()
            op = {"||": "OR", "&&": "AND"}.get(op, op)
            right = self._binary(level + 1)
            left = _pointwise(_BINARY[op], left, right, self.ctx.size)
        return left

    def _unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            return _pointwise(_BINARY["-"], 0.0, self._unary(), self.ctx.size, missing_as_zero=False)
        return self._primary()

    def _args(self) -> List[Union[str, Value]]:
        self.take("(")
        args: List[Union[str, Value]] = []
        while self.peek() != ")":
            kind, text = self.tokens[self.pos] if self.pos < len(self.tokens) else ("", "")
            if (kind == "name" and text in ("REPEAT", "LINEAR")) or kind == "str":
                self.take()
                args.append(text.strip('"') if kind == "str" else text)
            else:
                args.append(self.expression())
            if self.peek() == ",":
                self.take()
            elif self.peek() != ")":
                raise UnsupportedAlarm(f"expected ',' or ')', found {self.peek()!r}")
        self.take(")")
        return args

    def _primary(self) -> Value:
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if text == "(":
            value = self.expression()
            self.take(")")
            return value
        if text == "[":
            items: List[Tuple[Optional[float], ...]] = []
            while True:
                item = self.expression()
                if isinstance(item, Array):
                    items.extend(item.items)
                elif isinstance(item, list):
                    items.append(tuple(item))
                else:
                    items.append(tuple([float(item)] * self.ctx.size))
                if self.peek() == ",":
                    self.take()
                    continue
                self.take("]")
                return Array(tuple(items))
        if kind == "name" and self.peek() == "(":
            return self._call(text.upper(), self._args())
        if kind == "name":
            return self.ctx.value_of(text)
        raise UnsupportedAlarm(f"unexpected {text!r}")

    def _call(self, name: str, args: List[Union[str, Value]]) -> Value:
        def value(i: int) -> Value:
            arg = args[i]
            if isinstance(arg, str):
                raise UnsupportedAlarm(f"{name}: argument {i + 1} cannot be {arg!r}")
            return arg

        if name in _UNARY and len(args) == 1:
            return _map(_UNARY[name], value(0))
        if name == "FILL" and len(args) == 2:
            return _fill(value(0), args[1], self.ctx.fill_empty)
        if name in ("SUM", "AVG", "MIN", "MAX", "DATAPOINT_COUNT") and len(args) == 1:
            return _aggregate(name, value(0))
        if name == "IF" and len(args) in (2, 3):
            return self._if(value(0), value(1), value(2) if len(args) == 3 else None)
        if name == "METRICS" and len(args) <= 1:
            text = args[0] if args else ""
            if not isinstance(text, str):
                raise UnsupportedAlarm("METRICS takes a string")
            return Array(tuple(tuple(s) for i, s in self.ctx.metrics.items() if text in i))
        if name == "PERIOD" and len(args) == 1:
            ref = self.tokens[self.pos - 2][1]  # PERIOD(m1): the id just read
            if ref not in self.ctx.periods:
                raise UnsupportedAlarm("PERIOD needs a metric id")
            return float(self.ctx.periods[ref])
        raise UnsupportedAlarm(f"function {name} with {len(args)} argument(s) is not evaluated here")

    def _if(self, cond: Value, yes: Value, no: Optional[Value]) -> Value:
        size = self.ctx.size

        def as_series(v: Optional[Value]) -> Series:
            if v is None:
                return [None] * size
            if isinstance(v, Array):
                raise UnsupportedAlarm("IF on arrays is not evaluated here")
            return list(v) if isinstance(v, list) else [float(v)] * size

        c, a, b = as_series(cond), as_series(yes), as_series(no)
        return [None if x is None else (a[i] if x else b[i]) for i, x in enumerate(c)]


def check_ids(ids: Sequence[str]) -> None:
    for ident in ids:
        if not re.fullmatch(r"[a-z][A-Za-z0-9_]*", ident or ""):
            raise UnsupportedAlarm(f"query id {ident!r} must start with a lowercase letter")
