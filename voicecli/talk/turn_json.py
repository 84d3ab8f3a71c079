"""The NDJSON `turn` record of a finished turn (talk --json, --record)."""

from __future__ import annotations

from typing import Any

from voicecli.talk.tools import turn_tools_json
from voicecli.ui.state import TurnView


def turn_json(turn: TurnView) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "turn", "user": turn.user, "model": turn.model,
                           "interrupted": turn.interrupted}
    if turn.typed:
        out["typed"] = True
    if turn.connection_lost:
        out["connection_lost"] = True
    if turn.reply_cut:
        out["reply_cut"] = True
    if turn.thoughts:
        out["thoughts"] = turn.thoughts
    if turn.interrupted:
        out["heard_ms"] = round(turn.heard_ms, 1)
        out["received_ms"] = round(turn.received_ms, 1)
    if turn.latency_ms is not None:
        out["latency_ms"] = round(turn.latency_ms, 1)
    if turn.tools:
        out["tools"] = turn_tools_json(turn.tools)
    if turn.sources:
        out["sources"] = [{"title": title, "uri": uri} for title, uri in turn.sources]
    if turn.usage.reports:
        out["usage"] = turn.usage.to_json()
    return out


__all__ = ["turn_json"]
