"""voicecli.audio.echo: offline evaluation with espeak speech through a simulated echo path.

Targets (issue "Talk on laptop speakers"): aec ≥ 30 dB ERLE; no false speech (Silero VAD) on
echo-only stretches with aec or gate; the user's speech still detected in double talk.
Scenario numbers (echo_sim.Scenario defaults): reply at -20 dBFS, echo -10 dB + a 200 ms-RT60
tail of equal energy (≈ -27 dBFS at the mic), user at -20 dBFS barging in 4.5 s into the reply,
-70 dBFS mic noise; the echo delay is not in the timestamps unless ``known_ms`` says so.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

from tests.audio import echo_sim as es
from voicecli.audio import echo
from voicecli.audio._echo_align import FarRing, NearFramer
from voicecli.audio.echo import AecCanceller, GateCanceller, NoCanceller, make_canceller
from voicecli.errors import UsageError

DELAYS = (40, 120, 250)
_cache: dict[tuple[str, float], dict[str, Any]] = {}


def scored(mode: str, delay: float) -> dict[str, Any]:
    """Run one mode on one delay once per test session; metrics plus the canceller's stats."""
    if (mode, delay) not in _cache:
        s = es.Scenario(delay_ms=delay)
        sig = es.signals(s)
        canceller = make_canceller(mode)
        y = es.run(canceller, sig)
        _cache[mode, delay] = {**es.measure(sig, s, y), "stats": canceller.stats, "n": y.size,
                               "n_in": sig.mic.size}
    return _cache[mode, delay]


@pytest.mark.parametrize("delay", DELAYS)
def test_aec_removes_at_least_30_db_of_echo(delay: int) -> None:
    m = scored("aec", delay)
    assert m["erle_db"] >= 30.0  # measured 40.9 / 40.9 / 32.2 dB at 40 / 120 / 250 ms (NS off)
    assert m["erle_first_1s_db"] >= 20.0  # no slow convergence (measured ≥ 26 dB)
    assert m["n"] == m["n_in"]


@pytest.mark.parametrize("delay", DELAYS)
def test_gate_silences_the_echo(delay: int) -> None:
    m = scored("gate", delay)
    assert m["erle_db"] >= 30.0  # gated frames are digital silence (measured ≈ 63 dB, floored)
    assert m["stats"].gated_frames > 300


@pytest.mark.parametrize("mode", ["aec", "gate"])
@pytest.mark.parametrize("delay", DELAYS)
def test_no_false_speech_on_echo_only(mode: str, delay: int) -> None:
    m = scored(mode, delay)
    assert m["echo_only_s"] > 4.0
    assert m["false_speech_share"] <= 0.02  # measured 0.0
    assert m["false_speech_longest_ms"] < 100  # nothing a barge-in detector would act on


def test_without_cancelling_the_echo_is_taken_for_speech() -> None:
    """The baseline that makes the two tests above meaningful."""
    m = scored("off", 120)
    assert m["false_speech_share"] > 0.8
    assert m["erle_db"] == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("mode", ["aec", "gate"])
@pytest.mark.parametrize("delay", DELAYS)
def test_user_speech_survives_double_talk(mode: str, delay: int) -> None:
    m = scored(mode, delay)
    assert m["double_talk_s"] > 2.0
    assert m["near_detected_share"] >= 0.7  # measured aec 0.83-0.89, gate 0.84-0.91
    assert m["dt_near_gain_db"] >= -5.0  # aec costs ≈ 3 dB, gate ≈ 0
    assert m["dt_corr2"] >= {"aec": 0.25, "gate": 0.6}[mode]  # measured aec ≈ 0.34, gate ≥ 0.77


@pytest.mark.parametrize("mode", ["aec", "gate"])
@pytest.mark.parametrize("delay", DELAYS)
def test_the_residual_delay_is_estimated(mode: str, delay: int) -> None:
    assert scored(mode, delay)["stats"].delay_ms == pytest.approx(delay, abs=10)


@pytest.mark.parametrize("mode", ["aec", "gate"])
def test_delay_known_from_timestamps_and_irregular_chunks(mode: str) -> None:
    """250 ms output latency reported by PortAudio (5 ms residual), mic chunks of 2.5-50 ms, the
    exchange twice: AEC3 has a one-off convergence dip ~1-2 s into its first reply here."""
    s = es.Scenario(delay_ms=250)
    sig = es.signals(s)
    canceller = make_canceller(mode)
    y = es.run(canceller, es.twice(sig), chunk=0, known_ms=245)
    assert y.size == 2 * sig.mic.size
    first = es.measure(sig, s, y[: sig.mic.size], vad=False)
    second = es.measure(sig, s, y[sig.mic.size :], vad=False)
    assert first["erle_db"] >= 20.0  # measured aec 25.1 (a 1 s dip to 14 dB), gate 63
    assert second["erle_db"] >= 45.0  # measured aec 57, gate 63
    assert canceller.stats.delay_ms == pytest.approx(0, abs=10)
    assert canceller.stats.late_far_frames < 5


