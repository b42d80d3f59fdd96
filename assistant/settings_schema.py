"""One schema for settings.json: the settings dataclasses' own type hints.

`check` walks a loaded file against the hints of `Settings` (and of the dataclasses and
TypedDicts in it), keeps every value of the right type, and drops each wrong one with a
problem that names its key (`generation.stop[0]`, `model_settings["/m.gguf"]`), so a
hand-edited file loses only what is wrong. Field metadata can narrow a value further:
`choices` (one of these) and `min` / `max` (numbers). Unknown keys are left out quietly:
a newer version of the app may have written them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import types
import typing
from typing import Any, Union

_DROP = object()  # the value is wrong: leave it out (its default takes its place)


def check(cls: type, data: dict[str, Any], where: str = "") -> tuple[dict[str, Any], list[str]]:
    """The valid part of `data` for dataclass `cls`, and one problem per value left out."""
    problems: list[str] = []
    return _dataclass(cls, data, where, problems), problems


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # evaluates the annotations' text: once per class


def build(cls: type, clean: dict[str, Any]) -> Any:
    """The dataclass from a dict `check` returned (nested dataclasses built too)."""
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in clean:
            tp = hints[f.name]
            value = clean[f.name]
            kwargs[f.name] = build(typing.cast(type, tp), value) if dataclasses.is_dataclass(tp) else value
    return cls(**kwargs)


def _dataclass(cls: type, data: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    hints = _hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        key = f"{where}.{f.name}" if where else f.name
        value = _value(hints[f.name], data[f.name], key, problems)
        if value is not _DROP:
            value = _narrow(f.metadata, value, data[f.name], key, problems)
        if value is not _DROP:
            out[f.name] = value
    return out


def _narrow(meta: Any, value: Any, raw: Any, key: str, problems: list[str]) -> Any:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        problems.append(f"{key}: {_show(raw)} is not one of {', '.join(map(_show, choices))}")
        return _DROP
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, (int, float)) and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        span = f"from {lo} to {hi}" if lo is not None and hi is not None else (f"at least {lo}" if lo is not None else f"at most {hi}")
        problems.append(f"{key}: {_show(raw)} is out of range (expected {span})")
        return _DROP
    return value


def _value(tp: Any, value: Any, key: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None and len(options) < len(args):
            return None
        if len(options) == 1:
            return _value(options[0], value, key, problems)
    elif tp is Any:
        return value
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return _dataclass(tp, value, key, problems)  # type: ignore[arg-type]
    elif typing.is_typeddict(tp):
        if isinstance(value, dict):
            hints = _hints(tp)
            out = {}
            for name, v in value.items():
                if name in hints:
                    got = _value(hints[name], v, f"{key}.{name}", problems)
                    if got is not _DROP:
                        out[name] = got
            return out
    elif origin is list:
        if isinstance(value, list):
            items = [_value(args[0], v, f"{key}[{i}]", problems) for i, v in enumerate(value)]
            return [v for v in items if v is not _DROP]
    elif origin is dict:
        if isinstance(value, dict):
            entries = {k: _value(args[1], v, f"{key}[{json.dumps(k, ensure_ascii=False)}]", problems) for k, v in value.items()}
            return {k: v for k, v in entries.items() if v is not _DROP}
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                return float(value)
            problems.append(f"{key}: {_show(value)} is not a finite number")
            return _DROP
    elif tp is str:
        if isinstance(value, str):
            return value
    problems.append(f"{key}: expected {_describe(tp)}, found {_show(value)}")
    return _DROP


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp) or typing.is_typeddict(tp) or origin is dict:
        return "an object"
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0]).removeprefix('a ').removeprefix('an ')}s"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(tp, str(tp))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"
