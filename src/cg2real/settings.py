"""Typed settings objects built from config sections.

The workflow validates config.yaml against its JSON schema (which holds every default) and passes
each stage's section to the CLI as JSON; here that section becomes a frozen dataclass, so the field
names are the schema's keys and no default is written twice.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import typing
from typing import Any, TypeVar

from cg2real.errors import DataError

S = TypeVar("S")

_SIMPLE = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise DataError(f"{where} must be a list, got {value!r}")
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        return tuple(_coerce(v, item, where) for v in value)
    if hint in _SIMPLE:
        bool_for_number = isinstance(value, bool) and hint is not bool  # JSON true is not a number here
        if bool_for_number or not isinstance(value, _SIMPLE[hint]):
            raise DataError(f"{where} must be of type {hint.__name__}, got {value!r}")
        return float(value) if hint is float else value
    return value


def settings_from_mapping(cls: type[S], values: dict[str, Any], section: str) -> S:
    """Build `cls` from a config section; unknown, missing or mistyped keys raise a DataError."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in values if k not in names]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], names, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise DataError(f"unknown key '{section}.{unknown[0]}'{suggestion}")
    missing = [n for n in names if n not in values]
    if missing:
        raise DataError(f"missing key(s) in '{section}': {', '.join(missing)}")
    return cls(**{n: _coerce(values[n], hints[n], f"{section}.{n}") for n in names})


def settings_from_json(cls: type[S], text: str, section: str) -> S:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"settings for '{section}' are not valid JSON: {err}") from err
    if not isinstance(values, dict):
        raise DataError(f"settings for '{section}' must be a JSON object")
    return settings_from_mapping(cls, values, section)
