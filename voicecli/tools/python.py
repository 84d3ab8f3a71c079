"""Python tools: a function named by ``target = "package.module:function"``.

What: import the function, derive its declaration from its signature and docstring, call it.
Why: the signature already says what the model must send, so users write no schema twice (TOML
may still override the description and per-parameter fields; see load.py).

Signature → schema: ``str`` string, ``int`` integer, ``float`` number, ``bool`` boolean,
``Literal["a", "b"]`` string enum, ``list[X]`` array of X (a scalar or a string Literal),
``Optional[X]`` / ``X | None`` → X. A parameter with a default is optional; ``*args``,
``**kwargs`` and positional-only parameters are refused (the model passes arguments by name).
Docstring → the first paragraph is the description; a Google-style ``Args:`` section gives the
parameter descriptions.

Calls: async functions are awaited; sync ones run in a worker thread. Both have a timeout. A
thread cannot be killed: after a timeout or a cancellation its result is dropped, but the
function runs to its end. A dict return value is the response as is; anything else becomes
``{"output": value}``; both are made JSON-safe. An exception becomes
``{"error": "ExcType: message"}``, a `ToolError` ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import importlib
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from voicecli.tools.spec import Param, Response, ToolDef, ToolError

DEFAULT_TIMEOUT_S = 30.0
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_SECTION = re.compile(r"([A-Z][A-Za-z ]*):$")
_ARGS_HEADERS = ("Args:", "Arguments:", "Parameters:")
_ARG_LINE = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")


def import_target(target: str) -> Callable[..., Any]:
    """``"package.module:function"`` (or ``module:Class.method``) → the callable."""
    module_name, colon, path = target.partition(":")
    if not colon or not module_name or not path:
        raise ValueError(f"{target!r} must look like 'package.module:function'")
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    for attribute in path.split("."):
        found = getattr(found, attribute, None)
        if found is None:
            raise ValueError(f"{module_name} has no {path}")
    if not callable(found):
        raise ValueError(f"{target} is not callable")
    return found


def describe(func: Callable[..., Any]) -> tuple[str, tuple[Param, ...]]:
    """The description and parameters of `func` (a ValueError names what is unsupported)."""
    summary, arg_docs = parse_docstring(inspect.getdoc(func) or "")
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:
        raise ValueError(f"cannot read the type hints: {type(exc).__name__}: {exc}") from None
    parameters = inspect.signature(func).parameters.values()
    return summary, tuple(_param(p, hints, arg_docs) for p in parameters)


def _param(p: inspect.Parameter, hints: dict[str, Any], docs: dict[str, str]) -> Param:
    if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
        raise ValueError(f"parameter {p.name!r}: only named parameters are supported")
    if p.name not in hints:
        raise ValueError(f"parameter {p.name!r} has no type hint")
    try:
        kind, values, items = hint_type(hints[p.name])
    except ValueError as exc:
        raise ValueError(f"parameter {p.name!r}: {exc}") from None
    required = p.default is p.empty
    return Param(p.name, kind, docs.get(p.name, ""), required, enum=values, items=items)


def hint_type(hint: Any) -> tuple[str, tuple[str, ...] | None, Param | None]:
    """(type, enum values, array item) of a type hint."""
    hint = _without_none(hint)
    if hint in _SCALARS:
        return _SCALARS[hint], None, None
    if get_origin(hint) is Literal:
        literals = get_args(hint)
        if not all(isinstance(v, str) for v in literals):
            raise ValueError("Literal values must be strings")
        return "string", literals, None
    if get_origin(hint) in (list, Sequence) and len(get_args(hint)) == 1:
        kind, values, nested = hint_type(get_args(hint)[0])
        if nested is not None:
            raise ValueError("arrays of arrays are not supported")
        return "array", None, Param("", kind, enum=values)
    raise ValueError(f"unsupported type hint {hint!r} (use str, int, float, bool, Literal, list)")


def _without_none(hint: Any) -> Any:
    if get_origin(hint) not in (Union, types.UnionType):
        return hint
    rest = [arg for arg in get_args(hint) if arg is not type(None)]
    if len(rest) != 1:
        raise ValueError(f"unsupported union {hint!r}")
    return rest[0]


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph as one line, {parameter: description} from a Google ``Args:``)."""
    lines = doc.splitlines()
    first: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.fullmatch(line):
            break
        first.append(line.strip())
    return " ".join(first), _arg_docs(lines)


def _arg_docs(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    current, indent = "", 0
    for line in _args_section(lines):
        depth = len(line) - len(line.lstrip())
        match = _ARG_LINE.fullmatch(line.strip())
        if match and (not current or depth <= indent):
            current, indent = match[1], depth
            docs[current] = match[2].strip()
        elif current and line.strip():
            docs[current] = f"{docs[current]} {line.strip()}".strip()
    return docs


def _args_section(lines: list[str]) -> list[str]:
    """The indented lines under an ``Args:`` header (up to the next unindented line)."""
    body: list[str] = []
    inside = False
    for line in lines:
        if line.strip() and not line[0].isspace():
            inside = line.strip() in _ARGS_HEADERS
        elif inside:
            body.append(line)
    return body


@dataclass(frozen=True, slots=True, eq=False)
class PythonTool:
    """The executor of a Python tool (a `ToolDef.execute`)."""

    func: Callable[..., Any]
    timeout: float | None = DEFAULT_TIMEOUT_S

    async def __call__(self, args: dict[str, Any]) -> Response:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._outcome(args)
        except TimeoutError:
            return {"error": f"timed out after {self.timeout:g} s"}

    async def _outcome(self, args: dict[str, Any]) -> Response:
        try:
            value = await self._call(args)
        except ToolError as exc:
            return {"error": str(exc)}
        except (Exception, SystemExit) as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        return as_response(value)

    async def _call(self, args: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(self.func):
            return await self.func(**args)
        value = await asyncio.to_thread(self.func, **args)
        return await value if inspect.isawaitable(value) else value


def function_tool(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
    kind: str = "python",
    **options: Any,
) -> ToolDef:
    """A `ToolDef` straight from a function (built-ins; load.py adds TOML overrides)."""
    description, params = describe(func)
    return ToolDef(
        name=name or func.__name__,
        description=description,
        params=params,
        execute=PythonTool(func, timeout),
        kind=kind,
        **options,
    )


def as_response(value: Any) -> Response:
    """A dict as the response itself, anything else as ``{"output": value}``; JSON-safe."""
    return json_safe(value if isinstance(value, dict) else {"output": value})


def json_safe(value: Any) -> Any:
    """`value` with everything JSON cannot carry turned into text (or lists, or numbers)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if callable(getattr(value, "isoformat", None)):
        return value.isoformat()
    return str(value)
