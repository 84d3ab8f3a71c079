"""`voicecli tools`: every tool a session would declare, where it comes from, and whether it may
run without asking.

Sources: the config file's ``[tools]`` (command, Python and built-in tools), ``--tools FILE``,
and MCP servers (``[mcp.servers.NAME]``, ``--mcp-config FILE``), which are started to list
their tools and stopped again. ALLOWED is what the same flags would give in a session: ``yes``
(runs without asking: ``--allow-tools`` / ``allow_tools``), ``asks`` (talk asks before each
call; ask, batch and talk --json refuse it), ``no`` (an MCP server that did not start, or a
tool whose schema Live cannot take). A plain aligned table, or NDJSON with ``--json``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from voicecli.cli.options import ConfigPath, settings_from_flags
from voicecli.cli.output import notice
from voicecli.cli.tool_options import AllowTools, McpConfig, ToolsFile, tool_use_from_flags
from voicecli.tools import ToolDef, ToolUse, session_tools

COLUMNS = ("name", "source", "kind", "allowed", "description")
MAX_DESCRIPTION = 60


def tools(
    tools_file: ToolsFile = None,
    mcp_config: McpConfig = None,
    allow_tools: AllowTools = None,
    config: ConfigPath = None,
    json_out: Annotated[bool, typer.Option("--json", help="NDJSON, one tool per line.")] = False,
) -> None:
    """List every tool (declared, built-in, MCP), where it comes from and whether it is allowed.

    MCP servers are started to list their tools, then stopped.
    """
    settings = settings_from_flags(config)
    use = tool_use_from_flags(settings, tools_file, allow_tools, mcp_config)
    rows = asyncio.run(_rows(use))
    if json_out:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        print("No tools: declare some in the config file's [tools] or [mcp.servers.NAME], "
              "or give --tools FILE / --mcp-config FILE (see config.example.toml).")
        return
    print(render_table(rows))
    print("allowed: yes = runs without asking; asks = talk asks before each call, ask and "
          "batch refuse it (--allow-tools NAME, NAME* or all allows it); no = not available.")


async def _rows(use: ToolUse) -> list[dict[str, Any]]:
    async with session_tools(use, notice) as ready:
        rows = [tool_row(tool, ready) for tool in ready.tools]
        return rows + [{"name": name, "source": source, "kind": "mcp", "allowed": "no",
                        "description": why} for name, source, why in ready.unavailable]


def tool_row(tool: ToolDef, use: ToolUse) -> dict[str, Any]:
    source = tool.source or "config file"
    return {
        "name": tool.name,
        "source": f"built-in, in {source}" if tool.kind == "builtin" else source,
        "kind": tool.kind,
        "allowed": "yes" if use.policy.allows(tool) else "asks",
        "description": tool.description,
    }


def render_table(rows: list[dict[str, Any]]) -> str:
    cells = [{c: _cell(row, c) for c in COLUMNS} for row in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in COLUMNS}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(row: dict[str, Any], column: str) -> str:
    text = " ".join(str(row[column]).split())
    if column == "description" and len(text) > MAX_DESCRIPTION:
        return text[:MAX_DESCRIPTION - 1] + "…"
    return text
