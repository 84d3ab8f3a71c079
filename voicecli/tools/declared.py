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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.tools.load import load_tools_file, tools_from_config
from voicecli.tools.policy import AllowPolicy
from voicecli.tools.spec import ToolDef


@dataclass(frozen=True)
class ToolUse:
    """What the user declared for this run and which calls may run without asking."""

    tools: tuple[ToolDef, ...] = ()
    policy: AllowPolicy = field(default_factory=AllowPolicy)
    replaced: tuple[str, ...] = ()  # config tools a --tools file redefined

    def __bool__(self) -> bool:
        return bool(self.tools)


def tool_use(
    *,
    config: Mapping[str, Any] | None = None,
    config_path: Path | None = None,
    tools_file: Path | None = None,
    allow: str | None = None,
    allow_config: str | None = None,
) -> ToolUse:
    """`config`: the config file's ``[tools]`` table; `allow`: ``--allow-tools``."""
    from_config: list[ToolDef] = []
    if config is not None:
        origin = f"config file {config_path}" if config_path else "config file"
        base = config_path.parent if config_path else None
        from_config = tools_from_config({"tools": config}, origin=origin, base_dir=base)
    from_file = load_tools_file(tools_file) if tools_file is not None else []
    tools, replaced = merge(from_config, from_file)
    return ToolUse(tuple(tools), _policy(tools, allow, allow_config), tuple(replaced))


def merge(base: list[ToolDef], override: list[ToolDef]) -> tuple[list[ToolDef], list[str]]:
    """`base` with each same-named tool replaced by `override`'s (in `base`'s place), then the
    rest of `override`; and the names replaced."""
    overriding = {tool.name: tool for tool in override}
    merged = [overriding.get(tool.name, tool) for tool in base]
    replaced = [tool.name for tool in base if tool.name in overriding]
    merged += [tool for tool in override if tool.name not in replaced]
    return merged, replaced


def _policy(tools: list[ToolDef], allow: str | None, allow_config: str | None) -> AllowPolicy:
    if allow is not None:
        policy = AllowPolicy.parse(allow)
        policy.check_names(tools)  # a ConfigError naming the unknown tool
        return policy
    policy = AllowPolicy.parse(allow_config)
    declared = {tool.name for tool in tools}
    return AllowPolicy(all=policy.all, names=policy.names & declared)
