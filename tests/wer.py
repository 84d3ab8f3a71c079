"""Word error rate on the fixed recognition corpus (benchmarks/corpus/asr_sentences.txt).

Shared by the WER regression test (tests/speech/test_wer_corpus.py) and
benchmarks/bench_local_engine.py, so both measure the same thing the same way.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

from tests.speechgen import speech_pcm16

CORPUS = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus" / "asr_sentences.txt"
VOICE, WPM = "en-us+f2", 150  # pinned (not speechgen's defaults): baselines stay comparable
RATE = 16000

_NOT_WORD = re.compile(r"[^a-z0-9']+")
# Whisper writes the corpus's numbers as digits; spelt out as the corpus has them
_NUMBERS = {"7": "seven", "10": "ten", "20": "twenty"}


def load_corpus(quick: bool = False) -> list[str]:
    lines = [line.strip() for line in CORPUS.read_text().splitlines()]
    sentences = [line for line in lines if line and not line.startswith("#")]
    return sentences[::4] if quick else sentences


def synthesize_corpus(sentences: list[str]) -> list[bytes]:
    return [speech_pcm16(s, RATE, VOICE, WPM) for s in sentences]


def synthesize_corpus_piper(sentences: list[str], seed: int = 0) -> list[bytes]:
    """The corpus spoken by the local engine's Piper voice, at 16 kHz, with 300 ms of silence
    either side (what the server's VAD hands over: its prefix padding, then the silence wait).

    Piper's voice draws random noise inside its ONNX graph, so each rendering differs a little
    (1-8 errors in 194 words over nine renderings). The corpus is rendered in a fresh process
    whose onnxruntime generator is seeded with `seed` before the voice loads, so one seed gives
    the same audio in every run."""
    done = subprocess.run([sys.executable, "-m", "tests.wer", "--piper-seed", str(seed)],
                          input="\n".join(sentences).encode(), capture_output=True, check=True,
                          cwd=CORPUS.parents[2], timeout=600)
    return _unpack(done.stdout)


def _render_piper(sentences: list[str], seed: int) -> list[bytes]:
    import numpy as np
    import onnxruntime

    onnxruntime.set_seed(seed)  # before the voice's session exists: its noise follows the seed

    from tests.speechgen import silence
    from voicecli.audio.pcm import resample
    from voicecli.speech.piper import PiperSynthesizer

    synth = PiperSynthesizer()
    pad = silence(300, RATE)
    return [pad + resample(np.frombuffer(synth.synthesize_bytes(s), dtype=np.int16), synth.RATE,
                           RATE).tobytes() + pad for s in sentences]


def _pack(parts: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(p)) + p for p in parts)


def _unpack(data: bytes) -> list[bytes]:
    parts, at = [], 0
    while at < len(data):
        (size,) = struct.unpack_from("<I", data, at)
        parts.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return parts


def normalize(text: str) -> list[str]:
    """Lowercase words, punctuation stripped (apostrophes inside words kept), the corpus's
    numbers spelt out."""
    words = [w.strip("'") for w in _NOT_WORD.sub(" ", text.lower()).split() if w.strip("'")]
    return [_NUMBERS.get(w, w) for w in words]


def word_errors(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of a minimum word-level edit from ref to hyp."""
    # each cell: (edits, substitutions, deletions, insertions)
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, r in enumerate(ref, 1):
        cur = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, 1):
            diag, up, left = prev[j - 1], prev[j], cur[j - 1]
            miss = int(r != h)
            cur.append(min((diag[0] + miss, diag[1] + miss, diag[2], diag[3]),
                           (up[0] + 1, up[1], up[2] + 1, up[3]),
                           (left[0] + 1, left[1], left[2], left[3] + 1)))
        prev = cur
    _, subs, dels, ins = prev[-1]
    return subs, dels, ins


if __name__ == "__main__":  # python -m tests.wer --piper-seed N < sentences > packed PCM
    assert sys.argv[1:2] == ["--piper-seed"], sys.argv
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    sys.stdout.buffer.write(_pack(_render_piper(lines, int(sys.argv[2]))))
