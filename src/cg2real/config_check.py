"""The workflow's config checked against its schema, with an error a person can act on.

Why not Snakemake's `validate` alone: its message for a mistyped key quotes the whole schema of the
section (hundreds of lines), with the useful line somewhere inside and no suggestion. Here the
first problem becomes a few lines: the key's path, one line of reason, the nearest allowed key and
what the schema expects there.

Two repairs come before the check, both for overrides given on the command line:
- Snakemake parses a nested `--config` value with YAML's BaseLoader, so every scalar inside
  `cyclegan={defaults: {n_epochs: 5}}` arrives as the string '5'. Strings are typed as the schema
  declares at their place (integer, number, boolean, null); text stays text where only a string fits.
- A dotted top-level key (`cluster.scheduler: uge`, from a `--configfile`) is nested and merged.
  (Snakemake's own `--config` parser refuses dots in a key before the workflow is read.)

A leaf module: jsonschema (which Snakemake validates with) and nothing of ours. No defaults are
filled in: config.yaml is complete, and filling would turn a run's empty overrides into full settings.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from jsonschema import validators
from jsonschema.exceptions import ValidationError, relevance

SCHEMA_NAME = "schemas/config.schema.yaml"  # as the message names it; the workflow passes the real path
MAX_LISTED = 12  # allowed keys or values shown in a message
MAX_TEXT = 160  # characters of one quoted value, reason or description

_NOT_PARSED = object()
_NULL_WORDS = {"", "~", "null", "Null", "NULL"}  # YAML's spellings of null (empty included)
_INTEGER = re.compile(r"[-+]?[0-9]+")


def _parse_null(text: str) -> Any:
    return None if text in _NULL_WORDS else _NOT_PARSED


def _parse_boolean(text: str) -> Any:
    return {"true": True, "false": False}.get(text.lower(), _NOT_PARSED)


def _parse_integer(text: str) -> Any:
    return int(text) if _INTEGER.fullmatch(text.strip()) else _NOT_PARSED


def _parse_number(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return _NOT_PARSED
    return number if math.isfinite(number) else _NOT_PARSED


# In order: the first declared type whose parser accepts the text wins.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "null": _parse_null,
    "boolean": _parse_boolean,
    "integer": _parse_integer,
    "number": _parse_number,
}


def _resolve(reference: str, root: dict) -> dict:
    """A local `$ref` ('#/$defs/walltime') of the schema `root`."""
    if not reference.startswith("#"):
        raise ValueError(f"only local $ref are supported in the config schema, got {reference!r}")
    node: Any = root
    for part in filter(None, reference[1:].split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _branches(schemas: list[Any], root: dict) -> list[dict]:
    """`schemas` and every subschema that applies at the same place ($ref, allOf/anyOf/oneOf, then/else)."""
    found: list[dict] = []
    pending = list(schemas)
    while pending:
        schema = pending.pop()
        if not isinstance(schema, dict) or any(schema is seen for seen in found):
            continue  # boolean schemas constrain nothing we could type by
        found.append(schema)
        if "$ref" in schema:
            pending.append(_resolve(schema["$ref"], root))
        for keyword in ("allOf", "anyOf", "oneOf"):
            pending.extend(schema.get(keyword, ()))
        pending.extend(schema[keyword] for keyword in ("then", "else") if keyword in schema)
    return found


def _declared_types(branches: list[dict]) -> set[str]:
    types: set[str] = set()
    for schema in branches:
        declared = schema.get("type", ())
        types |= {declared} if isinstance(declared, str) else set(declared)
    return types


def _member_schemas(branches: list[dict], key: str) -> list[Any]:
    """The schemas of mapping member `key`: its `properties` entry, else `additionalProperties`."""
    members = []
    for schema in branches:
        if key in schema.get("properties", {}):
            members.append(schema["properties"][key])
        elif isinstance(schema.get("additionalProperties"), dict):
            members.append(schema["additionalProperties"])
    return members


def _typed(value: Any, schemas: list[Any], root: dict) -> Any:
    """`value` with every string typed as the schema declares at its place (see the module's doc)."""
    branches = _branches(schemas, root)
    if isinstance(value, dict):
        return {key: _typed(member, _member_schemas(branches, key), root) for key, member in value.items()}
    if isinstance(value, list):
        items = [schema["items"] for schema in branches if isinstance(schema.get("items"), dict)]
        return [_typed(item, items, root) for item in value]
    if isinstance(value, str):
        types = _declared_types(branches)
        for type_name, parse in _PARSERS.items():
            if type_name in types and (parsed := parse(value)) is not _NOT_PARSED:
                return parsed
    return value


def typed_strings(config: dict, schema: dict) -> dict:
    """A copy of `config` with the strings of `--config` overrides typed (integer, number, boolean,
    null) where the schema declares that type; other strings, and every non-string, are unchanged."""
    return _typed(config, [schema], schema)


def nest_dotted_keys(config: dict) -> dict:
    """A copy of `config` with each top-level key 'a.b.c' merged in as config['a']['b']['c'].

    A dotted key whose path runs into a value that is no mapping (or null) stays as it is, so
    validation reports it as an unknown key."""
    nested = {key: value for key, value in config.items() if "." not in key}
    for dotted in (key for key in config if "." in key):
        *parents, leaf = dotted.split(".")
        target = nested
        for part in parents:
            if target.get(part) is None:
                target[part] = {}
            elif isinstance(target[part], dict):
                target[part] = dict(target[part])  # copied: the caller's config stays untouched
            else:
                nested[dotted] = config[dotted]
                break
            target = target[part]
        else:
            target[leaf] = _merged(target.get(leaf), config[dotted])
    return nested


def _merged(base: Any, override: Any) -> Any:
    """`override` over `base`, mappings merged key by key (as Snakemake merges --config)."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in override.items()}}
    return override


def _path_text(path: list[Any]) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return text or "(top level)"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")


def _suggestion(word: str, choices: list[str], parent: list[Any]) -> list[str]:
    nearest = difflib.get_close_matches(word, choices, n=1)
    return [f"Did you mean {_path_text([*parent, nearest[0]])}?"] if nearest else []


_TYPE_WORDS = {"object": "a mapping", "array": "a list"}
_BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _expected(schema: Any, root: dict, what: str = "a value") -> str:
    """What the schema asks for at one place, in a few words ('integer and >= 1', 'string and one of:
    auto, cpu, cuda'), with the first sentence of its description; `what` names an untyped value."""
    branches = _branches([schema], root)
    alternatives = [b for keyword in ("oneOf", "anyOf") for s in branches for b in s.get(keyword, ())]
    if alternatives:
        return " or ".join(_expected(branch, root, what) for branch in alternatives)
    words = [_TYPE_WORDS.get(name, name) for name in sorted(_declared_types(branches))]
    limits = []
    for s in branches:
        if "const" in s:
            return repr(s["const"])
        if "enum" in s:
            limits.append(f"one of: {_listed([str(v) for v in s['enum']])}")
        limits += [f"{sign} {s[bound]}" for bound, sign in _BOUNDS.items() if bound in s]
        if "pattern" in s and len(s["pattern"]) <= 40:  # longer ones are explained by the description
            limits.append(f"matching {s['pattern']}")
    text = " and ".join([" or ".join(words) or what, *limits])
    description = next((s["description"] for s in branches if "description" in s), "")
    return f"{text} ({_short(description.split('. ')[0].rstrip('.'))})" if description else text


def _deepest(error: ValidationError) -> ValidationError:
    """Inside oneOf/anyOf: the failing branch that reached deepest, when the value is a mapping or
    list; a scalar that fits no branch keeps the oneOf/anyOf error (its branches are the message)."""
    while error.context and any(inner.relative_path for inner in error.context):
        error = min(error.context, key=relevance)
    return error


def _explain(error: ValidationError, root: dict) -> list[str]:
    """The lines for one error: where, why, the nearest allowed key or value, what is expected."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in allowed]
        return [
            f"Unknown config key {_path_text([*path, unknown[0]])}.",
            *_suggestion(unknown[0], allowed, path),
            f"Allowed keys of {_path_text(path)}: {_listed(allowed)}.",
        ]
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance][0]
        member = error.schema.get("properties", {}).get(missing, {})
        return [f"Missing config key {_path_text([*path, missing])}.", f"Expected: {_expected(member, root)}"]
    if "propertyNames" in error.relative_schema_path:  # a key's name, checked before its value
        reason = f"Invalid key name in {_path_text(path)}: {_short(error.message)}"
        return [reason, f"Expected: {_expected(error.schema, root, 'a name')}"]
    lines = [f"Invalid config value at {_path_text(path)}: {_short(error.message)}"]
    if error.validator == "enum" and isinstance(error.instance, str):
        nearest = difflib.get_close_matches(error.instance, [str(v) for v in error.validator_value], n=1)
        lines += [f"Did you mean {nearest[0]!r}?"] if nearest else []
    return [*lines, f"Expected: {_expected(error.schema, root)}"]


def _problem_count(errors: list[ValidationError]) -> int:
    """Each unknown key counts once, even where one error names several."""
    return sum(
        len([k for k in e.instance if k not in e.schema.get("properties", {})])
        if e.validator == "additionalProperties"
        else 1
        for e in errors
    )


def config_problem(config: dict, schema: dict) -> str | None:
    """The first problem of `config` under `schema` in a few lines, or None when it is valid.

    Unknown keys come first (a mistyped key is the likeliest mistake and explains a missing one)."""
    errors = sorted(validators.validator_for(schema)(schema).iter_errors(config), key=relevance, reverse=True)
    if not errors:
        return None
    unknown = [error for error in errors if error.validator == "additionalProperties"]
    first = unknown[0] if unknown else _deepest(errors[0])
    more = _problem_count(errors) - 1
    closing = f"{more} more problem(s) after this one; every key" if more else "Every key"
    return "\n".join([*_explain(first, schema), f"{closing}, its type and default: {SCHEMA_NAME}"])


def normalized_config_problem(config: dict, schema_path: Path) -> str | None:
    """Nest dotted keys and type `--config` strings in `config` (in place: Snakemake's config object),
    then check it; the first problem as a short message, or None."""
    schema = yaml.safe_load(schema_path.read_text())
    normalized = typed_strings(nest_dotted_keys(config), schema)
    config.clear()
    config.update(normalized)
    return config_problem(config, schema)
