"""Tool definitions from TOML: the ``[tools]`` table of the config file or of ``--tools FILE``.

Both files use the same layout (see the package docstring for a full example): plain keys of
``[tools]`` are options (``builtins``, ``read_file_root``, ``read_file_max_bytes``,
``python_path``), and every sub-table ``[tools.NAME]`` is one tool, a command tool when it has
``command = [...]``, a Python tool when it has ``target = "module:function"``.

Why so strict: a typo in a tool definition would otherwise surface mid-conversation as a
confusing error the model reads aloud. Every key is checked here, unknown keys included, and
each mistake is one `ConfigError` line naming the file, the tool and the field. Relative paths
(``cwd``, ``read_file_root``, ``python_path``) are resolved against the file's directory, after
``~`` expansion; they must name existing directories.
"""

from __future__ import annotations

import dataclasses
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from voicecli.errors import ConfigError
from voicecli.tools import builtins, command, python
from voicecli.tools.environment import check_env_name
from voicecli.tools.spec import (
    BEHAVIORS,
    PARAM_NAME,
    PARAM_TYPES,
    SCHEDULINGS,
    TOOL_NAME,
    Param,
    ToolDef,
)
from voicecli.tools.table_fields import TableFields, one_line

OPTION_KEYS = ("builtins", "read_file_root", "read_file_max_bytes", "python_path")
COMMON_KEYS = ("description", "parameters", "behavior", "scheduling", "confirm", "timeout")
COMMAND_KEYS = (*COMMON_KEYS, "command", "required", "max_output", "cwd", "env")
PYTHON_KEYS = (*COMMON_KEYS, "target")
PARAM_KEYS = ("type", "description", "enum", "minimum", "maximum", "items", "allow_dash")
ITEM_KEYS = ("type", "enum", "minimum", "maximum")
OVERRIDE_KEYS = ("description", "enum", "minimum", "maximum")


def load_tools_file(path: Path | str) -> list[ToolDef]:
    """The tools of a TOML file (``--tools tools.toml``)."""
    path = Path(path).expanduser()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"tools file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read tools file {path}: {type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(one_line(f"tools file {path} is not valid TOML: {exc}")) from None
    return tools_from_config(document, origin=str(path), base_dir=path.parent)


def tools_from_config(
    document: Mapping[str, Any], *, origin: str = "config", base_dir: Path | None = None
) -> list[ToolDef]:
    """The tools of a parsed TOML document (its ``tools`` table; none without one)."""
    table = document.get("tools")
    if table is None:
        return []
    options = TableFields.of(table, f"{origin}: [tools]")
    base = base_dir or Path.cwd()
    for key, value in table.items():
        if not isinstance(value, dict) and key not in OPTION_KEYS:
            options.fail(key, f"unknown option; [tools] takes {', '.join(OPTION_KEYS)} "
                              "and [tools.NAME] tables")
    _extend_python_path(options, base)
    tools = [
        _tool(name, spec, f"{origin}: tool {name!r}", base)
        for name, spec in table.items()
        if isinstance(spec, dict)
    ]
    return _unique(tools + _builtins(options, base), origin)


def _tool(name: str, table: dict[str, Any], where: str, base: Path) -> ToolDef:
    fields = TableFields(table, where)
    if not TOOL_NAME.fullmatch(name):
        fields.fail("name", "use at most 64 letters, digits, _ . : - (starting with a letter or _)")
    if ("command" in table) == ("target" in table):
        fields.fail("command", "a tool has either command = [...] or target = 'module:function'")
    make = _command_tool if "command" in table else _python_tool
    return make(name, fields, base)


def _command_tool(name: str, fields: TableFields, base: Path) -> ToolDef:
    fields.check_keys(COMMAND_KEYS, kind="command tool")
    params = _declared_params(fields)
    by_name = {p.name: p for p in params}
    try:
        elements = command.parse_template(fields.strings("command") or [], by_name)
    except ValueError as exc:
        fields.fail("command", str(exc))
    executor = command.CommandTool(
        elements,
        by_name,
        timeout=fields.positive("timeout", command.DEFAULT_TIMEOUT_S),
        max_output=int(fields.positive("max_output", command.DEFAULT_MAX_OUTPUT, integer=True)),
        cwd=fields.directory("cwd", base),
        **_env(fields),
    )
    description = fields.text("description") or _missing_description(fields)
    return ToolDef(name, description, params, executor, "command",
                   preflight=executor.argv, **_options(fields))


def _python_tool(name: str, fields: TableFields, base: Path) -> ToolDef:
    fields.check_keys(PYTHON_KEYS, kind="Python tool")
    try:
        func = python.import_target(fields.text("target") or "")
        summary, params = python.describe(func)
    except ValueError as exc:
        fields.fail("target", str(exc))
    executor = python.PythonTool(func, fields.positive("timeout", python.DEFAULT_TIMEOUT_S))
    description = fields.text("description") or summary or _missing_description(fields)
    return ToolDef(name, description, _overridden(params, fields), executor, "python",
                   **_options(fields))


def _env(fields: TableFields) -> dict[str, Any]:
    """``env``: names passed on from voicecli's environment (a list) or values set (a table);
    every other variable stays home (environment.py)."""
    value = fields.table.get("env")
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        names, values = tuple(value), {}
    elif isinstance(value, dict) and all(isinstance(item, str) for item in value.values()):
        names, values = (), dict(value)
    else:
        fields.fail("env", 'must be a list of names (["GIT_DIR"]) or a table of strings '
                           f'({{ NAME = "value" }}), not {value!r}')
    for name in (*names, *values):
        problem = check_env_name(name)
        if problem:
            fields.fail("env", problem)
    return {"env_passed": names, "env_values": values}


