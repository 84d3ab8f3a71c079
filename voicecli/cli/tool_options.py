"""The tool-use flags of `talk`, `ask`, `batch` (and `translate`), and how they become a
`ToolUse`.

``--tools FILE`` adds to the config file's ``[tools]`` (a same-named tool in FILE replaces the
config's, see voicecli/tools/declared.py), ``--allow-tools`` replaces the config's
``allow_tools``, ``--search`` / ``--code-execution`` override ``google_search`` /
``code_execution``, ``--mcp-config FILE`` adds to the config's ``[mcp.servers]`` (a server of
FILE replaces the config's server of the same name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voicecli.cli.output import notice
from voicecli.settings import Settings
from voicecli.tools import ToolUse, tool_use

TOOLS = "Tools"

ToolsFile = Annotated[
    Path | None,
    typer.Option("--tools", help="Declare the tools of this TOML file (the layout of the "
                 "config file's tools table; see config.example.toml).", rich_help_panel=TOOLS),
]
AllowTools = Annotated[
    str | None,
    typer.Option("--allow-tools", help="Tools that run without asking: all | name,name "
                 "(confirm = true tools still ask unless named).", rich_help_panel=TOOLS),
]
McpConfig = Annotated[
    Path | None,
    typer.Option("--mcp-config", help='Use the MCP servers of this JSON file ({"mcpServers": '
                 '{...}}, as desktop AI apps write it) as tools; adds to the config file\'s '
                 "[mcp.servers].", rich_help_panel=TOOLS),
]
Search = Annotated[
    bool | None,
    typer.Option("--search/--no-search", help="Ground replies with Google Search; sources are "
                 "listed under the reply.", rich_help_panel=TOOLS, show_default=False),
]
CodeExecution = Annotated[
    bool | None,
    typer.Option("--code-execution/--no-code-execution", help="Let the model run code on the "
                 "service (models that support it).", rich_help_panel=TOOLS, show_default=False),
]


def tool_use_from_flags(settings: Settings, tools_file: Path | None,
                        allow: str | None, mcp_file: Path | None = None) -> ToolUse:
    """The run's tools: the config's [tools] and `tools_file`, the config's [mcp] servers and
    `mcp_file`'s (started with the session); a note on stderr for replaced config tools."""
    use = tool_use(config=settings.tools, config_path=settings.config_path,
                   tools_file=tools_file, allow=allow, allow_config=settings.allow_tools,
                   mcp_config=settings.mcp, mcp_file=mcp_file)
    if use.replaced:
        notice(f"voicecli: {tools_file} replaces the config file's tool(s) "
               f"{', '.join(use.replaced)}")
    return use
