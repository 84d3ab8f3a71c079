"""Which tool calls may run: ``--allow-tools`` plus per-tool ``confirm = true``.

Why: the model decides to call a tool from what it heard; the user decides whether it runs.
The rules, in order:

1. A tool named in ``--allow-tools`` runs without asking (the user allowed it by name).
2. ``--allow-tools all`` lets every tool run without asking, except ``confirm = true`` tools;
   a name ending in ``*`` does the same for the tools whose names start with the rest
   (``files__*``: every tool of the MCP server ``files``).
3. Otherwise, with a confirm callback (an interactive UI), the user is asked for this call.
4. Otherwise (non-interactive: no callback) the call is refused, and the model is told the user
   did not allow it: ``{"error": "not allowed: ..."}``.

So without ``--allow-tools`` an interactive run asks before every call and a script runs none;
``confirm = true`` tools are asked about every time unless named explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from voicecli.errors import ConfigError
from voicecli.tools.spec import ToolDef

log = logging.getLogger("voicecli.tools")

#: ``await confirm(tool_name, args)`` → True to run this call
Confirm = Callable[[str, dict[str, Any]], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class AllowPolicy:
    """The tools the user allowed up front (``--allow-tools``)."""

    all: bool = False
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> AllowPolicy:
        """``None`` (nothing), ``"all"``, ``"a,b"`` or ``["a", "b"]``."""
        if value is None:
            return cls()
        items = value.split(",") if isinstance(value, str) else list(value)
        names = frozenset(item.strip() for item in items if item.strip())
        if "all" in names:
            return cls(all=True, names=names - {"all"})
        return cls(names=names)

    def check_names(self, tools: Iterable[ToolDef], pending: Iterable[str] = ()) -> None:
        """A ConfigError for a name in ``--allow-tools`` that no declared tool has (a pattern:
        that matches none). Names starting with a `pending` prefix are not checked (the tools
        of MCP servers not started yet)."""
        names = {tool.name for tool in tools}
        prefixes = tuple(pending)
        unknown = sorted(n for n in self.names if not _matches(n, names)
                         and not (prefixes and n.startswith(prefixes)))
        if unknown:
            raise ConfigError(f"--allow-tools: no tool named {', '.join(unknown)}")

    def allows(self, tool: ToolDef) -> bool:
        if tool.name in self.names:
            return True
        pattern = any(n.endswith("*") and tool.name.startswith(n[:-1]) for n in self.names)
        return (self.all or pattern) and not tool.confirm

    def known(self, names: set[str]) -> AllowPolicy:
        """This policy without the names (and patterns) that match none of `names`."""
        return AllowPolicy(self.all, frozenset(n for n in self.names if _matches(n, names)))


def _matches(name: str, names: set[str]) -> bool:
    if name.endswith("*"):
        return any(n.startswith(name[:-1]) for n in names)
    return name in names


async def refusal(
    policy: AllowPolicy, tool: ToolDef, args: dict[str, Any], confirm: Confirm | None
) -> str | None:
    """None when the call may run, else the error text for the model."""
    if policy.allows(tool):
        return None
    if confirm is None:
        return (f"not allowed: the user did not allow the tool {tool.name!r} to run "
                f"(it needs --allow-tools {tool.name})")
    try:
        accepted = await confirm(tool.name, args)
    except Exception:
        log.exception("the confirm callback failed for %s", tool.name)
        accepted = False
    return None if accepted else f"not allowed: the user declined to run {tool.name!r} now"
