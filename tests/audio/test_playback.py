"""Speaker without a device: the callback is called directly with numpy blocks."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from tests.audio.virtual import dominant_hz
from tests.speechgen import tone
from voicecli.audio.playback import Speaker
from voicecli.audio.prebuffer import CLEAN_TURNS, GROW_MIN_MS, PREBUFFER_MAX_MS

OK = SimpleNamespace(output_underflow=False)


def speaker(rate: int = 48000, prebuffer_ms: float = 60.0, block_ms: float = 10.0) -> Speaker:
    sp = Speaker(prebuffer_ms=prebuffer_ms, block_ms=block_ms, capacity_s=5.0)
    sp.setup(rate)
    return sp


def block(sp: Speaker) -> np.ndarray:
    """One callback block (block_ms at the device rate), as PortAudio would request it."""
    frames = round(sp.rate * sp.block_ms / 1000)
    outdata = np.full((frames, 1), np.nan, dtype=np.float32)
    sp._callback(outdata, frames, None, OK)
    return outdata[:, 0].copy()


def blocks(sp: Speaker, n: int) -> np.ndarray:
    return np.concatenate([block(sp) for _ in range(n)])


def test_24k_to_48k_resampling_has_the_right_length_and_frequency() -> None:
    sp = speaker(48000)
    pcm = tone(1000, 1000, rate=24000, dbfs=-10)
    for i in range(0, len(pcm), 4800):  # 100 ms network chunks
        sp.play(pcm[i:i + 4800])
    sp.end_of_turn()
    out = blocks(sp, 120)
    audible = np.flatnonzero(np.abs(out) > 1e-3)
    assert abs(len(audible) and audible[-1] - audible[0] + 1 - 48000) < 48  # ±1 ms
    assert dominant_hz(out[audible[0]:audible[-1]], 48000) == pytest.approx(1000, abs=2)
    assert not np.isnan(out).any()


def test_same_rate_is_passed_through_bit_exact() -> None:
    sp = speaker(24000)
    pcm = tone(440, 200, rate=24000)
    sp.play(pcm)
    sp.end_of_turn()
    out = blocks(sp, 25)
    expected = np.frombuffer(pcm, "<i2") / 32768.0
    assert np.array_equal(out[: len(expected)], expected.astype(np.float32))
    assert sp.stats.underruns == 0


def test_prebuffer_holds_playback_until_enough_is_buffered() -> None:
    sp = speaker(24000, prebuffer_ms=60)
    sp.play(tone(440, 40, rate=24000))
    assert not blocks(sp, 3).any()  # 40 ms < 60 ms: wait
    assert sp.heard_at is None
    sp.play(tone(440, 40, rate=24000))
    assert block(sp).any()
    assert sp.heard_at is not None
    assert sp.buffered_ms == pytest.approx(70.0)


def test_end_of_turn_releases_a_short_turn() -> None:
    sp = speaker(24000, prebuffer_ms=100)
    sp.play(tone(440, 30, rate=24000))
    assert not block(sp).any()
    sp.end_of_turn()
    assert np.count_nonzero(blocks(sp, 4)) > 0.9 * 720
    assert sp.stats.underruns == 0  # the ring running dry after end_of_turn is not an underrun
    assert not blocks(sp, 5).any()  # between turns: silence, still no underrun
    assert sp.stats.underruns == 0


def test_a_dry_ring_mid_turn_is_an_underrun_and_grows_the_prebuffer() -> None:
    sp = speaker(24000, prebuffer_ms=60)
    sp.play(tone(440, 65, rate=24000))
    blocks(sp, 7)  # 65 ms play out, the 7th block runs dry
    assert sp.stats.underruns == 1
    before = sp.prebuffer_ms
    sp.play(tone(440, 10, rate=24000))  # the loop adapts on its next play()
    assert sp.prebuffer_ms >= before + GROW_MIN_MS
    assert not block(sp).any()  # re-buffering: 10 ms < 70 ms
    for _ in range(40):  # many more underruns (each run dry after the prebuffer): bounded
        sp.play(tone(440, int(sp.prebuffer_ms) + 10, rate=24000))
        blocks(sp, int(sp.prebuffer_ms) // 10 + 3)
    assert sp.stats.underruns > 10
    assert sp.prebuffer_ms == PREBUFFER_MAX_MS


def test_a_long_clean_stretch_shrinks_the_prebuffer_back_to_where_it_started() -> None:
    sp = speaker(24000, prebuffer_ms=20)
    for _ in range(2):  # two underruns: 20 -> at least 40 ms
        sp.play(tone(440, 60, rate=24000))
        blocks(sp, 8)
        sp.play(tone(440, 1, rate=24000))
    grown = sp.prebuffer_ms
    assert grown >= 20 + 2 * GROW_MIN_MS
    sp.end_of_turn()
    blocks(sp, 2)
    for _ in range(CLEAN_TURNS):  # a short clean stretch: the prebuffer stays
        sp.play(tone(440, 80, rate=24000))
        sp.end_of_turn()
        blocks(sp, 12)
    sp.play(tone(440, 80, rate=24000))
    assert sp.prebuffer_ms == grown
    for _ in range(60):
        sp.end_of_turn()
        blocks(sp, 12)
        sp.play(tone(440, 80, rate=24000))
    assert sp.stats.underruns == 2
    assert sp.prebuffer_ms == 20  # slowly, never below the start


def test_the_first_reply_audio_plays_at_once_by_default() -> None:
    sp = Speaker(capacity_s=5.0)
    sp.setup(24000)
    sp.play(tone(440, 20, rate=24000))  # one 20 ms network chunk, turn still open
    assert block(sp).any()  # the 10 ms prebuffer is there: no head start waited for
    assert sp.heard_at is not None


def test_flush_fades_within_one_block_then_silence() -> None:
    sp = speaker(48000)
    sp.play(tone(500, 1000, rate=24000, dbfs=-6))
    playing = blocks(sp, 10)
    assert np.abs(playing[-480:]).max() > 0.3
    sp.flush()
    fade = block(sp)
    fade_len = round(48000 * 0.004)
    assert np.abs(fade[:fade_len]).max() > 0.1  # it fades, it does not click to zero
    assert np.abs(fade[fade_len // 2:fade_len]).max() < np.abs(fade[:fade_len // 2]).max()
    assert not fade[fade_len:].any()
    assert not blocks(sp, 20).any()
    assert sp.buffered_ms == 0 and sp.stats.flushes == 1
    assert sp.heard_at is None


def test_the_fade_continues_the_waveform() -> None:
    sp = speaker(24000)
    pcm = tone(300, 500, rate=24000, dbfs=-6)
    sp.play(pcm)
    played = blocks(sp, 5)
    sp.flush()
    fade = block(sp)
    source = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    assert np.array_equal(played, source[: len(played)])
    assert fade[0] == pytest.approx(source[len(played)])  # ramp starts at 1.0


def test_late_audio_of_an_interrupted_turn_is_dropped_until_start_turn() -> None:
    sp = speaker(24000)
    sp.play(tone(440, 500, rate=24000))
    blocks(sp, 8)
    sp.flush()
    block(sp)
    sp.play(tone(440, 200, rate=24000))  # still streaming in from the interrupted turn
    assert not blocks(sp, 30).any()
    assert sp.stats.late_dropped_frames == 4800
    sp.start_turn()
    sp.play(tone(880, 100, rate=24000))
    sp.end_of_turn()
    out = blocks(sp, 12)
    assert out.any()
    loud = np.flatnonzero(out)
    assert dominant_hz(out[loud[0]:loud[-1]], 24000) == pytest.approx(880, abs=5)
    assert sp.heard_at is not None


def test_heard_at_is_per_turn() -> None:
    sp = speaker(24000, prebuffer_ms=40)
    sp.play(tone(440, 50, rate=24000))
    block(sp)
    first = sp.heard_at
    assert first is not None
    sp.end_of_turn()
    blocks(sp, 6)
    sp.play(tone(440, 50, rate=24000))  # the next turn: not heard yet
    assert sp.heard_at is None
    block(sp)
    second = sp.heard_at
    assert second is not None and second >= first


def test_a_full_ring_drops_and_counts() -> None:
    sp = Speaker(capacity_s=0.1)
    sp.setup(24000)
    sp.play(tone(440, 150, rate=24000))
    assert sp.stats.dropped_frames == 1200
    assert sp.buffered_ms == pytest.approx(100.0)


def test_device_underflow_flags_are_counted() -> None:
    sp = speaker(24000)
    outdata = np.zeros((240, 1), np.float32)
    sp._callback(outdata, 240, None, SimpleNamespace(output_underflow=True))
    assert sp.stats.device_underflows == 1 and sp.stats.underruns == 0


def test_end_of_turn_also_closes_an_interrupted_turn() -> None:
    sp = speaker(24000, prebuffer_ms=40)
    sp.play(tone(440, 300, rate=24000))
    blocks(sp, 6)
    sp.flush()
    sp.play(tone(440, 100, rate=24000))  # dropped: the interrupted turn is still arriving
    sp.end_of_turn()  # ... and now it is over (turnComplete)
    sp.play(tone(880, 100, rate=24000))
    sp.end_of_turn()
    assert sp.stats.late_dropped_frames == 2400
    assert np.count_nonzero(blocks(sp, 12)) > 2000


def timed_block(sp: Speaker, ahead_s: float | None) -> None:
    """One callback whose time_info says the block plays ``ahead_s`` after now."""
    frames = round(sp.rate * sp.block_ms / 1000)
    info = None if ahead_s is None else SimpleNamespace(currentTime=100.0,
                                                        outputBufferDacTime=100.0 + ahead_s)
    sp._callback(np.zeros((frames, 1), np.float32), frames, info, OK)


def test_the_hold_uses_the_lead_the_callback_measured_not_the_latency_guess() -> None:
    """A starting stream fills its buffer in a burst (blocks 0, 10, 20 ms ahead), then stays at
    its steady lead: the largest lead of the first callbacks is the one a 1x reply must wait."""
    sp = speaker(24000, prebuffer_ms=10)
    sp._lead_guess_ms = 30.0  # open()'s guess from the stream's latency (latency + one block)
    for ahead in (0.0, 0.0066, 0.0126, *[0.0131] * 30, 0.5):  # 0.5: after the probe, not used
        timed_block(sp, ahead)
    sp.play(tone(440, 40, rate=24000))  # the turn's first chunk picks the measured lead up
    assert sp.hold_ms == pytest.approx(10 + 13.1)
    sp.end_of_turn()


def test_a_device_that_reports_no_times_keeps_the_guessed_lead() -> None:
    sp = speaker(24000, prebuffer_ms=10)
    sp._lead_guess_ms = 30.0
    for ahead in (None, 5.0, *[0.0] * 30):  # no time_info, nonsense, zeros
        timed_block(sp, ahead)
    sp.play(tone(440, 40, rate=24000))
    assert sp.hold_ms == 40.0
    sp.end_of_turn()


def test_on_a_device_a_1x_reply_waits_the_hold_not_for_frames() -> None:
    """A device pulls its lead at once: a reply paced at 1x starts a hold after its first chunk
    (jitter allowance + lead), however much that chunk holds; a backlog starts at once."""
    sp = speaker(24000, prebuffer_ms=10)
    sp._lead_guess_ms = 30.0  # what open() estimates on a device (latency + one block)
    assert sp.hold_ms == 40.0
    sp.play(tone(440, 40, rate=24000))  # 40 ms >= the 10 ms prebuffer, but it would run dry
    assert not block(sp).any()
    time.sleep(0.045)
    assert block(sp).any()  # the hold has passed
    sp.end_of_turn()
    blocks(sp, 6)
    sp.play(tone(440, 200, rate=24000))  # one chunk cannot tell 1x from 2x: the hold
    assert not block(sp).any()
    sp.play(tone(440, 200, rate=24000))  # a backlog (faster than real time): at once
    assert block(sp).any()
    assert sp.stats.underruns == 0
