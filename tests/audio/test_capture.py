"""Microphone without a device: blocks are pushed through the callback by hand."""

from __future__ import annotations

import asyncio
import importlib
from types import SimpleNamespace

import numpy as np
import pytest

from tests.audio.virtual import dominant_hz
from voicecli.audio import _streams
from voicecli.audio.capture import BLOCK_JITTER_S, Microphone
from voicecli.errors import AudioDeviceError

OK = SimpleNamespace(input_overflow=False)


def mic(rate: int, **kwargs: object) -> Microphone:
    m = Microphone(**kwargs)  # type: ignore[arg-type]
    m.setup(rate)
    return m


def push(m: Microphone, samples: np.ndarray, block: int = 480, status: object = OK) -> None:
    for i in range(0, len(samples), block):
        part = samples[i:i + block].reshape(-1, 1).astype(np.float32)
        m._callback(part, len(part), None, status)


def sine(freq: float, seconds: float, rate: int, amp: float = 0.3) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)).astype(
        np.float32)


async def read_n(m: Microphone, n: int) -> bytes:
    return b"".join([await m.read_chunk() for _ in range(n)])


async def test_48k_capture_becomes_exact_16k_chunks_at_the_right_frequency() -> None:
    m = mic(48000, chunk_ms=20)
    push(m, sine(1000, 1.1, 48000))
    chunks = [await m.read_chunk() for _ in range(50)]
    assert {len(c) for c in chunks} == {640}
    pcm = np.frombuffer(b"".join(chunks), "<i2").astype(np.float64) / 32768
    assert dominant_hz(pcm[800:], 16000) == pytest.approx(1000, abs=2)
    assert np.sqrt(np.mean(pcm[800:] ** 2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.01)
    assert m.level_dbfs == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.2)


async def test_16k_device_is_not_resampled() -> None:
    m = mic(16000, chunk_ms=10)
    samples = np.round(sine(440, 0.2, 16000) * 32768) / 32768
    push(m, samples, block=160)
    out = await read_n(m, 20)
    assert np.array_equal(np.frombuffer(out, "<i2"), np.round(samples * 32768).astype(np.int16))


async def test_read_chunk_waits_for_audio() -> None:
    m = mic(16000, chunk_ms=20)
    task = asyncio.ensure_future(m.read_chunk())
    await asyncio.sleep(0.03)
    assert not task.done()
    push(m, sine(440, 0.02, 16000), block=320)
    assert len(await asyncio.wait_for(task, 1)) == 640


async def test_silent_mic_is_reported_after_the_timeout() -> None:
    m = mic(16000, chunk_ms=20, silence_timeout_s=0.5)
    push(m, np.zeros(8000, np.float32))
    await read_n(m, 20)
    m.raise_if_failed()  # 0.4 s: not yet
    await read_n(m, 5)
    with pytest.raises(AudioDeviceError, match="only digital silence.*muted.*permission"):
        m.raise_if_failed()
    assert m.level_dbfs == -np.inf
    push(m, sine(440, 0.02, 16000))
    await m.read_chunk()
    assert m.stats.silent_s == 0
    m.raise_if_failed()


async def test_silence_after_a_signal_is_not_an_error() -> None:
    m = mic(16000, chunk_ms=20, silence_timeout_s=0.2)
    push(m, sine(440, 0.02, 16000))
    await m.read_chunk()
    push(m, np.zeros(16000, np.float32))
    await read_n(m, 50)  # a second of exact zeros, as a virtual or noise-gated mic gives
    assert m.stats.silent_s >= 0.9 and m.stats.signal_seen
    m.raise_if_failed()


def test_overflow_flags_and_a_full_ring_are_counted() -> None:
    m = mic(16000, capacity_s=0.1)
    push(m, np.zeros(480, np.float32), status=SimpleNamespace(input_overflow=True))
    push(m, np.zeros(3200, np.float32))
    assert m.stats.overflows == 1
    assert m.stats.dropped_frames == 480 + 3200 - 1600


class FakeStream:
    def __init__(self) -> None:
        self.active = True


async def test_a_stream_that_stops_is_a_device_error() -> None:
    m = mic(16000)
    m._stream, m.device_name = FakeStream(), "USB mic"
    m._stream.active = False
    with pytest.raises(AudioDeviceError, match=r"microphone \(USB mic\) stopped"):
        await m.read_chunk()


async def test_finished_callback_is_a_device_error() -> None:
    m = mic(16000)
    m._stream = FakeStream()
    m._on_finished()
    with pytest.raises(AudioDeviceError, match="ended unexpectedly"):
        m.raise_if_failed()


async def test_a_stream_that_delivers_nothing_is_a_device_error() -> None:
    m = mic(16000, stall_timeout_s=0.1)
    m._stream = FakeStream()
    with pytest.raises(AudioDeviceError, match="no audio arrived"):
        await asyncio.wait_for(m.read_chunk(), 2)


def test_closing_is_not_a_failure() -> None:
    m = mic(16000)
    m._stream = FakeStream()
    m._closing = True
    m._on_finished()
    m.raise_if_failed()


def test_chunk_ms_is_checked() -> None:
    with pytest.raises(ValueError):
        Microphone(chunk_ms=5)


