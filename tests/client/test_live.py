"""The client against the real local server on loopback: setup, errors, goAway, reconnection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets

from voicecli.ask import Question, ask
from voicecli.client.endpoints import build_endpoint
from voicecli.client.live import ConnectOptions, LiveSession, Reconnected, Reconnecting
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import (
    AuthenticationError,
    NetworkError,
    ServiceRefused,
    SetupTimeout,
)
from voicecli.protocol import events as ev
from voicecli.server import FaultPlan, ServerConfig, start_server
from voicecli.server.transport.tls import self_signed
from voicecli.settings import Secret, Settings, replace

TEXT_MODEL = "gemini-live-2.5-flash-preview"  # half-cascade: answers in TEXT (§7.1)
FAST = ConnectOptions(setup_timeout_s=5, backoff_base_s=0.05, backoff_cap_s=0.2)


@contextlib.asynccontextmanager
async def server(**config: object) -> AsyncIterator[Settings]:
    async with await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0, **config)) as srv:
        yield Settings.of(backend="gemini", base_url=srv.url, response="text", model=TEXT_MODEL)


def text_setup(settings: Settings):  # type: ignore[no-untyped-def]
    endpoint = build_endpoint(settings)
    return endpoint, build_setup(settings, endpoint.model, SetupOptions(conversation=True))


async def turn(live: LiveSession, text: str) -> tuple[str, list[object]]:
    """Send one text turn and collect events up to its turnComplete."""
    await live.send_text(text)
    seen: list[object] = []
    reply = ""
    async for event in live.events():
        seen.append(event)
        if isinstance(event, ev.ModelText | ev.OutputTranscript):
            reply += event.text
        if isinstance(event, ev.TurnComplete):
            return reply, seen
    raise AssertionError("events ended")


async def test_text_turn_round_trip() -> None:
    async with server() as settings:
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as live:
            assert live.setup_complete is not None
            reply, seen = await turn(live, "the quick brown fox")
    assert "quick brown fox" in reply.lower()
    assert any(isinstance(e, ev.GenerationComplete) for e in seen)
    assert live.resumption_handle  # §5.6: resumption was requested and a handle kept


async def test_ask_library_api_without_typer() -> None:
    async with server() as settings:
        answer = await ask(settings, Question(text="hello library"))
    assert "hello library" in answer.text.lower()
    assert answer.usage is not None and answer.usage.total_token_count
    assert answer.latency_ms is not None and answer.latency_ms >= 0


async def test_goaway_rotates_and_resumes_the_conversation() -> None:
    async with server(connection_lifetime_s=0.5, go_away_grace_s=4.0) as settings:
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as live:
            await turn(live, "first turn")
            notes: list[object] = []
            async for event in live.events():  # the goAway arrives between turns
                notes.append(event)
                if isinstance(event, Reconnected):
                    break
            reply, _ = await turn(live, "second turn")
    kinds = [type(n) for n in notes]
    assert ev.GoAway in kinds and Reconnecting in kinds
    assert notes[-1] == Reconnected(attempt=1, resumed=True)
    assert "second turn" in reply.lower()


async def test_retryable_close_reconnects_with_backoff() -> None:
    async with server(faults=FaultPlan.parse("fail-first=2:1011")) as settings:
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as live:
            reply, _ = await turn(live, "still here")
            assert live.reconnects >= 1
    assert "still here" in reply.lower()


async def test_abnormal_drop_mid_session_reconnects() -> None:
    async with server(faults=FaultPlan.parse("drop-after=3")) as settings:
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as live:
            await live.send_text("one two three four five six seven")
            notes = []
            async for event in live.events():
                notes.append(event)
                if isinstance(event, Reconnected):
                    break
    assert any(isinstance(n, Reconnecting) and "1006" in n.reason for n in notes)


@pytest.mark.parametrize("fault", ["drop-after=1", "drop-after=3"])
async def test_over_tls_a_dropped_turn_is_answered_once_and_the_next_one_too(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing a TLS connection whose socket is already gone must not raise from asyncio."""
    files = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(files.cert))
    plan = FaultPlan.parse(f"{fault},connections=1")
    config = ServerConfig(host="127.0.0.1", port=0, pace=0, tls=files, faults=plan)
    async with await start_server(config) as srv:
        url = f"https://127.0.0.1:{srv.port}"
        endpoint, setup = text_setup(Settings.of(base_url=url, response="text", model=TEXT_MODEL))
        async with LiveSession(endpoint, setup, FAST) as live:
            first, seen = await turn(live, "one two three four five six seven")
            second, _ = await turn(live, "after the drop")
            assert live.reconnects == 1
    assert any(isinstance(event, Reconnected) for event in seen)
    assert first.lower().count("one two three") == 1
    assert "after the drop" in second.lower() and "this is turn 2;" in second.lower()  # resumed


