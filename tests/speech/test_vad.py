"""voicecli.speech.vad: segmentation of real espeak speech against a known layout."""

from __future__ import annotations

import numpy as np
import pytest

from tests.speechgen import silence, speech_pcm16
from voicecli.errors import ConfigError
from voicecli.speech.vad import (
    SpeechAudio,
    SpeechEnded,
    SpeechSegmenter,
    SpeechStarted,
    VadEvent,
    VadSettings,
)

RATE = 16000
SENTENCES = [
    "please turn on the kitchen lights",
    "what is the weather like in london today",
    "set a timer for ten minutes",
]
LEAD_MS, GAP_MS = 700, 1500


def speech_span(pcm: bytes) -> tuple[float, float]:
    """(first, last) 10 ms window above -45 dBFS, in seconds: the ground truth."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    level = 10 * np.log10(np.mean(frames**2, axis=1) / 32768**2 + 1e-12)
    loud = np.flatnonzero(level > -45)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


@pytest.fixture(scope="module")
def mix() -> tuple[bytes, list[tuple[float, float]]]:
    """Three sentences separated by 1.5 s of silence, and their true boundaries."""
    pcm, truth = bytearray(silence(LEAD_MS)), []
    for text in SENTENCES:
        speech = speech_pcm16(text)
        start, end = speech_span(speech)
        offset = len(pcm) / 2 / RATE
        truth.append((offset + start, offset + end))
        pcm += speech + silence(GAP_MS)
    return bytes(pcm), truth


def run(settings: VadSettings, pcm: bytes, chunk: int = 640) -> list[VadEvent]:
    seg = SpeechSegmenter(settings, RATE)
    events: list[VadEvent] = []
    for i in range(0, len(pcm), chunk):
        events += seg.feed(pcm[i : i + chunk])
    return events + seg.flush()


def boundaries(events: list[VadEvent]) -> list[tuple[str, float]]:
    return [(type(e).__name__, e.offset_s) for e in events
            if isinstance(e, SpeechStarted | SpeechEnded)]


def test_three_sentences_give_three_segments_at_the_true_boundaries(mix) -> None:
    pcm, truth = mix
    marks = boundaries(run(VadSettings(), pcm))
    assert [kind for kind, _ in marks] == ["SpeechStarted", "SpeechEnded"] * 3
    for (start, end), (_, got_start), (_, got_end) in zip(truth, marks[::2], marks[1::2],
                                                          strict=True):
        assert got_start == pytest.approx(start, abs=0.15)
        assert got_end == pytest.approx(end, abs=0.15)


def test_event_order_and_audio_accounting(mix) -> None:
    pcm, _ = mix
    events = run(VadSettings(), pcm)
    state = "out"
    for e in events:  # Started → Audio* → Ended, never nested
        if isinstance(e, SpeechStarted):
            assert state == "out"
            state = "in"
        elif isinstance(e, SpeechAudio):
            assert state == "in" and len(e.pcm) % 2 == 0
        else:
            assert state == "in"
            state = "out"
    assert state == "out"
    # a segment's preroll and audio are exactly the input, from 300 ms before the onset on
    first_end = next(i for i, e in enumerate(events) if isinstance(e, SpeechEnded))
    seg_audio = b"".join(e.preroll if isinstance(e, SpeechStarted) else e.pcm
                         for e in events[:first_end] if not isinstance(e, SpeechEnded))
    first = events[0]
    assert isinstance(first, SpeechStarted)
    begin = round(first.offset_s * RATE) * 2 - 300 * 32
    assert seg_audio == pcm[begin : begin + len(seg_audio)]


def test_chunk_size_does_not_change_the_result(mix) -> None:
    pcm, _ = mix
    reference = run(VadSettings(), pcm, chunk=640)
    for chunk in (7, 961, 32000):
        events = run(VadSettings(), pcm, chunk=chunk)
        assert boundaries(events) == boundaries(reference)
        audio = b"".join(e.pcm for e in events if isinstance(e, SpeechAudio))
        assert audio == b"".join(e.pcm for e in reference if isinstance(e, SpeechAudio))


def test_long_silence_setting_merges_the_sentences(mix) -> None:
    pcm, truth = mix
    marks = boundaries(run(VadSettings(silence_duration_ms=GAP_MS + 500), pcm))
    assert [kind for kind, _ in marks] == ["SpeechStarted", "SpeechEnded"]
    assert marks[0][1] == pytest.approx(truth[0][0], abs=0.15)
    assert marks[1][1] == pytest.approx(truth[-1][1], abs=0.15)


def test_short_silence_setting_still_separates_and_ends_sooner(mix) -> None:
    pcm, _ = mix
    seg = SpeechSegmenter(VadSettings(silence_duration_ms=300))
    assert seg.end_frames == 10  # ceil(300 / 32)
    low = SpeechSegmenter(VadSettings(end_sensitivity="END_SENSITIVITY_LOW"))
    high = SpeechSegmenter(VadSettings(end_sensitivity="END_SENSITIVITY_UNSPECIFIED"))
    assert low.end_frames > high.end_frames == 25  # 1200 ms vs 800 ms
    starts = [m for m in boundaries(run(VadSettings(silence_duration_ms=300), pcm))
              if m[0] == "SpeechStarted"]
    assert len(starts) >= 3


def noise_burst(ms: int, seed: int = 1, level: float = 0.2) -> bytes:
    x = np.random.default_rng(seed).normal(0, level * 32768, RATE * ms // 1000)
    return np.clip(x, -32768, 32767).astype(np.int16).tobytes()


def tone(ms: int, level: float = 0.1) -> bytes:
    t = np.arange(RATE * ms // 1000) / RATE
    x = level * 32768 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 880 * t)) / 2
    return x.astype(np.int16).tobytes()


def clicks(count: int, gap_ms: int = 200) -> bytes:
    out = bytearray()
    for _ in range(count):
        click = np.zeros(RATE * gap_ms // 1000, dtype=np.int16)
        click[:16] = 20000
        out += click.tobytes()
    return bytes(out)


@pytest.mark.parametrize("sound", ["tone", "noise", "clicks"])
def test_tones_noise_and_clicks_are_not_speech(sound: str) -> None:
    """components.md §2: WebRTC alone fires on all three; the Silero stage must not."""
    made = {"tone": tone(1000), "noise": noise_burst(1000), "clicks": clicks(5)}[sound]
    seg = SpeechSegmenter(VadSettings(start_sensitivity="START_SENSITIVITY_HIGH"))
    events = seg.feed(silence(500) + made + silence(1000)) + seg.flush()
    assert events == []
    assert seg.classifier.scored > 0  # the pre-gate let it through: Silero decided


def test_non_speech_between_sentences_leaves_exactly_the_sentences(mix) -> None:
    pcm, truth = mix
    gap = GAP_MS * RATE // 1000 * 2
    x = bytearray(pcm)
    for (_, end), sound in zip(truth, (tone(600), noise_burst(500), clicks(4)), strict=False):
        at = int((end + 0.4) * RATE) * 2
        x[at : at + len(sound)] = sound
        assert len(sound) < gap
    marks = boundaries(run(VadSettings(), bytes(x)))
    assert len(marks) == 6
    for (kind, offset), expected in zip(marks, [t for pair in truth for t in pair], strict=True):
        assert offset == pytest.approx(expected, abs=0.15), kind


def test_silence_between_turns_is_settled_by_the_pre_gate_alone() -> None:
    hiss = np.random.default_rng(3).normal(0, 30, RATE * 5).astype(np.int16).tobytes()
    pcm = hiss + speech_pcm16(SENTENCES[0]) + hiss
    seg = SpeechSegmenter(VadSettings())
    assert [type(e) for e in seg.feed(pcm) if not isinstance(e, SpeechAudio)] == [
        SpeechStarted, SpeechEnded]
    total = seg.classifier.gated + seg.classifier.scored
    assert total == len(pcm) // seg.frame_bytes
    assert seg.classifier.gated / total > 0.7  # 10 s of the 12 s are between turns


@pytest.mark.parametrize("offset_ms", [0, 5, 10, 20])
def test_low_start_sensitivity_ignores_a_short_sound_that_high_catches(offset_ms: int) -> None:
    speech = speech_pcm16("hello there")
    begin = int(speech_span(speech)[0] * RATE) * 2
    blip = speech[begin : begin + 150 * 32]  # the first 150 ms of a word
    pcm = silence(1000 + offset_ms) + blip + silence(1500)
    high = boundaries(run(VadSettings(start_sensitivity="START_SENSITIVITY_HIGH"), pcm))
    assert [kind for kind, _ in high] == ["SpeechStarted", "SpeechEnded"]
    assert high[0][1] == pytest.approx(1.0 + offset_ms / 1000, abs=0.04)
    assert boundaries(run(VadSettings(start_sensitivity="low"), pcm)) == []


def test_digital_silence_and_faint_noise_are_never_speech() -> None:
    faint = np.random.default_rng(5).normal(0, 20, RATE * 3).astype(np.int16).tobytes()
    for pcm in (silence(3000), faint):
        assert run(VadSettings(start_sensitivity="START_SENSITIVITY_HIGH"), pcm) == []


def test_quiet_speech_is_still_found() -> None:
    speech = np.frombuffer(speech_pcm16(SENTENCES[1]), dtype=np.int16) * 0.05  # about -45 dBFS
    pcm = silence(500) + speech.astype(np.int16).tobytes() + silence(1000)
    assert [kind for kind, _ in boundaries(run(VadSettings(), pcm))] == [
        "SpeechStarted", "SpeechEnded"]


@pytest.mark.parametrize("padding_ms", [0, 150, 300, 600])
def test_preroll_honours_prefix_padding(padding_ms: int) -> None:
    pcm = silence(1000) + speech_pcm16(SENTENCES[0]) + silence(1000)
    events = run(VadSettings(prefix_padding_ms=padding_ms), pcm)
    start = events[0]
    assert isinstance(start, SpeechStarted)
    commit_ms = len(start.preroll) / 32 - padding_ms  # onset to the start decision
    assert 64 <= commit_ms <= 320
    # the preroll ends where the segment's audio begins
    begin = round(start.offset_s * RATE) * 2 - padding_ms * 32
    assert start.preroll == pcm[begin : begin + len(start.preroll)]


def test_preroll_never_reaches_before_the_stream() -> None:
    pcm = silence(90) + speech_pcm16(SENTENCES[0]) + silence(1000)
    start = run(VadSettings(prefix_padding_ms=1000), pcm)[0]
    assert isinstance(start, SpeechStarted)
    assert start.preroll == pcm[: len(start.preroll)]
    assert len(start.preroll) < 1000 * 32


def test_flush_closes_an_open_segment_and_reset_forgets() -> None:
    speech = speech_pcm16(SENTENCES[1])
    seg = SpeechSegmenter(VadSettings())
    events = seg.feed(silence(500) + speech[: len(speech) // 2] + b"\x00")
    assert seg.in_speech and isinstance(events[0], SpeechStarted)
    tail = seg.flush()
    assert isinstance(tail[-1], SpeechEnded) and not seg.in_speech
    assert tail[-1].offset_s > events[0].offset_s
    assert seg.flush() == []
    seg.feed(silence(500) + speech[: len(speech) // 2])
    seg.reset()
    assert not seg.in_speech and seg.flush() == []


def test_offsets_count_audio_since_creation() -> None:
    speech = speech_pcm16(SENTENCES[2])
    seg = SpeechSegmenter(VadSettings())
    seg.feed(silence(2000))
    seg.reset()
    events = seg.feed(silence(1000) + speech) + seg.flush()
    start = events[0]
    assert isinstance(start, SpeechStarted)
    assert start.offset_s == pytest.approx(3.0 + speech_span(speech)[0], abs=0.15)


@pytest.mark.parametrize("bad", [
    VadSettings(start_sensitivity="START_SENSITIVITY_MEDIUM"),
    VadSettings(end_sensitivity="loud"),
    VadSettings(silence_duration_ms=-1),
    VadSettings(prefix_padding_ms=-5),
])
def test_bad_settings_are_config_errors(bad: VadSettings) -> None:
    with pytest.raises(ConfigError):
        SpeechSegmenter(bad)


@pytest.mark.parametrize("rate", [8000, 48000])
def test_only_16khz_is_accepted(rate: int) -> None:
    with pytest.raises(ConfigError, match="16000 Hz"):
        SpeechSegmenter(VadSettings(), rate=rate)
