"""Rendering a Transcript as text, JSON, SubRip (SRT) or WebVTT."""

from __future__ import annotations

import json
from typing import Any

from voicecli.transcribe.model import Transcript

FORMATS = ("text", "json", "srt", "vtt")
EXTENSIONS = {"text": "txt", "json": "json", "srt": "srt", "vtt": "vtt"}


def timestamp(seconds: float, sep: str) -> str:
    """`HH:MM:SS<sep>mmm` (SRT uses ',' and WebVTT '.')."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_text(t: Transcript) -> str:
    """One line per segment."""
    return "".join(f"{s.text}\n" for s in t.segments if s.text)


def to_json_obj(t: Transcript, file: str) -> dict[str, Any]:
    return {
        "file": file,
        "duration_s": round(t.duration_s, 3),
        "segments": [
            {"start": round(s.start_s, 3), "end": round(s.end_s, 3), "text": s.text}
            for s in t.segments
        ],
        "text": t.text,
    }


def to_json(t: Transcript, file: str) -> str:
    return json.dumps(to_json_obj(t, file), ensure_ascii=False, indent=2) + "\n"


def to_srt(t: Transcript) -> str:
    blocks = [
        f"{i}\n{timestamp(s.start_s, ',')} --> {timestamp(s.end_s, ',')}\n{s.text}\n"
        for i, s in enumerate((s for s in t.segments if s.text), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(t: Transcript) -> str:
    blocks = [
        f"{timestamp(s.start_s, '.')} --> {timestamp(s.end_s, '.')}\n{s.text}\n"
        for s in t.segments
        if s.text
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def render(t: Transcript, fmt: str, file: str = "") -> str:
    """`t` in format `fmt` (one of FORMATS)."""
    if fmt == "json":
        return to_json(t, file)
    if fmt == "srt":
        return to_srt(t)
    if fmt == "vtt":
        return to_vtt(t)
    return to_text(t)
