"""The server's per-session native parts go back to their pools when a session ends, however
it ends (issue 13 §5): Silero VAD detectors in this process, pocketsphinx recognisers and
decoders in the recognition processes. Counts, not timings: a leak shows as a count that grows
with the number of sessions."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref

import websockets

from tests.server.helpers import AUDIO_MODEL, PATH, audio_msg, running, session, setup_msg
from tests.speechgen import silence, speech_pcm16
from voicecli.server.session.live import ServedSession
from voicecli.speech import asr_process
from voicecli.speech.vad import POOL

SETUP = setup_msg(AUDIO_MODEL, "AUDIO", inputAudioTranscription={})


async def _settled(limit_s: float = 10.0) -> list[dict[str, int]]:
    """The recognition processes' counts once no recogniser is open (closes run on a pool)."""
    counts: list[dict[str, int]] = []
    for _ in range(int(limit_s / 0.1)):
        counts = await asyncio.to_thread(asr_process.counts)
        if all(c["open"] == 0 and c["lent"] == 0 for c in counts) and POOL.lent == 0:
            return counts
        await asyncio.sleep(0.1)
    return counts


async def test_sessions_give_back_their_vad_and_recognisers_however_they_end() -> None:
    pcm = speech_pcm16("what time is it") + silence(1000)
    live_sessions: list[weakref.ref[ServedSession]] = []
    async with running() as server:
        async with session(server, SETUP) as client:  # warm: models loaded once
            await client.stream(pcm)
            await client.turn(30)
        await _settled()
        made = POOL.made
        for n in range(6):
            async with session(server, SETUP) as client:
                live_sessions.append(weakref.ref(server_live(server)))
                if n % 2:  # a whole turn, then a normal close
                    await client.stream(pcm)
                    await client.turn(30)
                else:  # half an utterance, then the socket vanishes (no close frame)
                    await client.stream(pcm[: len(pcm) // 3])
                    client.ws.transport.abort()
        async with asyncio.TaskGroup() as group:  # four dropped at once, mid-utterance
            for _ in range(4):
                group.create_task(_dropped(server.url + PATH, pcm))
        counts = await _settled()
        assert counts and all(c["open"] == 0 and c["lent"] == 0 for c in counts), counts
        assert all(c["idle"] <= 1 for c in counts), counts  # a burst's decoders were freed
        assert POOL.lent == 0 and POOL.made - made <= 4  # reused, not one per session
        assert server.sessions_active == 0 and server.shared.pending == 0
    gc.collect()
    assert [ref for ref in live_sessions if ref() is not None] == []


async def test_a_text_session_loads_no_speech_model() -> None:
    async with running() as server:
        made = POOL.made
        for n in range(5):
            async with session(server) as client:
                await client.send({"realtimeInput": {"text": f"question {n}"}})
                await client.turn()
        assert POOL.made == made and POOL.lent == 0


async def _dropped(url: str, pcm: bytes) -> None:
    async with websockets.connect(url, compression=None) as ws:
        await ws.send(json.dumps(SETUP))
        await ws.recv()
        for i in range(0, len(pcm) // 2, 640):
            await ws.send(json.dumps(audio_msg(pcm[i : i + 640])))
        await asyncio.sleep(0.3)
        ws.transport.abort()


def server_live(server) -> ServedSession:  # type: ignore[no-untyped-def]
    """The ServedSession of the one open connection."""
    live = [c.live for c in server.shared.connections if c.live is not None]
    assert len(live) == 1
    return live[0]
