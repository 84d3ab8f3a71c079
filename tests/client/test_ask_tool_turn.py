"""`ask` with tool calls against a scripted Live peer (real WebSockets on loopback): the
turnComplete that arrives right after the toolResponse went out ends the answer (issue 13 §3:
a finished tool task counted as busy until its done-callback ran, and `ask` waited out its
whole --timeout in 4–6 of 20 runs)."""

from __future__ import annotations

import asyncio
import time
import tomllib

import websockets

from voicecli.ask import answer_with_tools
from voicecli.client.endpoints import build_endpoint
from voicecli.client.live import ConnectOptions, LiveSession
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.protocol import FunctionCall, ServerSession
from voicecli.protocol.messages import RealtimeInput, ToolResponse
from voicecli.settings import Settings
from voicecli.tools import AllowPolicy, ToolUse, tools_from_config

FAST = ConnectOptions(setup_timeout_s=5, backoff_base_s=0.05, backoff_cap_s=0.2)
MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"  # BLOCKING calls (§5.5)
TOOLS = """
[tools.echo]
target = "tests.tools.sample_tools:slow_echo"
[tools.note]
target = "tests.tools.sample_tools:slow_echo"
behavior = "NON_BLOCKING"
scheduling = "SILENT"
"""
USE = ToolUse(tuple(tools_from_config(tomllib.loads(TOOLS))), AllowPolicy(all=True))


async def serve(ws: websockets.ServerConnection) -> None:
    """"call echo" → toolCall; its toolResponse → the reply and turnComplete at once.
    "call note" → a NON_BLOCKING SILENT call and turnComplete in one burst (§3.4, §5.5)."""
    proto = ServerSession()
    proto.receive_data(await ws.recv())
    proto.events_received()
    proto.send_setup_complete()
    for frame in proto.data_to_send():
        await ws.send(frame)
    async for data in ws:
        proto.receive_data(data)
        for msg in proto.events_received():
            if isinstance(msg, RealtimeInput) and msg.text == "call note":
                proto.send_model_text("noting")
                proto.send_tool_call([FunctionCall(id="n1", name="note", args={"text": "x"})])
                proto.send_turn_complete()
            elif isinstance(msg, RealtimeInput) and msg.text is not None:
                proto.send_tool_call([FunctionCall(id="c1", name="echo", args={"text": "hi"})])
            elif isinstance(msg, ToolResponse) and msg.function_responses[0].id == "c1":
                proto.send_model_text("echo said hi")
                proto.send_turn_complete()
        for frame in proto.data_to_send():
            await ws.send(frame)


async def ask_peer(port: int, text: str, model: str = MODEL) -> tuple[float, object]:
    settings = Settings.of(backend="gemini", base_url=f"http://127.0.0.1:{port}", model=model,
                           reply_timeout_s=5.0)
    endpoint = build_endpoint(settings)
    setup = build_setup(settings, endpoint.model, SetupOptions(tools=USE.tools))
    async with LiveSession(endpoint, setup, FAST) as live:
        started = time.monotonic()
        await live.send_text(text)
        async with asyncio.timeout(10):
            answer = await answer_with_tools(live, settings, endpoint.model, None, None, None, USE)
        return time.monotonic() - started, answer


async def test_a_silent_result_after_the_last_turn_complete_ends_the_answer() -> None:
    """The model ended its turn while the call ran; the SILENT result asks for no follow-up,
    so the answer is whole the moment the result is sent."""
    async with websockets.serve(serve, "127.0.0.1", 0) as srv:
        took, answer = await ask_peer(srv.sockets[0].getsockname()[1], "call note",
                                      model="gemini-3.8-live")
    assert answer.text == "noting"  # type: ignore[attr-defined]
    assert [t["name"] for t in answer.tools] == ["note"]  # type: ignore[attr-defined]
    assert took < 2.0, f"waited {took:.1f} s after the last call was answered"


async def test_turn_complete_right_after_the_tool_response_ends_the_answer() -> None:
    async with websockets.serve(serve, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        settings = Settings.of(backend="gemini", base_url=f"http://127.0.0.1:{port}", model=MODEL,
                               reply_timeout_s=5.0)
        endpoint = build_endpoint(settings)
        setup = build_setup(settings, endpoint.model, SetupOptions(tools=USE.tools))
        took: list[float] = []
        for _ in range(20):
            async with LiveSession(endpoint, setup, FAST) as live:
                started = time.monotonic()
                await live.send_text("call echo")
                async with asyncio.timeout(10):
                    answer = await answer_with_tools(live, settings, endpoint.model, None, None,
                                                     None, USE)
                took.append(time.monotonic() - started)
                assert answer.text == "echo said hi"
                assert [t["name"] for t in answer.tools] == ["echo"]
    assert max(took) < 2.0, f"a run waited {max(took):.1f} s for a reply that was whole"
