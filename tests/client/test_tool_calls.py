"""`ToolCalls` on a `LiveSession` against scripted Live peers (real WebSockets on loopback):
how answers are grouped, that cancelled calls are never answered, and that calls still owed
are answered on the resumed connection (§3.4, §4.3, §4.4, §5.5, §5.6)."""

from __future__ import annotations

import asyncio
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import websockets

from voicecli.client.endpoints import build_endpoint
from voicecli.client.live import ConnectOptions, LiveSession, Reconnected
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.client.tool_calls import ToolCalls
from voicecli.protocol import FunctionCall, ServerSession
from voicecli.protocol import events as ev
from voicecli.protocol.messages import FunctionResponse, ToolResponse
from voicecli.settings import Settings
from voicecli.tools import AllowPolicy, ToolUse, tools_from_config

FAST = ConnectOptions(setup_timeout_s=5, backoff_base_s=0.05, backoff_cap_s=0.2)
TOOLS = """
[tools.echo]
target = "tests.tools.sample_tools:slow_echo"
[tools.background_echo]
target = "tests.tools.sample_tools:slow_echo"
behavior = "NON_BLOCKING"
scheduling = "SILENT"
"""
USE = ToolUse(tuple(tools_from_config(tomllib.loads(TOOLS))), AllowPolicy(all=True))

Script = Callable[[ServerSession, bool], None]  # what to send after setupComplete (resumed?)


@dataclass
class Peer:
    responses: list[tuple[float, list[FunctionResponse]]] = field(default_factory=list)
    resumed: bool = False


def calls(*specs: tuple[str, str, float]) -> list[FunctionCall]:
    return [FunctionCall(id=i, name=n, args={"text": i, "delay": d}) for i, n, d in specs]


@asynccontextmanager
async def peer(script: Script, model: str = "gemini-2.5-flash-native-audio-preview-12-2025",
               ) -> AsyncIterator[tuple[Peer, LiveSession, ToolCalls]]:
    seen = Peer()

    async def serve(ws: websockets.ServerConnection) -> None:
        proto = ServerSession()
        proto.receive_data(await ws.recv())
        setup = proto.events_received()[0]
        resumed = bool(setup.session_resumption and setup.session_resumption.handle)
        seen.resumed = seen.resumed or resumed
        proto.send_setup_complete()
        proto.send_resumption_update("H1", True)
        script(proto, resumed)
        for frame in proto.data_to_send():
            await ws.send(frame)
        async for frame in ws:
            proto.receive_data(frame)
            for msg in proto.events_received():
                if isinstance(msg, ToolResponse):
                    seen.responses.append((time.monotonic(), list(msg.function_responses or [])))

    async with websockets.serve(serve, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        settings = Settings.of(backend="gemini", base_url=f"http://127.0.0.1:{port}", model=model)
        endpoint = build_endpoint(settings)
        setup = build_setup(settings, endpoint.model, SetupOptions(tools=USE.tools))
        async with LiveSession(endpoint, setup, FAST) as live:
            tool_calls = ToolCalls(live, USE, endpoint.model)
            try:
                yield seen, live, tool_calls
            finally:
                await tool_calls.aclose()


async def pump(live: LiveSession, tool_calls: ToolCalls, seconds: float) -> list[object]:
    """Receive for `seconds`, handing tool calls and cancellations to `tool_calls`."""
    got: list[object] = []
    try:
        async with asyncio.timeout(seconds):
            async for event in live.events():
                got.append(event)
                if isinstance(event, ev.ToolCallRequested):
                    tool_calls.start(event.calls)
                elif isinstance(event, ev.ToolCallCancelled):
                    tool_calls.withdraw(event.ids)
    except TimeoutError:
        pass
    return got


async def test_blocking_calls_are_answered_together_background_ones_each_when_done() -> None:
    def script(proto: ServerSession, resumed: bool) -> None:
        proto.send_tool_call(calls(("a", "echo", 0.3), ("b", "echo", 0.0),
                                   ("c", "background_echo", 0.6), ("d", "background_echo", 0.0)))

    async with peer(script) as (seen, live, tool_calls):
        await pump(live, tool_calls, 1.5)
    grouped = [[r.id for r in batch] for _, batch in seen.responses]
    assert grouped == [["d"], ["a", "b"], ["c"]]  # in the order they finished
    scheduling = {r.id: r.scheduling for _, batch in seen.responses for r in batch}
    assert scheduling == {"a": None, "b": None, "c": "SILENT", "d": "SILENT"}


async def test_on_3_8_calls_are_non_blocking_by_default_and_answered_one_by_one() -> None:
    def script(proto: ServerSession, resumed: bool) -> None:
        proto.send_tool_call(calls(("a", "echo", 0.4), ("b", "echo", 0.0)))

    async with peer(script, model="gemini-3.8-live") as (seen, live, tool_calls):
        await pump(live, tool_calls, 1.0)
    assert [[r.id for r in batch] for _, batch in seen.responses] == [["b"], ["a"]]


async def test_cancelled_calls_are_never_answered_and_nothing_empty_is_sent() -> None:
    def script(proto: ServerSession, resumed: bool) -> None:
        proto.send_tool_call(calls(("a", "echo", 0.5), ("b", "echo", 0.5)))
        proto.send_tool_call_cancellation(["a", "b"])  # both withdrawn before they end
        proto.send_tool_call(calls(("c", "echo", 0.0)))
        proto.send_tool_call_cancellation(["c"])  # withdrawn at once: done or not, nothing goes

    async with peer(script) as (seen, live, tool_calls):
        await pump(live, tool_calls, 1.2)
        assert not tool_calls.busy
    assert seen.responses == []


async def test_a_call_still_running_at_a_reconnect_is_answered_on_the_resumed_connection(
) -> None:
    def script(proto: ServerSession, resumed: bool) -> None:
        if not resumed:
            proto.send_tool_call(calls(("slow", "echo", 0.8)))
            proto.send_go_away(0.3)

    async with peer(script) as (seen, live, tool_calls):
        got = await pump(live, tool_calls, 2.0)
    assert any(isinstance(e, Reconnected) and e.resumed for e in got) and seen.resumed
    assert [[r.id for r in batch] for _, batch in seen.responses] == [["slow"]]
    assert seen.responses[0][1][0].response == {"output": "slow"}
