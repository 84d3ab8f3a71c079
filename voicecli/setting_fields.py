"""Declaring a setting once: its field, its environment variables, and the parser its type implies.

A settings dataclass marks each config-file key with ``setting(default, "ENV_VAR", …)``; the
loader (voicecli.settings) reads the keys, the environment variables and the parser of each from
the fields, so a new setting is one field. A value's parser follows from the field's type
(``bool`` accepts true/false/1/0/yes/no/on/off, ``int``, ``float``, ``str``, a table); a type with a
``from_setting`` classmethod (``Secret``) parses itself; ``parse=`` overrides both. A key is the
field's name unless ``key=`` names it (``LocalEngine.asr`` is the key ``local_asr``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class FieldSpec:
    """One config-file key: the dataclass that holds it (in its field `attr`), its parser and
    environment variables."""

    owner: type
    parse: Parser
    env: tuple[str, ...]
    attr: str = ""


def setting(default: Any = None, *env: str, parse: Parser | None = None, key: str | None = None,
            **kw: Any) -> Any:
    """A dataclass field that is a config-file key (and these environment variables)."""
    return dataclasses.field(default=default, metadata={"env": env, "parse": parse, "key": key},
                             **kw)


def field_specs(cls: type) -> dict[str, FieldSpec]:
    """The config-file keys of a settings dataclass, each with its parser and env variables."""
    hints = typing.get_type_hints(cls)
    specs: dict[str, FieldSpec] = {}
    for item in dataclasses.fields(cls):
        if "env" not in item.metadata:
            continue  # not a key: a sub-object, or what the loader records
        parse = item.metadata["parse"] or parser_for(hints[item.name])
        key = item.metadata.get("key") or item.name
        specs[key] = FieldSpec(cls, parse, tuple(item.metadata["env"]), item.name)
    return specs


def parser_for(hint: Any) -> Parser:
    """The parser a field's type implies (``X | None`` parses as X)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if typing.get_origin(hint) is dict:
        return parse_table
    if hint is bool:
        return parse_bool
    if hasattr(hint, "from_setting"):
        return typing.cast(Parser, hint.from_setting)
    if hint in (int, float, str):
        return typing.cast(Parser, hint)
    raise TypeError(f"no setting parser for {hint!r}")


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_names(value: Any) -> str:
    """``"all"``, ``"a,b"`` or ``["a", "b"]`` → ``"a,b"`` (voicecli.tools.AllowPolicy.parse)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(item.strip() for item in value)
    raise ValueError(f"not a list of names: {value!r}")


def parse_table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"not a table: {value!r}")
    return value
