"""Recognition quality must not get worse: WER on the fixed espeak-ng corpus, streamed as the
server streams it (20 ms chunks into one recogniser per utterance)."""

from __future__ import annotations

from tests.wer import load_corpus, normalize, synthesize_corpus, word_errors
from voicecli.speech.asr import Recognizer

# Measured 30.9 % (60/194 words) with pocketsphinx 5.1.1 when the corpus was made
# (benchmarks/bench_local_engine.py); 2 points of headroom for another platform's float maths.
MAX_WER = 33.0
CHUNK_BYTES = 640


def test_word_errors_counts_each_kind() -> None:
    assert word_errors(normalize("set a timer"), normalize("Set a timer.")) == (0, 0, 0)
    assert word_errors(["a", "b", "c"], ["a", "x", "c", "d"]) == (1, 0, 1)
    assert word_errors(["a", "b", "c"], ["c"]) == (0, 2, 0)


def test_corpus_wer_does_not_get_worse() -> None:
    sentences = load_corpus()
    errors = words = 0
    for ref, pcm in zip(sentences, synthesize_corpus(sentences), strict=True):
        with Recognizer() as recognizer:  # a fresh one per utterance, as the benchmark does
            recognizer.start()
            for i in range(0, len(pcm), CHUNK_BYTES):
                recognizer.feed(pcm[i : i + CHUNK_BYTES])
            subs, dels, ins = word_errors(normalize(ref), normalize(recognizer.finish()))
        errors += subs + dels + ins
        words += len(normalize(ref))
    wer = 100 * errors / words
    print(f"\ncorpus WER {wer:.1f} % ({errors}/{words})")
    assert wer <= MAX_WER
