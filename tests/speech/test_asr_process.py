"""voicecli.speech.asr_process: recognisers in child processes, so decoding keeps the GIL free.

Most tests run pocketsphinx (fast to load); the default recogniser, Whisper, has its own.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from tests.speechgen import silence, speech_pcm16
from voicecli.errors import ConfigError
from voicecli.speech import asr_process
from voicecli.speech.asr import Recognizer
from voicecli.speech.asr_process import ASRProcessError, RemoteRecognizer

PHRASE = "what is the weather like in london today"
KEYWORDS = {"weather", "london"}
PS = "pocketsphinx"


@pytest.fixture(scope="module")
def utterance() -> bytes:
    asr_process.warm_up(PS)  # start the child and load its model outside the measurements
    return silence(300) + speech_pcm16(PHRASE) + silence(300)


def test_same_words_as_the_in_process_recognizer(utterance: bytes) -> None:
    with Recognizer() as local, RemoteRecognizer(engine=PS) as remote:
        expected = local.transcribe(utterance)
        assert KEYWORDS <= set(expected.split())
        assert remote.transcribe(utterance) == expected
        remote.start()  # streamed in 20 ms chunks: the same final text
        partials = [remote.feed(utterance[i : i + 640]) for i in range(0, len(utterance), 640)]
        assert partials[0] == "" and any(partials)
        assert remote.finish() == expected
        assert remote.finish() == ""  # no open utterance any more


def test_whisper_in_the_process_hears_the_words_and_streams_interim_text(
        utterance: bytes) -> None:
    from voicecli.speech.whisper import WhisperRecognizer

    local = WhisperRecognizer()
    expected = local.transcribe(utterance)
    local.close()
    assert expected == "What is the weather like in London today?"
    with RemoteRecognizer() as remote:  # the default engine
        assert remote.transcribe(utterance) == expected
        remote.start()  # streamed at real time in 20 ms chunks: interim text, then the final
        partials = []
        for i in range(0, len(utterance), 640):
            partials.append(remote.feed(utterance[i : i + 640]))
            time.sleep(0.02)
        assert partials[0] == "" and any("weather" in p for p in partials), partials
        assert remote.finish() == expected


def test_interleaved_recognizers_stay_independent(utterance: bytes) -> None:
    with RemoteRecognizer(engine=PS) as a, RemoteRecognizer("en-GB", PS) as b:
        a.start()
        b.start()
        half = len(utterance) // 2 // 2 * 2
        a.feed(utterance[:half])
        b.feed(silence(500))
        a.feed(utterance[half:])
        b.feed(silence(500))
        assert b.finish() == ""  # b heard only silence ...
        assert KEYWORDS <= set(a.finish().split())  # ... and a got all its audio
    with pytest.raises(ValueError, match="closed"):
        a.feed(silence(20))
    a.close()  # idempotent


def test_only_english_is_offered() -> None:
    with pytest.raises(ConfigError, match="only supports English"):
        RemoteRecognizer("de-DE", PS)


def test_a_killed_process_fails_one_call_then_restarts(utterance: bytes) -> None:
    recognizers = [RemoteRecognizer(engine=PS) for _ in range(asr_process.PROCESSES + 1)]
    try:
        for rec in recognizers:
            rec.start()
        rec, *others = recognizers
        (other,) = [o for o in others if o.process_id == rec.process_id]  # in the same process
        rec.feed(utterance[:16000])
        pid = rec.process_id
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ASRProcessError, match="speech recognition process"):
            rec.feed(utterance[16000:])
        assert KEYWORDS <= set(rec.transcribe(utterance).split())  # a new process
        assert rec.process_id not in (None, pid)
        with pytest.raises(ASRProcessError, match="restarted"):  # its audio was lost too
            other.finish()
        assert other.transcribe(silence(200)) == ""
    finally:
        for rec in recognizers:
            rec.close()


def test_recognizers_spread_over_the_processes(utterance: bytes) -> None:
    recognizers = [RemoteRecognizer(engine=PS) for _ in range(2 * asr_process.PROCESSES)]
    try:
        for rec in recognizers:
            rec.start()
        pids = [rec.process_id for rec in recognizers]
        assert len(set(pids)) == asr_process.PROCESSES  # the least busy process each time
        assert all(pids.count(pid) == 2 for pid in pids)
    finally:
        for rec in recognizers:
            rec.close()


def _longest_stall(work: Callable[[], str]) -> tuple[str, float]:
    """Run `work` on a thread; the longest gap in a 1 ms sleep loop on this thread meanwhile."""
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    longest, last = 0.0, time.perf_counter()
    thread.start()
    while thread.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    thread.join()
    return result[0], longest


def test_decoding_does_not_stall_the_calling_process(utterance: bytes) -> None:
    long = utterance * 3  # ~9 s of speech: in-process, pocketsphinx holds the GIL ~400 ms
    with RemoteRecognizer(engine=PS) as rec:
        rec.transcribe(silence(100))
        text, stall = _longest_stall(lambda: rec.transcribe(long))
        assert text.split().count("london") == 3
        assert stall < 0.1, f"the main thread stalled {stall * 1000:.0f} ms"
        rec.feed(utterance)  # end_utt decodes too (in-process ~350 ms on 7.7 s of speech)
        text, stall = _longest_stall(rec.finish)
        assert KEYWORDS <= set(text.split())
        assert stall < 0.1, f"the main thread stalled {stall * 1000:.0f} ms in finish()"
