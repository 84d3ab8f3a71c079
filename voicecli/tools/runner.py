"""Answering the model's tool calls (§4.3 toolCall, §4.4 toolCallCancellation, §3.4).

`ToolRunner.run(calls)` runs the calls of one toolCall message concurrently and returns one
FunctionResponse per call (same ``id`` and ``name``; ``scheduling`` for NON_BLOCKING tools).
`as_completed(calls)` yields them as they finish instead (NON_BLOCKING tools need not wait for
each other). `cancel(ids)` kills the named calls (a command's whole process group) and waits for
them to end; their results are never returned, so they are never sent.

Nothing a call does can crash the session: an unknown tool, bad arguments, a refusal by the
policy, a failing tool or a bug here all become ``{"error": ...}`` for the model. Every call is
reported to `on_event` when it starts and when it ends (finished or cancelled), with its
arguments, its response or error, and its duration, for the UI and the NDJSON log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from voicecli.protocol.messages import FunctionCall, FunctionResponse
from voicecli.tools.policy import AllowPolicy, Confirm, refusal
from voicecli.tools.spec import ArgumentError, Response, ToolDef, validate_args

log = logging.getLogger("voicecli.tools")
Phase = Literal["started", "finished", "cancelled"]
SUMMARY_CHARS = 300


@dataclass(frozen=True, slots=True)
class ToolEvent:
    """One step of one call; `response` and `error` are set when it finished."""

    phase: Phase
    id: str | None
    name: str
    args: dict[str, Any]
    response: Response | None = None
    error: str | None = None
    duration_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """For NDJSON: ``{"phase", "id", "name", "args"}`` and whatever else is set."""
        fields = {"phase": self.phase, "id": self.id, "name": self.name, "args": self.args,
                  "response": self.response, "error": self.error, "duration_s": self.duration_s}
        return {k: v for k, v in fields.items() if v is not None or k in ("id", "args")}


def summary(value: Any) -> str:
    """A tool response (or anything JSON) on one line of at most SUMMARY_CHARS, for people."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


class ToolRunner:
    """Runs tool calls under an `AllowPolicy`; see the module docstring."""

    def __init__(
        self,
        tools: Iterable[ToolDef],
        *,
        policy: AllowPolicy | None = None,
        confirm: Confirm | None = None,
        on_event: Callable[[ToolEvent], None] | None = None,
        model_supports_behavior: bool = True,
    ) -> None:
        self.tools = {tool.name: tool for tool in tools}
        self.policy = policy or AllowPolicy()
        self.policy.check_names(self.tools.values())
        self._confirm = confirm
        self._on_event = on_event
        self._scheduling = model_supports_behavior
        self._running: dict[str, asyncio.Task[FunctionResponse]] = {}
        self._cancelled: set[str] = set()  # ids whose result must never be returned

    async def run(self, calls: Iterable[FunctionCall]) -> list[FunctionResponse]:
        """The responses in call order, without the calls cancelled meanwhile (maybe none)."""
        tasks = [self._start(call) for call in calls]
        if tasks:
            await self._wait_all(tasks)
        return [task.result() for task in tasks if self._kept(task)]

    async def as_completed(self, calls: Iterable[FunctionCall]) -> AsyncIterator[FunctionResponse]:
        """Each response as soon as its call ends (cancelled calls yield nothing)."""
        pending = {self._start(call) for call in calls}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if self._kept(task):
                        yield task.result()
        finally:
            await _cancel_and_wait(pending)

    async def cancel(self, ids: Iterable[str]) -> None:
        """§4.4: stop these calls (processes killed) and drop their results. Unknown ids: no-op."""
        found = [i for i in ids if i in self._running]
        self._cancelled.update(found)  # a call that ended just now is dropped as well
        await _cancel_and_wait([self._running[i] for i in found])

    async def aclose(self) -> None:
        """Cancel every running call (the session is ending)."""
        await _cancel_and_wait(list(self._running.values()))

    @property
    def running_ids(self) -> list[str]:
        return list(self._running)

    def _kept(self, task: asyncio.Task[FunctionResponse]) -> bool:
        return not task.cancelled() and task.result().id not in self._cancelled

    def _start(self, call: FunctionCall) -> asyncio.Task[FunctionResponse]:
        task = asyncio.create_task(self._answer(call))
        if call.id is not None:
            self._running[call.id] = task
            task.add_done_callback(lambda done: self._forget(call.id, done))
        return task

    def _forget(self, call_id: str | None, task: asyncio.Task[FunctionResponse]) -> None:
        if call_id is not None and self._running.get(call_id) is task:
            del self._running[call_id]

    async def _wait_all(self, tasks: list[asyncio.Task[FunctionResponse]]) -> None:
        try:
            await asyncio.wait(tasks)
        except asyncio.CancelledError:
            await _cancel_and_wait(tasks)
            raise

    async def _answer(self, call: FunctionCall) -> FunctionResponse:
        name, args = call.name or "", call.args if isinstance(call.args, dict) else {}
        self._emit(ToolEvent("started", call.id, name, args))
        started = time.monotonic()
        try:
            response = await self._response_for(name, args)
        except asyncio.CancelledError:
            self._emit(ToolEvent("cancelled", call.id, name, args,
                                 duration_s=time.monotonic() - started))
            raise
        error = response.get("error") if isinstance(response.get("error"), str) else None
        self._emit(ToolEvent("finished", call.id, name, args, response, error,
                             time.monotonic() - started))
        return FunctionResponse(id=call.id, name=call.name, response=response,
                                scheduling=self._scheduling_of(name))

    async def _response_for(self, name: str, args: dict[str, Any]) -> Response:
        tool = self.tools.get(name)
        if tool is None:
            return {"error": f"unknown tool {name!r}; the tools are {', '.join(self.tools)}"}
        try:
            # an MCP tool's arguments are checked against its JSON Schema by its preflight
            valid = dict(args) if tool.kind == "mcp" else validate_args(tool.params, args)
            if tool.preflight is not None:
                tool.preflight(valid)
            refused = await refusal(self.policy, tool, valid, self._confirm)
            return {"error": refused} if refused else await tool.execute(valid)
        except ArgumentError as exc:
            return {"error": f"invalid arguments: {exc}"}
        except Exception as exc:
            log.exception("tool %s failed", name)
            return {"error": f"the tool failed: {type(exc).__name__}: {exc}"}

    def _scheduling_of(self, name: str) -> str | None:
        tool = self.tools.get(name)
        if tool is None or not self._scheduling or tool.behavior != "NON_BLOCKING":
            return None
        return tool.scheduling

    def _emit(self, event: ToolEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("the tool event callback failed")


async def _cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
