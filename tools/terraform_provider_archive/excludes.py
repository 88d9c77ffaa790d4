"""``excludes`` patterns of ``archive_file``: doublestar (github.com/bmatcuk/doublestar/v4) compatible
glob matching (``*``, ``?``, ``[...]``, ``{a,b}``, ``**``) of slash-separated relative paths."""

from __future__ import annotations

import re
from typing import Iterable, Optional, Tuple

from tools.terraform_provider_archive.errors import BadPatternError

_MAX_BRACE_EXPANSIONS = 4096




def _matching_brace(pattern: str, open_idx: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``open_idx`` (nesting and escapes aware)."""
    depth = 0
    i = open_idx
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_alternatives(body: str) -> list[str]:
    """Split the inside of ``{...}`` on top-level, unescaped commas."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
        i += 1
    parts.append(body[start:])
    return parts


def _expand_braces(pattern: str) -> list[str]:
    """Expand ``{a,b}`` alternatives (nested allowed) into brace-free patterns."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            close = _matching_brace(pattern, i)
            if close < 0:
                raise BadPatternError(f"syntax error in pattern {pattern!r}: unclosed '{{'")
            prefix, suffix = pattern[:i], pattern[close + 1 :]
            expanded: list[str] = []
            for alternative in _split_alternatives(pattern[i + 1 : close]):
                expanded.extend(_expand_braces(prefix + alternative + suffix))
                if len(expanded) > _MAX_BRACE_EXPANSIONS:
                    raise BadPatternError(f"pattern {pattern!r} expands to too many alternatives")
            return expanded
        i += 1
    return [pattern]


def _class_char(ch: str) -> str:
    return f"\\U{ord(ch):08x}"


def _translate_class(pattern: str, start: int) -> Tuple[str, int]:
    """Translate the character class opening at ``pattern[start] == '['``.

    Returns the regex and the index just past the closing ``]``.
    """
    n = len(pattern)
    i = start + 1
    negate = i < n and pattern[i] in "!^"
    if negate:
        i += 1
    if i >= n or pattern[i] == "]":
        raise BadPatternError(f"syntax error in pattern {pattern!r}: empty or unclosed '['")
    items: list[str] = []
    while i < n and pattern[i] != "]":
        lo = pattern[i]
        i += 1
        if lo == "\\":
            if i >= n:
                raise BadPatternError(f"syntax error in pattern {pattern!r}: trailing '\\'")
            lo = pattern[i]
            i += 1
        if i + 1 < n and pattern[i] == "-" and pattern[i + 1] != "]":
            i += 1
            hi = pattern[i]
            if hi == "\\":
                i += 1
                if i >= n:
                    raise BadPatternError(f"syntax error in pattern {pattern!r}: trailing '\\'")
                hi = pattern[i]
            i += 1
            if lo <= hi:  # an inverted range matches nothing, as in doublestar
                items.append(f"{_class_char(lo)}-{_class_char(hi)}")
            continue
        items.append(_class_char(lo))
    if i >= n:
        raise BadPatternError(f"syntax error in pattern {pattern!r}: unclosed '['")
    body = "".join(items)
    if negate:
        return (f"[^{body}]" if body else "."), i + 1
    return (f"[{body}]" if body else "(?!)"), i + 1


def _translate(pattern: str) -> str:
    """Translate one brace-free doublestar pattern into a regular expression."""
    out: list[str] = []
    n = len(pattern)
    i = 0
    segment_start = True
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*" and segment_start:
                after = i + 2
                if after == n:
                    # trailing "**" matches everything left; "x/**" also matches "x" itself
                    if out and out[-1] == "/":
                        out[-1] = "(?:/.*)?"
                    else:
                        out.append(".*")
                    i = after
                    continue
                if pattern[after] == "/":
                    if after + 1 == n and out and out[-1] == "/":
                        out[-1] = "(?:/(?:.*/)?)?"  # "x/**/" also matches "x"
                    else:
                        out.append("(?:.*/)?")  # zero or more directories
                    i = after + 1
                    segment_start = True
                    continue
            # a single star, or a "**" that is not a whole path segment
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            segment_start = False
            continue
        if ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            regex, i = _translate_class(pattern, i)
            out.append(regex)
        elif ch == "\\":
            if i + 1 >= n:
                raise BadPatternError(f"syntax error in pattern {pattern!r}: trailing '\\'")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif ch == "/":
            out.append("/")
            i += 1
            segment_start = True
            continue
        else:
            out.append(re.escape(ch))
            i += 1
        segment_start = False
    return "".join(out)


class ExcludeMatcher:
    """Matches slash-separated relative paths against a list of ``excludes`` patterns.

    Empty patterns are ignored; malformed ones raise :class:`BadPatternError` up front.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: Tuple[str, ...] = tuple(p for p in patterns if p != "")
        alternatives: list[str] = []
        for pattern in self.patterns:
            alternatives.extend(_translate(p) for p in _expand_braces(pattern))
        self._regex: Optional[re.Pattern[str]] = (
            re.compile("|".join(f"(?:{a})" for a in alternatives), re.DOTALL) if alternatives else None
        )

    def __call__(self, path: str) -> bool:
        return self._regex is not None and self._regex.fullmatch(path) is not None

    def __repr__(self) -> str:
        return f"ExcludeMatcher({list(self.patterns)!r})"