def _missing_description(fields: TableFields) -> NoReturn:
    fields.fail("description", "missing: tell the model what the tool does and when to use it")


def _options(fields: TableFields) -> dict[str, Any]:
    behavior = fields.choice("behavior", BEHAVIORS)
    scheduling = fields.choice("scheduling", SCHEDULINGS)
    if scheduling is not None and behavior != "NON_BLOCKING":
        fields.fail("scheduling", 'only applies to tools with behavior = "NON_BLOCKING"')
    return {"behavior": behavior, "scheduling": scheduling, "confirm": fields.flag("confirm")}


def _declared_params(fields: TableFields) -> tuple[Param, ...]:
    table = fields.table_of("parameters")
    required = fields.strings("required") or []
    for name in required:
        if name not in table:
            fields.fail("required", f"{name!r} is not a declared parameter")
    where = fields.where
    return tuple(_param(name, spec, where, name in required) for name, spec in table.items())


def _param(name: str, spec: Any, where: str, required: bool) -> Param:
    fields = TableFields.of(spec, f"{where}: parameter {name!r}")
    if not PARAM_NAME.fullmatch(name):
        fields.fail("name", "use letters, digits and _ (starting with a letter or _)")
    fields.check_keys(PARAM_KEYS, kind="parameter")
    kind = _kind(fields)
    items = _items(fields) if kind == "array" else None
    enum, minimum, maximum = _limits(fields, kind)
    description = fields.text("description") or ""
    return Param(name, kind, description, required, enum, minimum, maximum, items,
                 allow_dash=fields.flag("allow_dash"))


def _kind(fields: TableFields) -> str:
    kind = (fields.text("type") or ("string" if "enum" in fields.table else "")).lower()
    if kind not in PARAM_TYPES:
        fields.fail("type", f"must be one of {', '.join(PARAM_TYPES)}, not {kind or 'missing'}")
    return kind


def _items(fields: TableFields) -> Param:
    raw = fields.table.get("items")
    if raw is None:
        fields.fail("items", 'an array needs items = { type = "string" } (or another scalar)')
    items = TableFields.of({"type": raw} if isinstance(raw, str) else raw, f"{fields.where}: items")
    items.check_keys(ITEM_KEYS, kind="array items")
    kind = _kind(items)
    if kind == "array":
        items.fail("type", "arrays of arrays are not supported")
    return Param("", kind, "", False, *_limits(items, kind))


Limits = tuple[tuple[str, ...] | None, float | None, float | None]  # enum, minimum, maximum


def _limits(fields: TableFields, kind: str) -> Limits:
    enum = fields.strings("enum")
    if enum is not None and (kind != "string" or not enum):
        fields.fail("enum", "only string parameters take an enum, and it needs values")
    bounds = fields.real("minimum"), fields.real("maximum")
    if kind not in ("integer", "number") and bounds != (None, None):
        fields.fail("minimum/maximum", "only integer and number parameters take bounds")
    return (tuple(enum) if enum else None), *bounds


def _overridden(params: tuple[Param, ...], fields: TableFields) -> tuple[Param, ...]:
    """A Python tool's parameters with the TOML ``parameters.NAME`` fields applied."""
    by_name = {p.name: p for p in params}
    for name, spec in fields.table_of("parameters").items():
        if name not in by_name:
            fields.fail("parameters", f"{name!r} is not a parameter of the function")
        override = TableFields.of(spec, f"{fields.where}: parameter {name!r}")
        override.check_keys(OVERRIDE_KEYS, kind="Python parameter override")
        enum, minimum, maximum = _limits(override, by_name[name].type)
        by_name[name] = dataclasses.replace(
            by_name[name],
            description=override.text("description") or by_name[name].description,
            enum=enum or by_name[name].enum,
            minimum=by_name[name].minimum if minimum is None else minimum,
            maximum=by_name[name].maximum if maximum is None else maximum,
        )
    return tuple(by_name.values())


def _builtins(options: TableFields, base: Path) -> list[ToolDef]:
    names = list(dict.fromkeys(options.strings("builtins") or []))
    for name in names:
        if name not in builtins.NAMES:
            options.fail("builtins", f"no built-in {name!r}; they are {', '.join(builtins.NAMES)}")
    root = options.directory("read_file_root", base)
    if "read_file" in names and root is None:
        options.fail("read_file_root", 'read_file needs read_file_root = "<folder to share>"')
    max_bytes = options.positive("read_file_max_bytes", builtins.DEFAULT_MAX_BYTES, integer=True)
    return builtins.builtin_tools(names, root if "read_file" in names else None, int(max_bytes))


def _extend_python_path(options: TableFields, base: Path) -> None:
    """``python_path`` directories go first on sys.path, so Python tools can be imported."""
    for index, _ in enumerate(options.strings("python_path") or []):
        folder = str(options.directory("python_path", base, index=index))
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _unique(tools: list[ToolDef], origin: str) -> list[ToolDef]:
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise ConfigError(f"{origin}: tool {tool.name!r} is defined twice (once as a built-in)")
        seen.add(tool.name)
    return tools
