"""Tool calls inside one `ask` (or batch) reply: when the reply is whole, and reporting calls.

Why a reply can span several model turns: a NON_BLOCKING call (the default on gemini-3.8-live,
§3.1.4) lets the model finish its turn ("I am calling …") before the result exists; the result,
sent later, makes the model speak again in a new turn (§3.4 WHEN_IDLE / INTERRUPT). So the
answer is complete at a turnComplete only when no call is still running and every such result
has had a turn that started after it was sent. If the model chooses to stay silent about a
result, `ask` stops waiting after `FOLLOW_UP_S` rather than failing.

Every finished or cancelled call is reported: as a `tool_result` NDJSON event, or as a line on
stderr, and kept for the answer (batch results record it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from voicecli.client.ndjson import tool_event_json
from voicecli.client.tool_calls import ToolCalls
from voicecli.protocol import events as ev
from voicecli.tools import ToolEvent
from voicecli.tools.runner import summary

FOLLOW_UP_S = 20.0  # how long a result may go unanswered before the reply counts as whole

#: model output of a turn: the first of these opens it (for the follow-up rule above)
_TURN_CONTENT = (ev.ModelText, ev.ModelAudio, ev.OutputTranscript, ev.ToolCallRequested,
                 ev.ExecutableCode, ev.CodeExecutionResult, ev.Grounding, ev.Interrupted,
                 ev.GenerationComplete)


class ReplyTracker:
    """Decides whether the reply is whole (see the module docstring): at each turnComplete, and
    again whenever the last running call is answered after the model's turn had ended."""

    def __init__(self, calls: ToolCalls | None) -> None:
        self.calls = calls
        self._turn_started: float | None = None
        self._last_turn_started: float | None = None
        self._between_turns = False  # a turnComplete came and no model output since

    def saw(self, event: object) -> None:
        if self._turn_started is None and isinstance(event, _TURN_CONTENT):
            self._turn_started = time.monotonic()
            self._between_turns = False

    def turn_complete(self) -> bool:
        """True when nothing more belongs to this reply."""
        started = self._turn_started if self._turn_started is not None else time.monotonic()
        self._turn_started = None
        self._last_turn_started = started
        self._between_turns = True
        return self.whole()

    def whole(self) -> bool:
        """The model's turn has ended, no call is running, and no result awaits its turn."""
        if not self._between_turns or self.calls_running():
            return False
        started = self._last_turn_started
        return started is None or not self._result_unanswered(started)

    def calls_running(self) -> bool:
        return self.calls is not None and self.calls.busy

    def _result_unanswered(self, turn_started: float) -> bool:
        sent = self.calls.follow_up_after if self.calls is not None else None
        return sent is not None and turn_started <= sent

    def waiting_on_calls(self) -> bool:
        """Only running calls keep the reply open: their end may make it whole."""
        return self._between_turns and self.calls_running()

    def soft_deadline(self) -> float | None:
        """While only a follow-up turn is awaited (no call running, no turn open): the time
        after which the reply counts as whole."""
        if self.calls_running() or self._turn_started is not None:
            return None
        sent = self.calls.follow_up_after if self.calls is not None else None
        return None if sent is None else sent + FOLLOW_UP_S


def tool_reporter(
    records: list[dict[str, Any]],
    on_json: Callable[[dict[str, Any]], None] | None,
    notify: Callable[[str], None] | None,
) -> Callable[[ToolEvent], None]:
    """The `on_event` of ask's ToolCalls: keep, and show as NDJSON or a stderr line."""

    def report(event: ToolEvent) -> None:
        obj = tool_event_json(event)
        if obj is None:
            if on_json is None and notify is not None:
                notify(f"tool call: {event.name}({_args(event.args)})")
            return
        records.append({k: v for k, v in obj.items() if k != "type"})
        if on_json is not None:
            on_json(obj)
        elif notify is not None:
            notify(tool_line(event))

    return report


def tool_line(event: ToolEvent) -> str:
    """``tool result: git_log → {"output": …} (0.1 s)`` for stderr."""
    took = f" ({event.duration_s:.1f} s)" if event.duration_s is not None else ""
    if event.phase == "cancelled":
        return f"tool cancelled: {event.name}{took} (the model withdrew the call)"
    return f"tool result: {event.name} → {summary(event.response)}{took}"


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
