"""Fault injection end to end (`FaultPlan`), and many sessions at once."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosedError

from voicecli.server import RunningServer, ServerConfig, serve_forever

from .helpers import AUDIO_MODEL, audio_of, connect, running, session, setup_msg, text_of


async def test_close_after_n_frames() -> None:
    async with running(faults_spec="close-after=2:1011") as server, session(server) as c:
        await c.send({"realtimeInput": {"text": "a b c d e f g h i j"}})
        code, reason = await c.closed()
    assert (code, reason) == (1011, "Internal error occurred.")
    assert len(c.frames) == 2  # setupComplete and one more


async def test_drop_after_n_frames_has_no_close_frame() -> None:
    async with running(faults_spec="drop-after=2") as server, session(server) as c:
        await c.send({"realtimeInput": {"text": "hello"}})
        with pytest.raises(ConnectionClosedError):
            while True:
                await c.recv(5)
    assert c.ws.protocol.close_rcvd is None  # abnormal closure: the client reports 1006
    assert len(c.frames) == 2


async def test_malformed_every_n_frames() -> None:
    async with running(faults_spec="malformed-every=2") as server, connect(server) as c:
        await c.send({"setup": {"model": "models/gemini-live-2.5-flash-preview",
                                "generationConfig": {"responseModalities": ["TEXT"]}}})
        await c.send({"realtimeInput": {"text": "one two three four five six seven"}})
        raw = []
        while True:
            frame = await asyncio.wait_for(c.ws.recv(), 10)
            raw.append(frame)
            if b"turnComplete" in frame:
                break
    broken = [i for i, r in enumerate(raw) if not _is_json(r)]
    assert broken and broken == list(range(1, len(raw), 3))  # before every 2nd real frame
    assert all(isinstance(r, bytes) for r in raw)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


async def test_goaway_after_and_delay_faults() -> None:
    async with running(faults_spec="goaway-after=0.2:0.3,delay-ms=30") as server:
        async with session(server) as c:
            assert c.frames[0].at  # setupComplete came through the delay
            go_away = await c.recv(5)
            assert go_away.msg == {"goAway": {"timeLeft": "0.3s"}}
            code, _ = await c.closed()
    assert code == 1008


async def test_goaway_in_reply_comes_that_long_after_the_first_reply_audio() -> None:
    async with running(faults_spec="goaway-in-reply=0.3:5") as server:
        audio = setup_msg(AUDIO_MODEL, "AUDIO")
        async with session(server, audio) as quiet:  # no reply, no goAway
            with pytest.raises(TimeoutError):
                await quiet.recv(0.6)
        async with session(server, audio) as c:
            await c.send({"realtimeInput": {"text": "hello there"}})
            while "goAway" not in (frame := await c.recv(10)).msg:
                pass
    first_audio = next(f for f in c.frames if f.kind() == "audio")
    assert frame.msg == {"goAway": {"timeLeft": "5s"}}
    assert frame.at - first_audio.at >= 0.28


async def test_fail_first_connections_then_serve() -> None:
    async with running(faults_spec="fail-first=2:1011") as server:
        for _ in range(2):
            async with connect(server) as c:
                await c.send({"setup": {"model": "models/gemini-3.8-live"}})
                assert await c.closed() == (1011, "Internal error occurred.")
        async with session(server, {"setup": {"model": "models/gemini-3.8-live"}}) as c:
            assert "setupComplete" in c.frames[0].msg


async def test_twenty_sessions_at_once() -> None:
    async def one(server: RunningServer, i: int) -> str:
        async with session(server) as c:
            await c.send({"realtimeInput": {"text": f"number {i}"}})
            return text_of(await c.turn())

    async with running() as server:
        answers = await asyncio.gather(*(one(server, i) for i in range(20)))
        assert server.sessions_active <= 20
    assert answers == [f"You said: number {i}." for i in range(20)]


async def test_five_audio_sessions_share_the_synthesizer() -> None:
    async def one(server: RunningServer, i: int) -> tuple[str, int]:
        setup = setup_msg(AUDIO_MODEL, "AUDIO", outputAudioTranscription={})
        async with session(server, setup) as c:
            await c.send({"realtimeInput": {"text": f"voice {i}"}})
            frames = await c.turn()
            return text_of(frames, "outputTranscription"), len(audio_of(frames))

    async with running() as server:
        results = await asyncio.gather(*(one(server, i) for i in range(5)))
    assert [r[0] for r in results] == [f"You said: voice {i}." for i in range(5)]
    assert all(size > 24000 for _, size in results)


async def test_serve_forever_runs_until_cancelled() -> None:
    ready: list[RunningServer] = []
    started = asyncio.Event()

    async def on_ready(server: RunningServer) -> None:
        ready.append(server)
        started.set()

    task = asyncio.create_task(serve_forever(ServerConfig(port=0, pace=0), on_ready))
    await asyncio.wait_for(started.wait(), 10)
    server = ready[0]
    assert server.url == f"ws://127.0.0.1:{server.port}" and "pace 0" in server.describe()
    async with session(server) as c:
        await c.send({"realtimeInput": {"text": "up"}})
        assert text_of(await c.turn()) == "You said: up."
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(OSError):
        async with connect(server):
            pass
