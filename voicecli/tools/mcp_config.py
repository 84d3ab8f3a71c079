"""Which MCP servers a run uses: ``[mcp.servers.NAME]`` in the config and ``--mcp-config FILE``.

What: `servers_from_config` reads the config file's ``[mcp]`` table, `load_mcp_config_file`
reads the ``{"mcpServers": {...}}`` JSON that desktop AI apps write (Claude Desktop, Cursor,
Windsurf, Cline; VS Code's ``{"servers": {...}}`` too), and `merge_servers` puts them
together (a server of FILE replaces the config's server of the same name). No ``mcp`` import
here: parsing works without the ``[mcp]`` extra, so a mistake is reported the same either way.

Config layout::

    [mcp.servers.files]                 # a stdio server: a program voicecli starts
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "~/notes"]
    env = { LOG_LEVEL = "warn", GITHUB_TOKEN = "${GITHUB_TOKEN}" }   # ${NAME}: from voicecli's
    cwd = "~/notes"                                                   # own environment
    timeout = 60                        # seconds per call (default 60); then it is cancelled
    start_timeout = 30                  # seconds to start and list its tools (default 30)
    confirm = true                      # ask before every call, even with --allow-tools all

    [mcp.servers.tracker]               # a streamable HTTP server
    url = "http://127.0.0.1:8931/mcp"
    headers = { Authorization = "Bearer ${TRACKER_TOKEN}" }

Why strict for TOML and lenient for JSON: the TOML is voicecli's own file, so an unknown key is a
typo and an error; the JSON is usually shared with another app, whose own keys
(``alwaysAllow``, ``autoApprove``, ...) are ignored. ``"disabled": true`` skips a server in
both. Every mistake is one `ConfigError` line naming the file, the server and the field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from voicecli.errors import ConfigError
from voicecli.tools.table_fields import TableFields

DEFAULT_CALL_TIMEOUT_S = 60.0
DEFAULT_START_TIMEOUT_S = 30.0
SERVER_KEYS = ("command", "args", "env", "cwd", "url", "headers", "type", "timeout",
               "start_timeout", "confirm", "disabled")
HTTP_TYPES = ("http", "streamable-http", "streamable_http", "streamableHttp")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class McpServerSpec:
    """One MCP server: a program to start (`command`) or a streamable HTTP `url`."""

    name: str
    origin: str  # where it was defined, for messages: "config file ~/x.toml", "mcp.json"
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # the configured variables, on top of the allow-list
    cwd: Path | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = DEFAULT_CALL_TIMEOUT_S
    start_timeout: float = DEFAULT_START_TIMEOUT_S
    confirm: bool = False

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    @property
    def where(self) -> str:
        """What it is, for `voicecli tools`: ``stdio: npx -y …`` or the URL."""
        if self.command is not None:
            return "stdio: " + " ".join([self.command, *self.args])
        return f"http: {self.url}"


def servers_from_config(
    table: Mapping[str, Any] | None, *, origin: str = "config file", base_dir: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[McpServerSpec]:
    """The servers of the config file's ``[mcp]`` table (none without one)."""
    if table is None:
        return []
    fields = TableFields(dict(table), f"{origin}: [mcp]", strict=True)
    fields.check_keys(("servers",))
    servers = fields.table_of("servers")
    return _servers(servers, origin, base_dir or Path.cwd(), strict=True, environ=environ)


def load_mcp_config_file(
    path: Path | str, environ: Mapping[str, str] = os.environ
) -> list[McpServerSpec]:
    """The servers of a ``{"mcpServers": {...}}`` JSON file (``--mcp-config FILE``)."""
    path = Path(path).expanduser()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--mcp-config: {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"--mcp-config: {path} is a folder, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--mcp-config: cannot read {path}: {type(exc).__name__}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--mcp-config: {path} is not valid JSON: {exc.msg} "
                          f"(line {exc.lineno}, column {exc.colno})") from None
    key = next((k for k in ("mcpServers", "servers") if isinstance(document, dict)
                and k in document), None)
    if key is None:
        raise ConfigError(f"--mcp-config: {path} has no \"mcpServers\" object "
                          '(expected {"mcpServers": {"name": {"command": ...}}})')
    if not isinstance(document[key], dict):
        raise ConfigError(f"--mcp-config: {path}: \"{key}\" must be an object of servers")
    return _servers(document[key], f"--mcp-config: {path}", path.parent, strict=False,
                    environ=environ)


def merge_servers(
    base: list[McpServerSpec], override: list[McpServerSpec]
) -> list[McpServerSpec]:
    """`base` with same-named servers replaced by `override`'s, then the rest of `override`."""
    by_name = {server.name: server for server in override}
    merged = [by_name.pop(server.name, server) for server in base]
    return merged + list(by_name.values())


def _servers(table: Mapping[str, Any], origin: str, base: Path, *, strict: bool,
             environ: Mapping[str, str]) -> list[McpServerSpec]:
    servers: list[McpServerSpec] = []
    for name, spec in table.items():
        where = f"{origin}: MCP server {name!r}"
        fields = TableFields.of(spec, where, strict)
        if fields.flag("disabled"):
            continue
        servers.append(_server(str(name), fields, origin, base, environ))
    return servers


def _server(name: str, fields: TableFields, origin: str, base: Path,
            environ: Mapping[str, str]) -> McpServerSpec:
    fields.check_keys(SERVER_KEYS, kind="server")
    if not name or not name.strip():
        fields.fail("name", "a server needs a name")
    command, url = fields.text("command"), fields.text("url")
    kind = fields.text("type")
    if (command is None) == (url is None):
        fields.fail("command", 'a server has either "command" (stdio) or "url" (streamable HTTP)')
    if kind is not None and kind not in ("stdio", *HTTP_TYPES):
        fields.fail("type", f"{kind!r} is not supported; use stdio or http (streamable HTTP; "
                            "the older SSE transport is not supported)")
    if url is not None:
        _check_url(fields, url)
    elif not (command or "").strip():
        fields.fail("command", "must name a program")
    return McpServerSpec(
        name=name,
        origin=origin,
        command=command,
        args=tuple(fields.strings("args") or ()),
        env=_expanded(fields, "env", environ),
        cwd=fields.directory("cwd", base),
        url=url,
        headers=_expanded(fields, "headers", environ),
        timeout=float(fields.positive("timeout", DEFAULT_CALL_TIMEOUT_S, unit=" of seconds")),
        start_timeout=float(fields.positive("start_timeout", DEFAULT_START_TIMEOUT_S,
                                                  unit=" of seconds")),
        confirm=fields.flag("confirm"),
    )


def _check_url(fields: TableFields, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        fields.fail("url", f"must be an http:// or https:// URL, not {url!r}")


def _expanded(fields: TableFields, key: str,
              environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A string table with ``${NAME}`` replaced from voicecli's environment."""
    table = fields.table_of(key)
    pairs: list[tuple[str, str]] = []
    for name, value in table.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            fields.fail(key, f"{name}: must be a string, not {value!r}")

        def variable(match: re.Match[str], name: str = name) -> str:
            found = environ.get(match.group(1))
            if found is None:
                fields.fail(key, f"{name}: ${{{match.group(1)}}} is not set in the environment")
            return found

        pairs.append((str(name), _VARIABLE.sub(variable, str(value))))
    return tuple(pairs)
