"""What every user-declared tool is: its parameters, its declaration, and argument validation.

A `ToolDef` is the same for every kind (command, Python, built-in): a name, a description, typed
`Param`s and an `execute` coroutine that receives *validated* arguments and returns the
`response` object of a FunctionResponse (§3.4). Keeping the schema here, apart from the kinds,
means the declaration sent in the setup (§3.1.4) and the check of the model's arguments (§4.3)
come from one definition and cannot drift apart.

The model's arguments are untrusted input: `validate_args` refuses unknown names, missing
required ones, wrong types, values outside an enum or a minimum/maximum, and strings holding a
NUL byte, with an `ArgumentError` that becomes ``{"error": ...}`` for the model, never a crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from voicecli.protocol.messages import FunctionDeclaration, Tool

SCALAR_TYPES = ("string", "integer", "number", "boolean")
PARAM_TYPES = (*SCALAR_TYPES, "array")
BEHAVIORS = ("BLOCKING", "NON_BLOCKING")
SCHEDULINGS = ("INTERRUPT", "WHEN_IDLE", "SILENT")
#: §3.1.4: letters, digits, ``_ . : -``; starts with a letter or ``_``; at most 64 (proto limit)
TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
#: parameter names double as ``{name}`` placeholders in command templates
PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

Response = dict[str, Any]
Executor = Callable[[dict[str, Any]], Awaitable[Response]]


class ArgumentError(ValueError):
    """The model's arguments do not fit the declared parameters (sent back as an error)."""


class ToolError(Exception):
    """Raised by a tool to answer ``{"error": message}`` (no exception type name prefixed)."""


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter; an array's `items` is a scalar `Param` (name ``""``)."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: Param | None = None
    allow_dash: bool = False  # command tools: may a whole-element value start with "-"

    def schema(self) -> dict[str, Any]:
        """The OpenAPI-subset `Schema` of §3.1.4 (upper-case type names, as the SDKs send)."""
        schema: dict[str, Any] = {"type": self.type.upper()}
        if self.description:
            schema["description"] = self.description
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.items is not None:
            schema["items"] = self.items.schema()
        return schema


@dataclass(frozen=True, slots=True)
class ToolDef:
    """A tool the model may call. `execute` gets validated arguments, returns a response dict."""

    name: str
    description: str
    params: tuple[Param, ...]
    execute: Executor
    kind: str  # "command" | "python" | "builtin" | "mcp"
    behavior: str | None = None  # BLOCKING | NON_BLOCKING; None = the model's default
    scheduling: str | None = None  # FunctionResponse.scheduling (NON_BLOCKING tools only)
    confirm: bool = False  # ask the user before every call (see policy.py)
    preflight: Callable[[dict[str, Any]], object] | None = None  # raises ArgumentError
    #: MCP tools: the declaration's parametersJsonSchema (§3.1.4), sent instead of `params`;
    #: their arguments are checked by `preflight` against the server's own schema
    json_schema: dict[str, Any] | None = None
    source: str = ""  # where it was declared: "config file …", a --tools file, "MCP server x"

    def parameters_schema(self) -> dict[str, Any] | None:
        """The declaration's `parameters`; None without parameters (an OBJECT with no
        properties is refused by the service: "properties: should be non-empty")."""
        if not self.params:
            return None
        schema: dict[str, Any] = {
            "type": "OBJECT",
            "properties": {p.name: p.schema() for p in self.params},
        }
        required = [p.name for p in self.params if p.required]
        if required:
            schema["required"] = required
        return schema


def declaration(tool: ToolDef, model_supports_behavior: bool) -> FunctionDeclaration:
    """The FunctionDeclaration of §3.1.4; `behavior` only for models that accept it (§7)."""
    return FunctionDeclaration(
        name=tool.name,
        description=tool.description,
        parameters=tool.parameters_schema() if tool.json_schema is None else None,
        parameters_json_schema=tool.json_schema,
        behavior=tool.behavior if model_supports_behavior else None,
    )


def declarations(
    tools: Iterable[ToolDef], model_supports_behavior: bool
) -> list[FunctionDeclaration]:
    return [declaration(tool, model_supports_behavior) for tool in tools]


def setup_tool(tools: Iterable[ToolDef], model_supports_behavior: bool) -> Tool | None:
    """The `Tool` entry for `Setup.tools`, or None when no tool is declared."""
    found = declarations(tools, model_supports_behavior)
    return Tool(function_declarations=found) if found else None


def validate_args(params: Iterable[Param], args: Any) -> dict[str, Any]:
    """The model's arguments checked and normalised (an integral 3.0 → 3; null → absent)."""
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ArgumentError("arguments must be an object")
    declared = {p.name: p for p in params}
    unknown = sorted(set(args) - set(declared))
    if unknown:
        raise ArgumentError(f"unknown argument(s): {', '.join(unknown)}")
    valid: dict[str, Any] = {}
    for name, param in declared.items():
        if args.get(name) is not None:
            valid[name] = check_value(param, args[name])
        elif param.required:
            raise ArgumentError(f"missing required argument {name!r}")
    return valid


def check_value(param: Param, value: Any) -> Any:
    label = param.name or "item"
    if param.type == "array":
        if not isinstance(value, list):
            raise ArgumentError(f"{label} must be an array")
        return [check_value(_item_of(param), item) for item in value]
    value = _check_type(param.type, value, label)
    _check_range(param, value, label)
    return value


def _item_of(param: Param) -> Param:
    assert param.items is not None
    return Param(f"{param.name}[]", param.items.type, enum=param.items.enum,
                 minimum=param.items.minimum, maximum=param.items.maximum)


def _check_type(kind: str, value: Any, label: str) -> Any:
    if kind == "string" and isinstance(value, str):
        if "\x00" in value:
            raise ArgumentError(f"{label} must not contain a NUL character")
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentError(f"{label} must be a{'n' if kind == 'integer' else ''} {kind}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ArgumentError(f"{label} must be a finite number")
    if kind == "integer":
        if isinstance(value, float) and not value.is_integer():
            raise ArgumentError(f"{label} must be an integer")
        return int(value)
    if kind == "number":
        return value
    raise ArgumentError(f"{label} must be a {kind}")


def _check_range(param: Param, value: Any, label: str) -> None:
    if param.enum is not None and value not in param.enum:
        raise ArgumentError(f"{label} must be one of {', '.join(param.enum)}")
    if param.minimum is not None and value < param.minimum:
        raise ArgumentError(f"{label} must be at least {param.minimum:g}")
    if param.maximum is not None and value > param.maximum:
        raise ArgumentError(f"{label} must be at most {param.maximum:g}")
