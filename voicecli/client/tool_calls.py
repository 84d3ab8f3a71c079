"""Answering the model's tool calls on a live session (§3.4, §4.3, §4.4, §5.5).

What: `ToolCalls.start(calls)` runs the calls of one toolCall message in a task of its own, so
the receive loop goes on meanwhile (the turn's audio keeps playing, and a toolCallCancellation
can arrive). `cancel(ids)` kills those calls; their results are never sent.

How answers go out: calls to BLOCKING tools are answered together in one toolResponse once all
have finished (the model is waiting for all of them anyway); calls the model makes NON_BLOCKING
are answered each as soon as it is done. Every answer goes through
`LiveSession.send_tool_answers`, which leaves out ids the service no longer expects (cancelled
while the answer was on its way) and never sends an empty toolResponse. Across a reconnect the
calls keep running and the answer goes out on the resumed connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from voicecli.client.live import LiveSession
from voicecli.client.setup_tools import accepts_scheduling, runs_in_background
from voicecli.protocol.messages import FunctionCall, FunctionResponse
from voicecli.protocol.models import model_info
from voicecli.tools import Confirm, ToolEvent, ToolRunner, ToolUse

log = logging.getLogger("voicecli.tools")


class ToolCalls:
    """The tool calls of one conversation (see the module docstring)."""

    def __init__(
        self,
        live: LiveSession,
        use: ToolUse,
        model: str,
        *,
        confirm: Confirm | None = None,
        on_event: Callable[[ToolEvent], None] | None = None,
    ) -> None:
        self.live = live
        self.info = model_info(model)
        self._on_event = on_event
        self.runner = ToolRunner(use.tools, policy=use.policy, confirm=confirm,
                                 on_event=self._logged,
                                 model_supports_behavior=accepts_scheduling(self.info))
        self._tasks: set[asyncio.Task[None]] = set()
        #: ids of calls whose answer has not gone out yet (nor been withdrawn): "busy" is
        #: exactly this, not "a task object still exists" — a finished task stays in `_tasks`
        #: until its done-callback runs, and a turnComplete read in between must end the
        #: reply (issue 13 §3)
        self._unanswered: set[str] = set()
        self.settled = asyncio.Event()  # set whenever no call is left unanswered
        self.settled.set()
        #: when an answer that makes the model speak again (a NON_BLOCKING result that is not
        #: SILENT, §3.4) last went out; `ask` waits for the turn that answers it
        self.follow_up_after: float | None = None

    @property
    def busy(self) -> bool:
        """Are calls still running (their answers not yet handed to the session)?"""
        return bool(self._unanswered)

    def start(self, calls: Iterable[FunctionCall]) -> None:
        batch = list(calls)
        ids = {c.id for c in batch if c.id}
        self._unanswered |= ids
        if self._unanswered:
            self.settled.clear()
        task = asyncio.create_task(self._answer(batch, ids))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _settle(self, ids: Iterable[str | None]) -> None:
        self._unanswered.difference_update(ids)
        if not self._unanswered:
            self.settled.set()

    async def cancel(self, ids: Iterable[str]) -> None:
        """§4.4: stop these calls (a command's process group is killed); nothing is sent."""
        await self.runner.cancel(ids)

    def withdraw(self, ids: Iterable[str]) -> None:
        """`cancel` in a task of its own, so a receive loop does not wait for the kills. The
        results are already out of reach: the session stopped owing these ids on receipt."""
        ids = list(ids)
        self._settle(ids)
        task = asyncio.create_task(self.cancel(ids))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def aclose(self) -> None:
        """Stop everything still running (the conversation is over)."""
        await self.runner.aclose()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def _logged(self, event: ToolEvent) -> None:
        """Every call in the log (arguments and results at debug level), then to `on_event`."""
        took = f" after {event.duration_s:.2f} s" if event.duration_s is not None else ""
        log.info("tool call %s %s (id %s)%s", event.name, event.phase, event.id, took)
        log.debug("tool call %s: %s", event.id, event.to_dict())
        if self._on_event is not None:
            self._on_event(event)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("answering tool calls failed", exc_info=task.exception())

    async def _answer(self, calls: list[FunctionCall], ids: set[str]) -> None:
        background = [c for c in calls if self._in_background(c)]
        together = [c for c in calls if not self._in_background(c)]
        try:
            async with asyncio.TaskGroup() as group:
                if together:
                    group.create_task(self._answer_together(together))
                if background:
                    group.create_task(self._answer_each(background))
        finally:
            self._settle(ids)  # failed or cancelled calls are owed nothing more either

    def _in_background(self, call: FunctionCall) -> bool:
        return runs_in_background(self.runner.tools.get(call.name or ""), self.info)

    async def _answer_together(self, calls: list[FunctionCall]) -> None:
        await self._send(await self.runner.run(calls), background=False)

    async def _answer_each(self, calls: list[FunctionCall]) -> None:
        async for response in self.runner.as_completed(calls):
            await self._send([response], background=True)

    async def _send(self, responses: list[FunctionResponse], *, background: bool) -> None:
        if not responses:  # every call was cancelled
            return

        def sent(kept: list[FunctionResponse]) -> None:
            log.info("toolResponse sent for %s", ", ".join(str(r.id) for r in kept))
            if background and any(r.scheduling != "SILENT" for r in kept):
                self.follow_up_after = time.monotonic()
            self._settle(r.id for r in kept)  # before the frame goes out: see `_unanswered`

        await self.live.send_tool_answers(responses, on_sent=sent)
        self._settle(r.id for r in responses)  # queued for the resumed connection, or dropped