async def test_gives_up_after_max_reconnects() -> None:
    async with server(faults=FaultPlan.parse("fail-first=100:1011")) as settings:
        endpoint, setup = text_setup(settings)
        options = ConnectOptions(setup_timeout_s=5, max_reconnects=2, backoff_base_s=0.01)
        with pytest.raises(NetworkError):
            async with LiveSession(endpoint, setup, options):
                pass


async def test_unknown_model_is_refused_not_retried() -> None:
    async with server() as settings:
        settings = replace(settings, model="gemini-does-not-exist")
        endpoint, setup = text_setup(settings)
        with pytest.raises(ServiceRefused, match="gemini-does-not-exist"):
            async with LiveSession(endpoint, setup, FAST):
                pass


async def test_wrong_key_is_an_authentication_error() -> None:
    async with server(require_key="right-key") as settings:
        settings = replace(settings, api_key=Secret("wrong-key"))
        endpoint, setup = text_setup(settings)
        with pytest.raises(AuthenticationError) as info:
            async with LiveSession(endpoint, setup, FAST):
                pass
        assert "wrong-key" not in str(info.value)
        settings = replace(settings, api_key=Secret("right-key"))
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as live:
            assert live.setup_complete is not None


async def test_setup_timeout_when_the_peer_never_answers() -> None:
    async def silent(ws: websockets.ServerConnection) -> None:
        await ws.wait_closed()  # accepts the upgrade, never answers setup

    async with websockets.serve(silent, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        settings = Settings.of(
            backend="gemini", base_url=f"http://127.0.0.1:{port}", response="text", model=TEXT_MODEL
        )
        endpoint, setup = text_setup(settings)
        options = ConnectOptions(setup_timeout_s=0.3, max_reconnects=0)
        with pytest.raises(SetupTimeout):
            async with LiveSession(endpoint, setup, options):
                pass


async def test_ephemeral_token_uses_the_constrained_method() -> None:
    config = ServerConfig(host="127.0.0.1", port=0, pace=0, require_key="server-key")
    async with await start_server(config) as srv:
        name = srv.shared.tokens.create({})["name"]  # issued by the server (§1.5)
        settings = Settings.of(
            backend="gemini",
            base_url=srv.url,
            response="text",
            model=TEXT_MODEL,
            token=Secret(name),
            api_version="v1alpha",
        )
        endpoint, setup = text_setup(settings)
        assert endpoint.url.endswith("v1alpha.GenerativeService.BidiGenerateContentConstrained")
        async with LiveSession(endpoint, setup, FAST) as live:
            reply, _ = await turn(live, "token works")
    assert "token works" in reply.lower()


async def test_vertex_endpoint_and_model_path() -> None:
    async with server(require_key="ya29.token") as settings:
        vertex = Settings.of(
            backend="vertex",
            base_url=settings.connection.base_url,
            project="proj",
            location="us-central1",
            access_token=Secret("ya29.token"),
            model="gemini-live-2.5-flash-native-audio",
        )
        endpoint = build_endpoint(vertex)
        assert "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent" in (
            endpoint.url
        )
        setup = build_setup(vertex, endpoint.model, SetupOptions())
        assert setup.generation_config is not None
        assert setup.generation_config.response_modalities == ["AUDIO"]
        async with LiveSession(endpoint, setup, FAST) as live:
            reply, seen = await turn(live, "vertex path")
    assert "vertex path" in reply.lower()
    assert any(isinstance(e, ev.ModelAudio) for e in seen)


async def test_goaway_mid_turn_rotates_on_a_timer_when_the_server_goes_quiet() -> None:
    """peers.md issues 17–19: after goAway the service may stop sending; the deadline must be a
    timer, and the old socket must be closed before the resume (issue 18)."""
    from voicecli.protocol import ServerSession

    log: list[str] = []

    async def scripted(ws: websockets.ServerConnection) -> None:
        proto = ServerSession()
        proto.receive_data(await ws.recv())
        setup = proto.events_received()[0]
        resumed = bool(setup.session_resumption and setup.session_resumption.handle)
        log.append("setup resumed" if resumed else "setup new")
        proto.send_setup_complete()
        proto.send_resumption_update("H1", True)
        if not resumed:
            proto.send_model_text("Half a reply")  # a turn is in progress …
            proto.send_go_away(3.0)  # … and then nothing more arrives on this connection
        for frame in proto.data_to_send():
            await ws.send(frame)
        await ws.wait_closed()
        log.append(f"closed {ws.close_code}")

    async with websockets.serve(scripted, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        settings = Settings.of(
            backend="gemini", base_url=f"http://127.0.0.1:{port}", response="text", model=TEXT_MODEL
        )
        endpoint, setup = text_setup(settings)
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(10), LiveSession(endpoint, setup, FAST) as live:
            async for event in live.events():
                if isinstance(event, Reconnected):
                    waited = asyncio.get_running_loop().time() - started
                    break
        await asyncio.sleep(0.1)
    assert event == Reconnected(attempt=1, resumed=True, reply_cut=True)  # "Half a reply"
    assert 0.5 < waited < 3.0  # rotated by the timer, before timeLeft ran out
    assert log[:3] == ["setup new", "closed 1000", "setup resumed"]


async def test_tool_calls_still_owed_survive_a_resume() -> None:
    from voicecli.protocol import FunctionCall, FunctionResponse, ServerSession

    answered: list[str] = []
    got_answer = asyncio.Event()

    async def scripted(ws: websockets.ServerConnection) -> None:
        proto = ServerSession()
        proto.receive_data(await ws.recv())
        setup = proto.events_received()[0]
        proto.send_setup_complete()
        proto.send_resumption_update("H1", True)
        if not (setup.session_resumption and setup.session_resumption.handle):
            proto.send_tool_call([FunctionCall(id="function-call-7", name="lookup", args={})])
            proto.send_go_away(0.5)
        for frame in proto.data_to_send():
            await ws.send(frame)
        async for frame in ws:  # the resumed connection receives the response
            proto.receive_data(frame)
            for msg in proto.events_received():
                answered.extend(r.id for r in msg.function_responses or [])
                got_answer.set()

    async with websockets.serve(scripted, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        settings = Settings.of(
            backend="gemini", base_url=f"http://127.0.0.1:{port}", response="text", model=TEXT_MODEL
        )
        endpoint, setup = text_setup(settings)
        async with asyncio.timeout(10), LiveSession(endpoint, setup, FAST) as live:
            async for event in live.events():
                if isinstance(event, Reconnected):
                    break
            response = FunctionResponse(id="function-call-7", name="lookup", response={"ok": 1})
            await live.send_tool_response([response])
            await got_answer.wait()
    assert answered == ["function-call-7"]


async def test_server_refuses_an_unknown_voice_like_the_service() -> None:
    from voicecli.protocol import PrebuiltVoiceConfig, SpeechConfig, VoiceConfig

    async with server() as settings:
        endpoint, setup = text_setup(settings)
        assert setup.generation_config is not None
        voice = VoiceConfig(prebuilt_voice_config=PrebuiltVoiceConfig(voice_name="Korre"))
        setup.generation_config.speech_config = SpeechConfig(voice_config=voice)
        with pytest.raises(ServiceRefused, match="1007"):
            async with LiveSession(endpoint, setup, FAST):
                pass
