"""The NDJSON event stream: one JSON object per line with a `type` (README "NDJSON events").

This is a public contract other tools parse; change it only by adding fields.
"""

from __future__ import annotations

import json
from typing import Any

from voicecli.client.live import Reconnected, Reconnecting
from voicecli.client.usage import usage_fields
from voicecli.errors import VoicecliError
from voicecli.protocol import events as ev
from voicecli.protocol.grounding import search_queries, web_sources
from voicecli.protocol.messages import UsageMetadata
from voicecli.tools.runner import ToolEvent


def usage_json(usage: UsageMetadata | None) -> dict[str, Any] | None:
    """Counts, plus `prompt_by_modality` / `response_by_modality` ({"audio": n, …}, §4.7)."""
    return None if usage is None else usage_fields(usage)


def event_json(event: object, *, audio_ms: float | None = None) -> dict[str, Any] | None:
    """The NDJSON object for a session event, or None for events the stream does not carry."""
    match event:
        case ev.SetupComplete():
            return {"type": "setup_complete", "session_id": event.session_id}
        case ev.InputTranscript():
            return {"type": "input_transcript", "text": event.text}
        case ev.InterimInputTranscript():
            return {"type": "interim_transcript", "text": event.text}
        case ev.OutputTranscript():
            return {"type": "output_transcript", "text": event.text}
        case ev.ModelText():
            return {"type": "text", "text": event.text}
        case ev.Thought():
            return {"type": "thought", "text": event.text}
        case ev.ModelAudio():
            ms = audio_ms if audio_ms is not None else len(event.data) / 2 / event.rate * 1000
            return {"type": "audio", "bytes": len(event.data), "ms": round(ms, 1)}
        case ev.ToolCallRequested():
            return _tool_call_json(event)
        case ev.ToolCallCancelled():
            return {"type": "tool_cancel", "ids": list(event.ids)}
        case ev.Grounding():
            return grounding_json(event.metadata)
        case ev.ExecutableCode():
            return {"type": "executable_code", "language": event.language, "code": event.code}
        case ev.CodeExecutionResult():
            return {"type": "code_execution_result", "outcome": event.outcome,
                    "output": event.output}
        case ev.Interrupted():
            return {"type": "interrupted"}
        case ev.GenerationComplete():
            return {"type": "generation_complete"}
        case ev.GoAway():
            return {"type": "go_away", "time_left_s": event.time_left_s}
        case ev.Usage():
            return {"type": "usage", **(usage_json(event.usage) or {})}
        case ev.ResumptionUpdate():
            return {"type": "resumption", "resumable": event.resumable}
        case Reconnecting():
            return {"type": "reconnect", "attempt": event.attempt, "reason": event.reason}
        case Reconnected():
            return _reconnected_json(event)
    return None


def _reconnected_json(event: Reconnected) -> dict[str, Any]:
    """What the resumed connection got again (§5.6): the cut is said once, here."""
    out: dict[str, Any] = {"type": "reconnected", "attempt": event.attempt,
                           "resumed": event.resumed, "replayed": event.replayed}
    if event.reply_cut:
        out["reply_cut"] = True
    if event.dropped_audio_ms:
        out["dropped_audio_ms"] = round(event.dropped_audio_ms, 1)
    return out


def _tool_call_json(event: ev.ToolCallRequested) -> dict[str, Any]:
    calls = [{"id": c.id, "name": c.name, "args": c.args or {}} for c in event.calls]
    first: dict[str, Any] = {"type": "tool_call", **(calls[0] if calls else {})}
    if len(calls) > 1:  # parallel calls (§4.3): the first's fields, and all of them in `calls`
        first["calls"] = calls
    return first


def grounding_json(metadata: dict[str, Any]) -> dict[str, Any]:
    """§4.2 groundingMetadata: the search queries and the web sources (title, uri)."""
    return {"type": "grounding", "queries": search_queries(metadata),
            "sources": [source.to_json() for source in web_sources(metadata)]}


def tool_event_json(event: ToolEvent) -> dict[str, Any] | None:
    """A finished or cancelled call (its `tool_call` came from the wire event)."""
    if event.phase == "started":
        return None
    out: dict[str, Any] = {"type": "tool_result", "id": event.id, "name": event.name}
    if event.phase == "cancelled":
        out["cancelled"] = True  # §4.4: killed, and no response was sent
    else:
        out["response"] = event.response
        if event.error is not None:
            out["error"] = event.error
    if event.duration_s is not None:
        out["duration_ms"] = round(event.duration_s * 1000, 1)
    return out


def turn_complete_json(
    event: ev.TurnComplete, usage: UsageMetadata | None, latency_ms: float | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "turn_complete", "usage": usage_json(usage)}
    out["latency_ms"] = None if latency_ms is None else round(latency_ms, 1)
    if event.reason:
        out["reason"] = event.reason
    return out


def error_json(error: VoicecliError) -> dict[str, Any]:
    return {"type": "error", "code": error.code, "message": str(error)}


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
