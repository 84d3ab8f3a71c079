"""The tools of one run: the config file's ``[tools]`` table and ``--tools FILE``, merged.

What: `tool_use(...)` loads both sources and the allow list into one `ToolUse` that the
commands hand to the setup (declarations) and to the `ToolRunner` (policy).

Why these rules:

* A tool defined in both places: the ``--tools`` file wins and its definition replaces the
  config's whole definition (nothing is merged field by field), like every flag beats the config
  file. The names are kept in `ToolUse.replaced` so the command can say so on stderr.
* ``--allow-tools`` replaces the config's ``allow_tools`` (it does not add to it). Names given
  on the command line must name a declared tool (a typo would otherwise silently refuse every
  call); names in the config that match no declared tool are ignored, because the config may
  allow a tool of a ``--tools`` file that is not given on this run.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from voicecli.tools.load import load_tools_file, tools_from_config
from voicecli.tools.mcp_config import (
    McpServerSpec,
    load_mcp_config_file,
    merge_servers,
    servers_from_config,
)
from voicecli.tools.mcp_tools import McpTools, open_mcp_tools, tool_prefix, with_sources
from voicecli.tools.policy import AllowPolicy
from voicecli.tools.spec import ToolDef


@dataclass(frozen=True)
class ToolUse:
    """What the user declared for this run and which calls may run without asking."""

    tools: tuple[ToolDef, ...] = ()
    policy: AllowPolicy = field(default_factory=AllowPolicy)
    replaced: tuple[str, ...] = ()  # config tools a --tools file redefined
    #: MCP servers still to start (`session_tools` starts them and adds their tools)
    mcp_servers: tuple[McpServerSpec, ...] = ()
    explicit_allow: bool = False  # the allow list came from --allow-tools (checked strictly)
    #: what could not be had from MCP, for `voicecli tools`: (name, source, why)
    unavailable: tuple[tuple[str, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tools) or bool(self.mcp_servers)

    def with_mcp(self, found: McpTools) -> ToolUse:
        """The started servers' tools added; allowed names of MCP tools checked now that the
        tools are known (a name of a server that did not start is dropped: that server's
        failure is already on stderr)."""
        tools = (*self.tools, *found.tools)
        failed = tuple(tool_prefix(name) for name in found.failed)
        names = frozenset(n for n in self.policy.names if not (failed and n.startswith(failed)))
        policy = AllowPolicy(self.policy.all, names)
        if self.explicit_allow:
            policy.check_names(tools)
        else:
            policy = policy.known({tool.name for tool in tools})
        unavailable = [(name, f"MCP server {name}", f"did not start: {why}")
                       for name, why in found.failed.items()]
        unavailable += [(tool, f"MCP server {server}", f"skipped: {why}")
                        for tool, server, why in found.skipped]
        return replace(self, tools=tools, policy=policy, mcp_servers=(),
                       unavailable=tuple(unavailable))


@contextlib.asynccontextmanager
async def session_tools(
    use: ToolUse, notify: Callable[[str], None] | None = None
) -> AsyncIterator[ToolUse]:
    """`use` with its MCP servers started (and stopped when the block ends); see mcp_tools.py.
    Every command that opens a Live session runs inside one of these."""
    if not use.mcp_servers:
        yield use
        return
    reserved = {tool.name for tool in use.tools}
    async with open_mcp_tools(use.mcp_servers, notify, reserved=reserved) as found:
        yield use.with_mcp(found)


def tool_use(
    *,
    config: Mapping[str, Any] | None = None,
    config_path: Path | None = None,
    tools_file: Path | None = None,
    allow: str | None = None,
    allow_config: str | None = None,
    mcp_config: Mapping[str, Any] | None = None,
    mcp_file: Path | None = None,
) -> ToolUse:
    """`config`: the config file's ``[tools]`` table; `allow`: ``--allow-tools``;
    `mcp_config`: its ``[mcp]`` table; `mcp_file`: ``--mcp-config FILE`` (mcp_config.py)."""
    origin = f"config file {config_path}" if config_path else "config file"
    base = config_path.parent if config_path else None
    from_config: list[ToolDef] = []
    if config is not None:
        from_config = with_sources(
            tools_from_config({"tools": config}, origin=origin, base_dir=base), origin)
    from_file = with_sources(load_tools_file(tools_file), str(tools_file)) if tools_file else []
    tools, replaced = merge(from_config, from_file)
    servers = merge_servers(
        servers_from_config(mcp_config, origin=origin, base_dir=base),
        load_mcp_config_file(mcp_file) if mcp_file is not None else [])
    pending = tuple(tool_prefix(server.name) for server in servers)
    return ToolUse(tuple(tools), _policy(tools, allow, allow_config, pending), tuple(replaced),
                   tuple(servers), explicit_allow=allow is not None)


def merge(base: list[ToolDef], override: list[ToolDef]) -> tuple[list[ToolDef], list[str]]:
    """`base` with each same-named tool replaced by `override`'s (in `base`'s place), then the
    rest of `override`; and the names replaced."""
    overriding = {tool.name: tool for tool in override}
    merged = [overriding.get(tool.name, tool) for tool in base]
    replaced = [tool.name for tool in base if tool.name in overriding]
    merged += [tool for tool in override if tool.name not in replaced]
    return merged, replaced


def _policy(tools: list[ToolDef], allow: str | None, allow_config: str | None,
            pending: tuple[str, ...] = ()) -> AllowPolicy:
    """MCP tool names (`pending` prefixes) are checked once their servers have started."""
    if allow is not None:
        policy = AllowPolicy.parse(allow)
        policy.check_names(tools, pending)  # a ConfigError naming the unknown tool
        return policy
    policy = AllowPolicy.parse(allow_config)
    declared = {tool.name for tool in tools}
    kept = {n for n in policy.names if n in declared or (pending and n.startswith(pending))}
    return AllowPolicy(all=policy.all, names=frozenset(kept))