class FakeSd:
    """Just enough of sounddevice for open_stream."""

    class PortAudioError(Exception):
        pass

    def __init__(self, error: Exception) -> None:
        self.error = error

    def query_devices(self, device: object = None, kind: object = None) -> dict[str, object]:
        return {"name": "Fake Mic"}

    def InputStream(self, **kwargs: object) -> object:  # noqa: N802 - sounddevice's name
        raise self.error

    OutputStream = InputStream


@pytest.mark.parametrize("error", [
    ValueError("No input device matching 'x'"),
    FakeSd.PortAudioError("Error opening InputStream: Invalid sample rate [PaErrorCode -9997]"),
])
def test_open_failures_are_one_line_device_errors(monkeypatch: pytest.MonkeyPatch,
                                                  error: Exception) -> None:
    monkeypatch.setattr(_streams, "import_sounddevice", lambda: FakeSd(error))
    monkeypatch.setattr(_streams, "pick_device", lambda spec, kind: None)
    monkeypatch.setattr(_streams, "pick_rate", lambda device, kind, rate: rate)
    with pytest.raises(AudioDeviceError, match=r"cannot open the microphone \(Fake Mic\): ") as e:
        Microphone().open()
    assert "\n" not in str(e.value)


def test_missing_portaudio_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_portaudio(name: str) -> object:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(importlib, "import_module", no_portaudio)
    with pytest.raises(AudioDeviceError, match="libportaudio2.*brew install portaudio"):
        Microphone().open()


async def test_a_patient_mic_wakes_once_per_batch_and_hands_out_the_batch_at_once() -> None:
    m = mic(16000, chunk_ms=20)
    m.patience_ms, m.wake_peak = 100.0, 0.01
    task = asyncio.ensure_future(m.read_chunk())
    push(m, np.zeros(4 * 320, np.float32), block=320)  # 80 ms of quiet: not a batch yet
    await asyncio.sleep(0.02)
    assert not task.done()
    push(m, np.zeros(320, np.float32), block=320)
    assert len(await asyncio.wait_for(task, 1)) == 640  # woke at the batch's end
    for _ in range(4):  # the rest of the batch without waiting
        assert len(await asyncio.wait_for(m.read_chunk(), 0.001)) == 640
    waiting = asyncio.ensure_future(m.read_chunk())
    push(m, np.zeros(320, np.float32), block=320)
    await asyncio.sleep(0.03)
    assert not waiting.done()  # one chunk is not a batch: it waits for the next batch
    waiting.cancel()


def test_a_patient_wait_ends_when_the_block_completing_the_batch_is_due() -> None:
    """120 ms of patience in 40 ms blocks: one wake-up when the third block is due (+ jitter),
    not one at each block, nor one at the batch's nominal end that finds it a block short."""
    m = mic(16000, chunk_ms=20, block_ms=40)
    m.patience_ms = 120.0
    push(m, np.zeros(640, np.float32), block=640)  # a block just arrived (m._block_at = now)
    while m._pull():
        pass
    waits = m._wait_s()  # 40 ms are here: two more blocks, due 40 and 80 ms from now
    assert 0.080 <= waits <= 0.080 + BLOCK_JITTER_S + 0.002
    m._pending.clear()  # none here: three blocks
    assert 0.120 <= m._wait_s() <= 0.120 + BLOCK_JITTER_S + 0.002
    m.patience_ms = 0.0  # one chunk (half a block) missing: the next block
    assert 0.030 <= m._wait_s() <= 0.042


async def test_a_loud_block_ends_a_patient_wait_at_once() -> None:
    m = mic(16000, chunk_ms=20)
    m.patience_ms, m.wake_peak = 100.0, 0.01
    task = asyncio.ensure_future(m.read_chunk())
    push(m, np.zeros(320, np.float32), block=320)
    await asyncio.sleep(0.02)
    assert not task.done()
    push(m, sine(440, 0.02, 16000, amp=0.05), block=320)  # speech begins
    assert len(await asyncio.wait_for(task, 0.05)) == 640  # now, not at the batch's end
    assert len(await asyncio.wait_for(m.read_chunk(), 0.001)) == 640  # the loud chunk follows


def test_talk_opens_the_mic_with_blocks_of_60_ms_or_one_chunk() -> None:
    from voicecli.audio.opening import open_microphone

    assert open_microphone(None).block_ms == 60  # 16.7 PortAudio callbacks a second, not 50
    assert open_microphone(None, chunk_ms=100).block_ms == 100


async def test_a_reader_between_blocks_sleeps_until_the_next_block_is_due() -> None:
    m = mic(16000, chunk_ms=20, block_ms=40.0)
    push(m, np.zeros(640, np.float32), block=640)  # one 40 ms block: two chunks
    assert len(await read_n(m, 2)) == 1280
    # the next chunk is 20 ms of audio away, but it comes with the next block, 40 ms after this
    # one: waking after 20 ms would find nothing
    assert 0.035 <= m._wait_s() <= 0.042
    task = asyncio.ensure_future(m.read_chunk())
    await asyncio.sleep(0.025)
    push(m, np.zeros(640, np.float32), block=640)
    assert len(await asyncio.wait_for(task, 0.05)) == 640
