"""Recognition quality must not get worse: WER on the fixed corpus, streamed as the server
streams it (20 ms chunks into one recogniser per utterance).

The default recogniser (Whisper tiny.en) is held to issue 15's targets on speech by espeak-ng and
by the local engine's own Piper voice; pocketsphinx (`--asr pocketsphinx`) to its measured level.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.wer import (
    load_corpus,
    normalize,
    synthesize_corpus,
    synthesize_corpus_piper,
    word_errors,
)
from voicecli.speech.asr import Recognizer
from voicecli.speech.whisper import WhisperRecognizer

# pocketsphinx 5.1.1: 30.9 % (60/194 words) when the corpus was made
# (benchmarks/bench_local_engine.py); 2 points of headroom for another platform's float maths.
MAX_WER_POCKETSPHINX = 33.0
# Whisper tiny.en, streamed with interim decodes: targets of issue 15 (measured 11.9 % espeak;
# Piper 2.1 % with seed 0, 1.0-2.6 % over seeds 0-3; benchmarks/bench_local_engine.py)
MAX_WER_WHISPER_ESPEAK = 15.0
MAX_WER_WHISPER_PIPER = 3.0
CHUNK_BYTES = 640


def test_word_errors_counts_each_kind() -> None:
    assert word_errors(normalize("set a timer"), normalize("Set a timer.")) == (0, 0, 0)
    assert word_errors(["a", "b", "c"], ["a", "x", "c", "d"]) == (1, 0, 1)
    assert word_errors(["a", "b", "c"], ["c"]) == (0, 2, 0)
    assert normalize("Set it to 20 degrees at 7.") == "set it to twenty degrees at seven".split()


def corpus_wer(speech: list[bytes], open_recognizer: Callable[[], object]) -> float:
    sentences = load_corpus()
    errors = words = 0
    for ref, pcm in zip(sentences, speech, strict=True):
        recognizer = open_recognizer()  # a fresh one per utterance, as the benchmark does
        try:
            recognizer.start()  # type: ignore[attr-defined]
            for i in range(0, len(pcm), CHUNK_BYTES):
                recognizer.feed(pcm[i : i + CHUNK_BYTES])  # type: ignore[attr-defined]
            text = recognizer.finish()  # type: ignore[attr-defined]
        finally:
            recognizer.close()  # type: ignore[attr-defined]
        subs, dels, ins = word_errors(normalize(ref), normalize(text))
        errors += subs + dels + ins
        words += len(normalize(ref))
    wer = 100 * errors / words
    print(f"\ncorpus WER {wer:.1f} % ({errors}/{words})")
    return wer


@pytest.fixture(scope="module")
def espeak_corpus() -> list[bytes]:
    return synthesize_corpus(load_corpus())


def test_pocketsphinx_wer_does_not_get_worse(espeak_corpus: list[bytes]) -> None:
    assert corpus_wer(espeak_corpus, Recognizer) <= MAX_WER_POCKETSPHINX


def test_whisper_wer_on_espeak_speech(espeak_corpus: list[bytes]) -> None:
    assert corpus_wer(espeak_corpus, WhisperRecognizer) <= MAX_WER_WHISPER_ESPEAK


def test_whisper_wer_on_the_piper_voice() -> None:
    speech = synthesize_corpus_piper(load_corpus(), seed=0)  # the same rendering every run
    assert corpus_wer(speech, WhisperRecognizer) <= MAX_WER_WHISPER_PIPER
