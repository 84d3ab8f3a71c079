"""How talk packs the mic's audio into messages (conversation.py: IDLE_BATCH_MS, SPEECH_BATCH_MS),
seen by a real Live peer on loopback WebSockets that records every realtimeInput audio message.

Idle listening (no voice yet, or none for 2 s) sends 100 ms messages; a loud chunk goes out at
once, with what was held; while you speak messages carry 40 ms; nothing the mic gave is lost.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from voicecli.audio.fakes import ArrayMicrophone, NullSpeaker
from voicecli.protocol.messages import RealtimeInput, Setup
from voicecli.protocol.session import ServerSession
from voicecli.settings import Settings
from voicecli.talk.options import TalkOptions
from voicecli.talk.run import run_talk

RATE = 16000


class RecordingPeer:
    """Answers setup, then records (arrival, pcm) of every audio message."""

    def __init__(self) -> None:
        self.audio: list[tuple[float, bytes]] = []

    async def handler(self, ws: Any) -> None:
        proto = ServerSession()
        try:
            async for frame in ws:
                proto.receive_data(frame)
                for msg in proto.events_received():
                    if isinstance(msg, Setup):
                        proto.send_setup_complete("batching")
                        for data in proto.data_to_send():
                            await ws.send(data)
                    elif isinstance(msg, RealtimeInput) and msg.audio and msg.audio.data:
                        self.audio.append((time.monotonic(), msg.audio.data))
        except ConnectionClosed:
            pass


def tone(seconds: float, dbfs: float = -20.0) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    amp = 10 ** (dbfs / 20) * np.sqrt(2)
    return np.rint(amp * 32767 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()


async def test_idle_audio_goes_in_100_ms_messages_speech_in_40_ms_and_onsets_at_once() -> None:
    quiet, loud = bytes(2 * round(2.6 * RATE)), tone(0.6)
    mic = ArrayMicrophone(quiet + loud + bytes(2 * RATE // 2))
    peer = RecordingPeer()
    stop = asyncio.Event()
    async with serve(peer.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with mic:
            task = asyncio.create_task(run_talk(
                Settings.of(base_url=f"http://127.0.0.1:{port}"), TalkOptions(), mic=mic,
                speaker=NullSpeaker(), read_keys=False, stop=stop))
            while mic.chunks_read * 640 < len(quiet) + len(loud) + 16000:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 10)
    sizes = [len(pcm) for _, pcm in peer.audio]
    wire = b"".join(pcm for _, pcm in peer.audio)
    assert wire[:len(quiet)] == quiet  # in order, nothing lost or added
    assert wire[len(quiet):len(quiet) + len(loud)] == loud
    onset = next(k for k, (_, pcm) in enumerate(peer.audio)
                 if np.abs(np.frombuffer(pcm, "<i2")).max() > 1000)
    before = sizes[:onset]
    assert set(before) == {3200} and len(before) >= 20  # idle, no voice yet: 100 ms messages
    first = np.frombuffer(peer.audio[onset][1], "<i2")
    assert np.abs(first[-320:]).max() > 1000  # the loud chunk ended its message: sent at once
    during = sizes[onset + 1:onset + 1 + 12]  # 0.48 s of the 0.6 s tone
    assert set(during) == {1280}  # speech: 40 ms messages
    assert sizes[-1] == 640  # after the speech hold: one chunk per message again
