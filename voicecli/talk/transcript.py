"""Transcript text: deltas joined into readable lines (live-protocol.md §6, "Transcripts arrive
as deltas — concatenate them"), and where an interrupted reply was cut."""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")
_NO_SPACE_BEFORE = tuple(",.;:!?%)]}’'\"…")


def join_fragment(text: str, fragment: str) -> str:
    """Append a transcription delta: concatenate, then make the whitespace readable.

    The service sends deltas with their own spacing (" in Redmond?"); some peers send bare words.
    A bare word after a bare word gets a space; punctuation never gets one before it.
    """
    if not fragment:
        return text
    if not text:
        return _SPACES.sub(" ", fragment).lstrip()
    glue = ""
    if not text[-1].isspace() and not fragment[0].isspace():
        if not fragment.startswith(_NO_SPACE_BEFORE) and _is_word_end(text[-1]):
            glue = " "
    return _SPACES.sub(" ", text + glue + fragment)


def _is_word_end(char: str) -> bool:
    return char.isalnum() or char in ".,;:!?’'\")"


def cut_index(text: str, heard_fraction: float) -> int:
    """Where to mark an interrupted reply: the word boundary nearest the share heard.

    The output transcript runs ahead of the audio, so the words after this point were most
    likely never heard (peers.md (b) 1: record how much of each reply was heard).
    """
    fraction = min(max(heard_fraction, 0.0), 1.0)
    target = round(len(text) * fraction)
    boundaries = [0, len(text), *(i for i, char in enumerate(text) if char == " ")]
    return min(boundaries, key=lambda i: abs(i - target))
