"""Client-side function calling: tools the user declares, the model calls, voicecli runs.

Live has no automatic function calling (§3.1.4): the client answers every toolCall (§4.3) with
a toolResponse (§3.4). This package declares the user's tools in the setup, checks and runs the
model's calls under the user's policy, and builds the answers. It is a library: commands wire
it in (`declarations` / `setup_tool` into `Setup.tools`, `ToolRunner` on ToolCallRequested and
ToolCallCancelled events).

Format, in the config file or in ``--tools tools.toml``::

    [tools]
    builtins = ["current_time", "read_file"]   # opt-in built-ins (builtins.py)
    read_file_root = "~/notes"                 # the only folder read_file may read
    python_path = ["~/voicecli-tools"]         # where Python tool modules are imported from

    [tools.git_log]                            # a command tool (command.py): never a shell
    description = "Show recent commits"
    command = ["git", "log", "--oneline", "-n", "{count}", "--author={author}"]
    parameters.count = { type = "integer", description = "How many", minimum = 1, maximum = 50 }
    parameters.author = { type = "string", description = "Only commits by this author" }
    required = ["count"]                       # "--author={author}" is dropped when absent
    timeout = 10                               # seconds (default 30); then the group is killed
    max_output = 16000                         # bytes of stdout / stderr kept (default 16000)
    cwd = "~/src/project"

    [tools.weather]                            # a Python tool (python.py): schema from the
    target = "my_tools.weather:get_weather"    # signature and docstring, overridable here
    behavior = "NON_BLOCKING"                  # sent only to models that accept it (§7)
    scheduling = "WHEN_IDLE"                   # INTERRUPT | WHEN_IDLE | SILENT (§3.4)
    confirm = true                             # ask the user before each call (policy.py)
    parameters.city = { description = "City and country, like Paris, France" }

Parameter types: ``string`` (optionally ``enum = [...]``), ``integer`` and ``number``
(optionally ``minimum`` / ``maximum``), ``boolean``, ``array`` with ``items = { type = ... }``.
In a command, an array argument repeats its element once per item (``"{files}"`` → one argv
element per file, ``"--tag={tags}"`` → ``--tag=a --tag=b``); see command.py for every rule.
Tool names: letters, digits, ``_ . : -``, at most 64, starting with a letter or ``_`` (§3.1.4).

The commands (talk, ask, batch) merge the config file's ``[tools]`` with ``--tools FILE`` and
the allow list with `tool_use` (declared.py: a same-named tool in FILE replaces the config's),
put the declarations in the setup through voicecli/client/setup.py, and answer calls through
voicecli/client/tool_calls.py (`ToolCalls`: each toolCall in a task of its own).

MCP servers (``[mcp.servers.NAME]`` in the config, ``--mcp-config FILE``; mcp_config.py) are
tools too: `session_tools(use)` starts them for the session and adds their tools, which then
go through the same policy, confirm prompts and runner as every other tool (mcp_tools.py).

Use::

    tools = load_tools_file("tools.toml")            # or tools_from_config(toml_document)
    if (tool := setup_tool(tools, info.non_blocking_functions)) is not None:
        setup.tools = [tool]
    runner = ToolRunner(tools, policy=AllowPolicy.parse("git_log,weather"),
                        confirm=ask_user, on_event=log_event,
                        model_supports_behavior=info.non_blocking_functions)
    responses = await runner.run(event.calls)        # in a task of its own; send if non-empty
    await runner.cancel(event.ids)                   # on ToolCallCancelled
"""

from __future__ import annotations

from voicecli.tools.declared import ToolUse, session_tools, tool_use
from voicecli.tools.load import load_tools_file, tools_from_config
from voicecli.tools.policy import AllowPolicy, Confirm
from voicecli.tools.runner import ToolEvent, ToolRunner
from voicecli.tools.spec import (
    ArgumentError,
    Param,
    ToolDef,
    ToolError,
    declaration,
    declarations,
    setup_tool,
    validate_args,
)

__all__ = [
    "AllowPolicy",
    "ArgumentError",
    "Confirm",
    "Param",
    "ToolDef",
    "ToolError",
    "ToolEvent",
    "ToolRunner",
    "ToolUse",
    "declaration",
    "declarations",
    "load_tools_file",
    "session_tools",
    "setup_tool",
    "tool_use",
    "tools_from_config",
    "validate_args",
]
