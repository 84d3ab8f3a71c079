"""How talk packs the mic's audio into messages (conversation.py: IDLE_BATCH_MS, SPEECH_BATCH_MS),
seen by a real Live peer on loopback WebSockets that records every realtimeInput audio message.

Idle listening (no voice yet, or none for 2 s) sends 120 ms messages; a loud chunk goes out at
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
    """Answers setup (and then streams ``reply`` of model audio, if any), then records
    (arrival, pcm) of every audio message."""

    def __init__(self, reply: bytes = b"") -> None:
        self.audio: list[tuple[float, bytes]] = []
        self.reply = reply

    async def handler(self, ws: Any) -> None:
        proto = ServerSession()
        try:
            async for frame in ws:
                proto.receive_data(frame)
                for msg in proto.events_received():
                    if isinstance(msg, Setup):
                        proto.send_setup_complete("batching")
                        if self.reply:
                            proto.send_model_audio(self.reply)
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


async def record_messages(mic: ArrayMicrophone, until_bytes: int,
                          reply: bytes = b"") -> list[tuple[float, bytes]]:
    """Talk with ``mic`` against the recording peer until the mic served ``until_bytes``."""
    peer = RecordingPeer(reply)
    stop = asyncio.Event()
    async with serve(peer.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with mic:
            task = asyncio.create_task(run_talk(
                Settings.of(base_url=f"http://127.0.0.1:{port}"), TalkOptions(), mic=mic,
                speaker=NullSpeaker(), read_keys=False, stop=stop))
            while mic.chunks_read * 640 < until_bytes:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 10)
    return peer.audio


async def test_idle_audio_goes_in_120_ms_messages_speech_in_40_ms_and_onsets_at_once() -> None:
    quiet, loud = bytes(2 * round(2.6 * RATE)), tone(0.6)
    mic = ArrayMicrophone(quiet + loud + bytes(2 * RATE // 2))
    audio = await record_messages(mic, len(quiet) + len(loud) + 16000)
    sizes = [len(pcm) for _, pcm in audio]
    wire = b"".join(pcm for _, pcm in audio)
    assert wire[:len(quiet)] == quiet  # in order, nothing lost or added
    assert wire[len(quiet):len(quiet) + len(loud)] == loud
    onset = next(k for k, (_, pcm) in enumerate(audio)
                 if np.abs(np.frombuffer(pcm, "<i2")).max() > 1000)
    before = sizes[:onset]
    assert set(before) == {3840} and len(before) >= 20  # idle, no voice yet: 120 ms messages
    first = np.frombuffer(audio[onset][1], "<i2")
    assert np.abs(first[-320:]).max() > 1000  # the loud chunk ended its message: sent at once
    during = sizes[onset + 1:onset + 1 + 12]  # 0.48 s of the 0.6 s tone
    assert set(during) == {1280}  # speech: 40 ms messages
    assert sizes[-1] == 640  # after the speech hold: one chunk per message again


class BlockMicrophone(ArrayMicrophone):
    """Delivers two 20 ms chunks per 40 ms block, as talk's PortAudio mic does."""

    @property
    def chunk_ready(self) -> bool:
        return self.chunks_read % 2 == 1  # the block's second chunk came with its first

    async def read_chunk(self) -> bytes:
        if self.chunks_read % 2 == 0 and self._t0 is not None:
            due = self._t0 + (self.chunks_read + 2) * self.chunk_ms / 1000
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        self.realtime = False
        return await super().read_chunk()


async def test_chunks_that_arrive_in_one_block_go_out_in_one_message() -> None:
    """After speech (the reply's time) the mic's quiet audio goes out a block per message, not
    a chunk per message: half the messages, none of it later than its block."""
    loud, quiet = tone(0.4), bytes(2 * RATE)
    mic = BlockMicrophone(loud + quiet)
    audio = await record_messages(mic, len(loud) + len(quiet))
    assert b"".join(pcm for _, pcm in audio)[:len(loud) + len(quiet)] == loud + quiet
    sizes = [len(pcm) for _, pcm in audio]
    assert sizes[-10:] == [1280] * 10  # after the speech hold, before idle: whole blocks


async def test_while_a_reply_plays_the_quiet_mic_goes_in_120_ms_messages_and_an_onset_at_once(
) -> None:
    reply = bytes(2 * 24000 * 3)  # 3 s of model audio, played at 1x by the NullSpeaker
    quiet, loud = bytes(2 * RATE * 2), tone(0.3)
    mic = ArrayMicrophone(quiet + loud + bytes(2 * RATE // 2))
    audio = await record_messages(mic, len(quiet) + len(loud) + 8000, reply=reply)
    wire = b"".join(pcm for _, pcm in audio)
    assert wire[:len(quiet) + len(loud)] == quiet + loud  # in order, nothing lost or added
    onset = next(k for k, (_, pcm) in enumerate(audio)
                 if np.abs(np.frombuffer(pcm, "<i2")).max() > 1000)
    assert set(len(pcm) for _, pcm in audio[2:onset]) == {3840}  # the reply plays: 120 ms
    first = np.frombuffer(audio[onset][1], "<i2")
    assert np.abs(first[-320:]).max() > 1000  # the barge-in ended its message: sent at once