def test_reset_forgets_flushed_playback() -> None:
    """Audio queued for the speaker but flushed never echoes: the gate must not eat the mic."""
    s = es.Scenario(delay_ms=40)
    sig = es.signals(s)
    gate = GateCanceller()
    half = sig.mic.size // 2
    y1 = es.run(gate, es.Signals(sig.far[:half], sig.echo, sig.near, sig.mic[:half]))
    gate.add_far(sig.far[half:].tobytes(), es.T0 + half / es.RATE)  # queued ahead ...
    gate.reset(at=es.T0 + half / es.RATE)  # ... then flushed
    loud = (sig.far[half:] // 2).tobytes()  # the user, at the level the reply would have had
    y2 = gate.process_near(loud, es.T0 + half / es.RATE + 0.3)
    assert y1.size == half and len(y2) == len(loud)
    passed = np.frombuffer(y2, np.int16)[es.RATE // 2 :]  # after the old tail's 300 ms
    assert np.sum(passed.astype(float) ** 2) > 0.9 * np.sum(
        np.frombuffer(loud, np.int16)[es.RATE // 2 :].astype(float) ** 2)


def test_far_end_arriving_late_is_counted() -> None:
    gate = GateCanceller()
    gate.add_far(bytes(3200), 10.0)  # 100 ms of playback
    gate.process_near(bytes(320), 10.05)  # covered
    assert gate.stats.late_far_frames == 0
    gate.process_near(bytes(640), 10.09)  # its 2nd frame needs far end up to 10.11: not there
    assert gate.stats.late_far_frames >= 1


def test_off_passes_everything_unchanged() -> None:
    off = NoCanceller()
    pcm = np.arange(-500, 500, dtype=np.int16).tobytes()
    off.add_far(pcm, 1.0)
    assert off.process_near(pcm, 1.0) == pcm
    assert off.mode == "off" and off.stats.frames == 6


def test_odd_byte_count_is_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        GateCanceller().process_near(b"\x00\x01\x02", 0.0)


def test_factory_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_canceller("aec").mode == "aec"
    assert make_canceller("gate").mode == "gate"
    assert make_canceller("off").mode == "off"
    assert make_canceller("auto").mode == "aec"
    assert make_canceller("auto", headset=True).mode == "off"  # as talk resolves it
    monkeypatch.setattr(echo, "aec_available", lambda: False)
    assert make_canceller("auto").mode == "gate"
    with pytest.raises(UsageError, match="--echo must be one of auto, aec, gate, off"):
        make_canceller("loud")


def test_aec_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "livekit", None)  # import livekit → ImportError
    with pytest.raises(UsageError, match=r"pip install 'voicecli\[aec\]'"):
        AecCanceller()
    monkeypatch.setattr(echo, "aec_available", lambda: True)  # installed but broken: fall back
    assert make_canceller("auto").mode == "gate"


def test_far_ring_places_samples_by_position() -> None:
    ring = FarRing(seconds=0.1)  # 1600 samples, so writes wrap
    ring.write(1000, np.full(800, 7, np.int16))
    ring.write(1810, np.full(500, 9, np.int16))  # 10 samples late: snapped, contiguous
    assert ring.end == 2300
    assert set(ring.read(1790, 20)) == {7, 9}
    ring.write(3000, np.full(100, 5, np.int16))  # a 700-sample gap is silence
    assert not ring.read(2300, 700).any() and set(ring.read(3000, 100)) == {5}
    assert not ring.read(1000, 100).any()  # too old: overwritten, reads as silence
    ring.clear_from(3050)
    assert ring.end == 3050 and set(ring.read(3000, 50)) == {5}


def test_near_framer_keeps_the_length_and_the_clock() -> None:
    framer = NearFramer()
    sizes, total_in, total_out, pos = [100, 300, 17, 160, 423, 200], 0, 0, 0
    for n in sizes:
        frames = framer.frames(pos, np.zeros(n, np.int16))
        processed = b"".join(x.tobytes() for _, x in frames)
        total_out += len(framer.output(processed, 2 * n))
        total_in, pos = total_in + 2 * n, pos + n
        assert all(p % 160 == 0 for p, _ in frames)
    assert total_out == total_in
