"""The ``tools`` of the setup message (§3.1.4): declared functions, Google Search, code execution.

What: `setup_tools(...)` gives the `Tool` entries for `Setup.tools`, one per kind, in the order
functions, googleSearch, codeExecution. Why here and not in voicecli.tools: Search and code
execution are the service's own tools, chosen by settings (``--search``, ``--code-execution``),
not tools voicecli runs.

`behavior` is declared only for models that accept NON_BLOCKING functions (§5.5, §7); for a
model voicecli does not know, it is sent as the user wrote it (unknown models are sent
unchecked, like every other field). Whether googleSearch / codeExecution suit the model is
checked by `check_setup` (models.py), which refuses before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from voicecli.protocol.messages import Tool
from voicecli.protocol.models import ModelInfo, model_info
from voicecli.tools.spec import ToolDef, setup_tool


def setup_tools(
    model: str, tools: Iterable[ToolDef], *, google_search: bool, code_execution: bool
) -> list[Tool] | None:
    """The setup's tools, or None when there are none (the field is then left out)."""
    entries: list[Tool] = []
    functions = setup_tool(tools, accepts_behavior(model_info(model)))
    if functions is not None:
        entries.append(functions)
    if google_search:
        entries.append(Tool(google_search={}))
    if code_execution:
        entries.append(Tool(code_execution={}))
    return entries or None


def accepts_behavior(info: ModelInfo | None) -> bool:
    """May FunctionDeclaration.behavior be sent (True for models voicecli does not know)?"""
    return info is None or info.non_blocking_functions


def accepts_scheduling(info: ModelInfo | None) -> bool:
    """May FunctionResponse.scheduling be sent (§3.4; True for unknown models)?"""
    return info is None or info.scheduling


def runs_in_background(tool: ToolDef | None, info: ModelInfo | None) -> bool:
    """Does the model treat calls of `tool` as NON_BLOCKING (declared, or the model's default,
    like gemini-3.8-live's, §3.1.4)? Unknown tools and models: blocking."""
    if tool is None or not accepts_behavior(info):
        return False
    default = info.default_function_behavior if info is not None else "BLOCKING"
    return (tool.behavior or default) == "NON_BLOCKING"
