"""ArrayMicrophone and NullSpeaker: the device-free AudioInput / AudioOutput."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.speechgen import tone
from voicecli.audio.fakes import ArrayMicrophone, NullSpeaker
from voicecli.errors import AudioDeviceError


async def test_array_microphone_serves_exact_chunks_then_silence() -> None:
    pcm = tone(440, 50, rate=16000)
    async with ArrayMicrophone(pcm, chunk_ms=20, realtime=False) as m:
        chunks = [await m.read_chunk() for _ in range(4)]
    assert [len(c) for c in chunks] == [640] * 4
    assert b"".join(chunks)[: len(pcm)] == pcm
    assert not any(chunks[3]) and m.level_dbfs == float("-inf")


async def test_array_microphone_can_end_instead() -> None:
    async with ArrayMicrophone(bytes(640), chunk_ms=20, realtime=False,
                               then_silence=False) as m:
        await m.read_chunk()
        with pytest.raises(EOFError):
            await m.read_chunk()


async def test_array_microphone_is_paced_in_real_time() -> None:
    async with ArrayMicrophone(bytes(6400), chunk_ms=20) as m:
        start = time.monotonic()
        for _ in range(10):
            await m.read_chunk()
        assert time.monotonic() - start == pytest.approx(0.2, abs=0.05)


async def test_array_microphone_can_simulate_a_dead_device() -> None:
    m = ArrayMicrophone(bytes(640), realtime=False)
    m.raise_if_failed()
    m.fail("unplugged")
    with pytest.raises(AudioDeviceError, match="unplugged"):
        await m.read_chunk()


async def test_null_speaker_consumes_in_real_time() -> None:
    async with NullSpeaker() as sp:
        sp.play(tone(440, 300, rate=24000))
        assert sp.buffered_ms == pytest.approx(300, abs=10)
        assert sp.heard_at is not None
        await asyncio.sleep(0.1)
        assert sp.buffered_ms == pytest.approx(200, abs=30)
        await asyncio.sleep(0.25)
        assert sp.buffered_ms == 0
        assert sp.heard == tone(440, 300, rate=24000)


async def test_null_speaker_flush_drops_the_rest_and_late_audio() -> None:
    sp = NullSpeaker()
    sp.play(tone(440, 500, rate=24000))
    await asyncio.sleep(0.1)
    sp.flush()
    heard = len(sp.heard)
    assert 2 * 2400 * 0.8 < heard < 2 * 2400 * 1.6
    assert sp.heard_at is None and sp.buffered_ms == 0
    sp.play(tone(440, 100, rate=24000))  # late audio of the interrupted turn
    assert sp.stats.late_dropped_frames == 2400 and sp.buffered_ms == 0
    sp.start_turn()
    sp.play(tone(880, 100, rate=24000))
    assert sp.buffered_ms == pytest.approx(100, abs=10) and sp.turns == 2


def test_null_speaker_without_realtime_hears_at_once_and_resamples() -> None:
    sp = NullSpeaker(realtime=False)
    sp.play(tone(440, 100, rate=16000), rate=16000)
    sp.end_of_turn()
    assert sp.buffered_ms == 0
    assert len(sp.heard) == 2 * 2400
    assert sp.stats.flushes == 0
    sp.raise_if_failed()
    sp.fail()
    with pytest.raises(AudioDeviceError):
        sp.raise_if_failed()
