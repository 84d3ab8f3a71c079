"""Streaming input transcription from a recogniser whose partial hypotheses change as it listens.

The Live API sends `inputTranscription` as deltas that clients concatenate (live-protocol.md
§4.2), so nothing sent can be taken back. pocketsphinx revises the tail of its partial
hypothesis as more audio arrives; a word is released only once it has stayed the same in
:data:`STABLE_HYPOTHESES` partial hypotheses in a row and is not the last word heard. At the end of
the utterance the rest of the final text follows; if the final text disagrees with what was
already released (rare), only its words beyond the released count are sent, and the prompt the
model answers is the final text.
"""

from __future__ import annotations

STABLE_HYPOTHESES = 2


class PartialTranscript:
    """Turns successive partial hypotheses into append-only transcript deltas."""

    def __init__(self) -> None:
        self._released: list[str] = []
        self._recent: list[list[str]] = []

    def update(self, hypothesis: str) -> str:
        """A new partial hypothesis; returns the delta to send now ("" if none)."""
        words = hypothesis.split()
        self._recent = [*self._recent, words][-STABLE_HYPOTHESES:]
        if len(self._recent) < STABLE_HYPOTHESES:
            return ""
        stable = _common_prefix(self._recent)[: max(0, len(words) - 1)]
        if stable[: len(self._released)] != self._released:
            return ""  # the recogniser revised a released word; wait for the final text
        return self._release(stable[len(self._released) :])

    def finish(self, final: str) -> str:
        """The utterance's final text; returns the last delta and resets for the next one."""
        delta = self._release(final.split()[len(self._released) :])
        self._released, self._recent = [], []
        return delta

    def _release(self, words: list[str]) -> str:
        if not words:
            return ""
        text = " ".join(words)
        delta = f" {text}" if self._released else text
        self._released.extend(words)
        return delta


def _common_prefix(hypotheses: list[list[str]]) -> list[str]:
    prefix: list[str] = []
    for words in zip(*hypotheses, strict=False):
        if any(w != words[0] for w in words):
            break
        prefix.append(words[0])
    return prefix
