"""voicecli.speech.tts: real espeak-ng speech, streamed and abortable."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from voicecli.audio.pcm import duration_ms, rms_dbfs
from voicecli.errors import ConfigError
from voicecli.speech.tts import CHUNK_BYTES, LIVE_VOICES, RATE, Synthesizer, voice_for

PHRASE = "what is the weather like in london today"
LONG = " ".join(["The quick brown fox jumps over the lazy dog, and then it runs away."] * 12)


def about_equal(a: int, b: int) -> bool:
    """espeak's pitch flutter carries over between utterances, so lengths vary a few ms."""
    return abs(a - b) <= max(0.02 * max(a, b), 2 * CHUNK_BYTES)


def collect(synth: Synthesizer, text: str) -> list[bytes]:
    chunks: list[bytes] = []
    synth.synthesize(text, chunks.append)
    return chunks


def test_speech_is_24k_pcm16_of_plausible_length_and_level() -> None:
    assert RATE == Synthesizer.RATE == 24000
    pcm = Synthesizer().synthesize_bytes(PHRASE)
    seconds = duration_ms(len(pcm), RATE) / 1000
    assert 1.5 < seconds < 4.5  # 8 words at 175 wpm ≈ 2.7 s plus pauses
    assert -30 < rms_dbfs(pcm) < -10
    samples = np.frombuffer(pcm, dtype=np.int16)
    assert np.max(np.abs(samples)) < 32767  # no clipping from the resampler


def test_slower_rate_gives_longer_speech() -> None:
    fast = Synthesizer(words_per_minute=250).synthesize_bytes(PHRASE)
    slow = Synthesizer(words_per_minute=120).synthesize_bytes(PHRASE)
    assert len(slow) > 1.5 * len(fast)


def test_chunks_are_40ms_and_join_to_the_whole() -> None:
    synth = Synthesizer()
    chunks = collect(synth, PHRASE)
    assert CHUNK_BYTES == 1920
    assert all(len(c) == CHUNK_BYTES for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= CHUNK_BYTES
    assert about_equal(len(b"".join(chunks)), len(synth.synthesize_bytes(PHRASE)))


def test_first_chunk_arrives_long_before_synthesis_ends() -> None:
    synth = Synthesizer()
    stamps: list[float] = []
    start = time.perf_counter()
    synth.synthesize(LONG, lambda _c: stamps.append(time.perf_counter() - start))
    total = time.perf_counter() - start
    assert len(stamps) > 500  # ~40 s of speech
    assert stamps[0] < 0.1 * total  # streamed as espeak renders, not after the whole text
    assert stamps[len(stamps) // 2] > 5 * stamps[0]


def test_returning_true_aborts_promptly_and_engine_recovers() -> None:
    synth = Synthesizer()
    full = synth.synthesize_bytes(LONG)
    seen: list[bytes] = []

    def barge_in(chunk: bytes) -> bool:
        seen.append(chunk)
        return len(seen) == 3

    start = time.perf_counter()
    synth.synthesize(LONG, barge_in)
    elapsed = time.perf_counter() - start
    assert len(seen) == 3 and all(len(c) == CHUNK_BYTES for c in seen)
    assert elapsed < 0.5  # full synthesis of ~40 s would go on; an abort returns at once
    assert about_equal(len(synth.synthesize_bytes(LONG)), len(full))  # next one is complete


def test_exception_in_callback_propagates_and_stops() -> None:
    synth = Synthesizer()
    calls = 0

    def boom(_chunk: bytes) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("sink closed")

    with pytest.raises(RuntimeError, match="sink closed"):
        synth.synthesize(LONG, boom)
    assert calls == 1
    assert len(synth.synthesize_bytes("hello")) > 0


def test_blank_text_yields_nothing() -> None:
    assert collect(Synthesizer(), "  \n") == []


def test_threads_share_the_engine_safely() -> None:
    voices = ["en-us+f2", "en-us+m3", "de", "en-us+f4"]
    expected = {v: len(Synthesizer(v).synthesize_bytes(PHRASE)) for v in voices}
    results: list[tuple[str, int]] = []

    def work(voice: str) -> None:
        results.append((voice, len(Synthesizer(voice).synthesize_bytes(PHRASE))))

    threads = [threading.Thread(target=work, args=(v,)) for v in voices * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(v for v, _ in results) == sorted(voices * 3)
    assert all(about_equal(n, expected[v]) for v, n in results)


def test_voice_for_maps_all_30_live_voices_deterministically() -> None:
    assert len(LIVE_VOICES) == 30
    mapped = {name: voice_for(name) for name in LIVE_VOICES}
    assert mapped == {name: voice_for(name) for name in LIVE_VOICES}
    assert voice_for("Kore") == voice_for("kore") == voice_for(" KORE ")
    assert voice_for("Kore").startswith("en-us+f") and voice_for("Puck").startswith("en-us+m")
    assert voice_for("Zephyr") != voice_for("Kore")
    assert voice_for("Nobody") == voice_for(None) == "en-us"


@pytest.mark.parametrize(("language", "expected"), [
    (None, "en-us"), ("en-US", "en-us"), ("en-GB", "en"), ("de-DE", "de"), ("fr-FR", "fr"),
    ("es-ES", "es"), ("pt-BR", "pt-br"), ("it_IT", "it"), ("ja-JP", "ja"), ("zh-CN", "cmn"),
    ("xx-YY", "en-us"), ("", "en-us"),
])
def test_voice_for_language(language: str | None, expected: str) -> None:
    assert voice_for(None, language) == expected
    assert voice_for("Puck", language) == f"{expected}+{LIVE_VOICES['Puck']}"


def median_pitch_hz(pcm: bytes, rate: int = RATE) -> float:
    """Median autocorrelation pitch of the loud 40 ms frames."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    n = rate // 25
    lags = np.arange(rate // 400, rate // 60)
    pitches = []
    for start in range(0, len(x) - n, n):
        frame = x[start : start + n] - x[start : start + n].mean()
        if np.sqrt(np.mean(frame**2)) < 0.03 * 32768:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1 :]
        pitches.append(rate / lags[np.argmax(ac[lags])])
    return float(np.median(pitches))


def test_distinct_live_voices_sound_different() -> None:
    assert Synthesizer("Puck").voice == voice_for("Puck") != voice_for("Kore")
    puck = median_pitch_hz(Synthesizer("Puck").synthesize_bytes(PHRASE))
    kore = median_pitch_hz(Synthesizer("Kore").synthesize_bytes(PHRASE))
    assert 70 < puck < 180 and kore > 1.4 * puck  # a male and a female voice


def test_german_voice_speaks() -> None:
    pcm = Synthesizer(voice_for("Kore", "de-DE")).synthesize_bytes("Wie ist das Wetter heute")
    assert duration_ms(len(pcm), RATE) > 800


@pytest.mark.parametrize("kwargs", [{"voice": "no-such-voice-xyz"}, {"words_per_minute": 5}])
def test_bad_settings_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Synthesizer(**kwargs)  # type: ignore[arg-type]


def test_the_local_engine_has_a_voice_for_every_prebuilt_live_voice() -> None:
    from voicecli.protocol.voices import PREBUILT_VOICES
    from voicecli.speech.tts import LIVE_VOICES

    assert set(LIVE_VOICES) == set(PREBUILT_VOICES)
