"""Errors and the model-driven input validation and output projection."""

from __future__ import annotations

import functools
import re
from typing import Final

from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape

from tools.localaws.personalize_stub.model import JsonObj, _is_number


class ApiError(Exception):
    """An AWS-style error: serialized as ``{"__type": code, "message": message}``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _not_found(arn: str) -> ApiError:
    return ApiError("ResourceNotFoundException", f"Resource {arn} does not exist.")


def _in_use(message: str) -> ApiError:
    return ApiError("ResourceInUseException", message)


class StubControlError(RuntimeError):
    """A control-API request failed (HTTP status and message from the stub)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


# --------------------------------------------------------------------------------------------
# Model-driven validation and projection
# --------------------------------------------------------------------------------------------
_PROPERTY_IN_CLASS: Final = {"ASCII": r"\x00-\x7F", "L": r"\w", "N": r"\d", "Z": r"\s"}
_PROPERTY_OUTSIDE: Final = {"ASCII": r"[\x00-\x7F]", "L": r"[^\W\d_]", "N": r"\d", "Z": r"\s"}


@functools.lru_cache(maxsize=None)
def _model_pattern(pattern: str) -> re.Pattern[str] | None:
    """Compile a model (Java) regex for Python; ``\\p{..}`` classes approximated, else None."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            if pattern[i + 1] == "p" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                table = _PROPERTY_IN_CLASS if in_class else _PROPERTY_OUTSIDE
                prop = pattern[i + 3 : end] if end > 0 else ""
                if prop not in table:
                    return None
                out.append(table[prop])
                i = end + 1
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return None


class _Validator:
    """Collects model-constraint violations the way AWS reports them."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.type_errors: list[str] = []

    @staticmethod
    def _join(path: str, name: str) -> str:
        return f"{path}.{name}" if path else name

    def _constraint(self, value: object, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.errors.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    def _bounds(self, shape: Shape, value: object, measure: float, path: str, what: str) -> None:
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if isinstance(low, (int, float)) and measure < low:
            self._constraint(value, path, f"have {what} greater than or equal to {low}")
        if isinstance(high, (int, float)) and measure > high:
            self._constraint(value, path, f"have {what} less than or equal to {high}")

    def check(self, shape: Shape, value: object, path: str = "") -> None:
        if isinstance(shape, StructureShape):
            if not isinstance(value, dict):
                self.type_errors.append(f"Expected an object at '{path or shape.name}'")
                return
            for name in shape.required_members:
                if value.get(name) is None:
                    self._constraint(None, self._join(path, name), "not be null")
            for name, member in shape.members.items():
                if value.get(name) is not None:
                    self.check(member, value[name], self._join(path, name))
            return
        if isinstance(shape, ListShape):
            if not isinstance(value, list):
                self.type_errors.append(f"Expected a list at '{path}'")
                return
            self._bounds(shape, value, len(value), path, "length")
            for index, item in enumerate(value, start=1):
                self.check(shape.member, item, f"{path}.{index}.member")
            return
        if isinstance(shape, MapShape):
            if not isinstance(value, dict):
                self.type_errors.append(f"Expected a map at '{path}'")
                return
            self._bounds(shape, value, len(value), path, "length")
            for key, item in value.items():
                self.check(shape.key, key, f"{path}.{key}.key")
                self.check(shape.value, item, f"{path}.{key}.value")
            return
        self._check_scalar(shape, value, path)

    def _check_scalar(self, shape: Shape, value: object, path: str) -> None:
        kind = shape.type_name
        if kind == "string":
            if not isinstance(value, str):
                self.type_errors.append(f"Expected a string at '{path}'")
                return
            self._bounds(shape, value, len(value), path, "length")
            enum = shape.enum if isinstance(shape, StringShape) else []
            if enum and value not in enum:
                self._constraint(value, path, f"satisfy enum value set: [{', '.join(enum)}]")
            pattern = shape.metadata.get("pattern")
            if isinstance(pattern, str):
                compiled = _model_pattern(pattern)
                if compiled is not None and compiled.fullmatch(value) is None:
                    self._constraint(value, path, f"satisfy regular expression pattern: {pattern}")
        elif kind in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                self.type_errors.append(f"Expected an integer at '{path}'")
                return
            self._bounds(shape, value, value, path, "value")
        elif kind in ("float", "double"):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self.type_errors.append(f"Expected a number at '{path}'")
                return
            self._bounds(shape, value, value, path, "value")
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.type_errors.append(f"Expected a boolean at '{path}'")
        elif kind == "timestamp":
            if not (_is_number(value) or isinstance(value, str)):
                self.type_errors.append(f"Expected a timestamp at '{path}'")
        elif kind == "blob" and not isinstance(value, str):
            self.type_errors.append(f"Expected base64 text at '{path}'")

    def message(self) -> str:
        count = len(self.errors)
        return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(self.errors)

    def raise_api(self) -> None:
        if self.type_errors:
            raise ApiError("SerializationException", self.type_errors[0])
        if self.errors:
            raise ApiError("InvalidInputException", self.message())

    def raise_control(self) -> None:
        if self.type_errors:
            raise StubControlError(400, self.type_errors[0])
        if self.errors:
            raise StubControlError(400, self.message())


def _project(shape: Shape, value: object) -> object:
    """Keep only what ``shape`` declares (recursively); timestamps as float epoch seconds."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return None
        out: JsonObj = {}
        for name, member in shape.members.items():
            if name in value:
                projected = _project(member, value[name])
                if projected is not None:
                    out[name] = projected
        return out
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return None
        return [p for p in (_project(shape.member, item) for item in value) if p is not None]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return None
        return {str(k): p for k, v in value.items() if (p := _project(shape.value, v)) is not None}
    if shape.type_name == "timestamp" and _is_number(value):
        return float(value)  # type: ignore[arg-type]  # narrowed by _is_number
    return value
