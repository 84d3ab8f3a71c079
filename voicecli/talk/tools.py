"""Tool calls, confirmations, search sources and code execution in a talk conversation.

What: `TalkTools` is the conversation's side of function calling. A toolCall (§4.3) becomes a
`ToolCallView` in the turn and runs in a task of its own (`ToolCalls`), so the receive loop —
and the reply's audio — go on; its result or cancellation (§4.4) updates that view and goes to
the NDJSON stream. Search grounding (§4.2) adds numbered sources to the turn, executableCode /
codeExecutionResult parts add code lines.

Confirmation: with a screen and a keyboard, a call the policy does not allow outright
(``confirm = true``, or no ``--allow-tools``) is put to the user as a y/n prompt, one at a time;
no answer within `CONFIRM_TIMEOUT_S` is a no. Without a screen or keyboard (``--json``, no
terminal) there is nobody to ask: such calls are refused and the model is told so.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from voicecli.client.live import LiveSession
from voicecli.client.ndjson import tool_event_json
from voicecli.client.tool_calls import ToolCalls
from voicecli.protocol import events as ev
from voicecli.protocol.grounding import web_sources
from voicecli.protocol.messages import FunctionCall
from voicecli.talk.keys import ESCAPE
from voicecli.tools import ToolEvent, ToolUse
from voicecli.tools.runner import summary
from voicecli.ui.state import ToolCallView, ViewState

CONFIRM_TIMEOUT_S = 60.0
RESULT_CHARS = 120
Emit = Callable[[dict[str, Any] | None], None]


class TalkTools:
    def __init__(self, state: ViewState, emit: Emit) -> None:
        self.state = state
        self._emit = emit
        self.calls: ToolCalls | None = None
        self._views: dict[str, ToolCallView] = {}
        self._answer: asyncio.Future[bool] | None = None
        self._one_at_a_time = asyncio.Lock()

    def attach(self, live: LiveSession, use: ToolUse, model: str, *, interactive: bool) -> None:
        """Answer calls on `live`; `interactive`: a screen and keys to confirm calls with."""
        self.calls = ToolCalls(live, use, model, confirm=self._confirm if interactive else None,
                               on_event=self._on_event)

    async def aclose(self) -> None:
        if self.calls is not None:
            await self.calls.aclose()

    # ---- events from the service ---------------------------------------------------------------

    def handle(self, event: object) -> bool:
        """React to a tool, grounding or code event; False for any other event."""
        match event:
            case ev.ToolCallRequested(calls=calls):
                self._requested(calls)
            case ev.ToolCallCancelled(ids=ids):
                if self.calls is not None:
                    self.calls.withdraw(ids)
            case ev.Grounding(metadata=metadata):
                known = {uri for _, uri in self.state.turn.sources}
                self.state.turn.sources += [(s.title, s.uri) for s in web_sources(metadata)
                                            if s.uri not in known]
            case ev.ExecutableCode(language=language, code=code):
                self.state.turn.code.append((f"code {language or ''}".strip(), code or ""))
            case ev.CodeExecutionResult(outcome=outcome, output=output):
                self.state.turn.code.append((f"result {outcome or ''}".strip(), output or ""))
            case _:
                return False
        return True

    def _requested(self, calls: tuple[FunctionCall, ...]) -> None:
        for call in calls:
            view = ToolCallView(call.name or "?", _args(call.args))
            self.state.turn.tools.append(view)
            if call.id is not None:
                self._views[call.id] = view
        if self.calls is not None:
            self.calls.start(calls)

    def _on_event(self, event: ToolEvent) -> None:
        self._emit(tool_event_json(event))
        if event.phase == "started" or event.id is None:
            return
        view = self._views.pop(event.id, None)
        if view is None:
            return
        view.result = "cancelled" if event.phase == "cancelled" else _short(event)
        if all(v is not view for v in self.state.turn.tools):  # its turn is over: show the
            self.state.turn.tools.append(view)  # result in this one

    # ---- confirmation --------------------------------------------------------------------------

    def key(self, key: str) -> bool:
        """y / n / Escape answer a pending confirmation; True when the key was used."""
        if self._answer is None or self._answer.done():
            return False
        if key in ("y", "Y"):
            self._answer.set_result(True)
        elif key in ("n", "N", ESCAPE):
            self._answer.set_result(False)
        return True  # while a question is open, other keys do nothing

    async def _confirm(self, name: str, args: dict[str, Any]) -> bool:
        async with self._one_at_a_time:
            self._answer = asyncio.get_running_loop().create_future()
            self.state.confirm = f"{name}({_args(args)})"
            self._emit({"type": "tool_confirm", "name": name, "args": args})
            try:
                async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                    accepted = await self._answer
            except TimeoutError:
                accepted = False
            finally:
                self.state.confirm, self._answer = None, None
            self._emit({"type": "tool_confirmed", "name": name, "accepted": accepted})
            return accepted


def turn_tools_json(views: list[ToolCallView]) -> list[dict[str, Any]]:
    return [{"name": v.name, "args": v.args, "result": v.result} for v in views]


def _short(event: ToolEvent) -> str:
    if event.error is not None:
        return f"error: {event.error}"[:RESULT_CHARS]
    return summary(event.response)[:RESULT_CHARS]


def _args(args: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in (args or {}).items())
