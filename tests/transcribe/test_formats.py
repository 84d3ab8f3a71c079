"""Exact output formats for a known Transcript."""

from __future__ import annotations

import json

import numpy as np

from tests.speechgen import silence, tone
from voicecli.transcribe import Segment, Transcript, render, split_utterances
from voicecli.transcribe.formats import timestamp
from voicecli.transcribe.split import Span, group_sessions

KNOWN = Transcript(
    segments=[Segment(0.5, 2.25, "hello there"), Segment(3661.25, 3662.5, "one hour in")],
    duration_s=3663.0,
)


def test_timestamps() -> None:
    assert timestamp(0, ",") == "00:00:00,000"
    assert timestamp(3661.0015, ".") == "01:01:01.002"
    assert timestamp(59.9996, ",") == "00:01:00,000"


def test_srt() -> None:
    assert render(KNOWN, "srt") == (
        "1\n00:00:00,500 --> 00:00:02,250\nhello there\n\n"
        "2\n01:01:01,250 --> 01:01:02,500\none hour in\n"
    )


def test_vtt() -> None:
    assert render(KNOWN, "vtt") == (
        "WEBVTT\n\n00:00:00.500 --> 00:00:02.250\nhello there\n\n"
        "01:01:01.250 --> 01:01:02.500\none hour in\n"
    )


def test_json_and_text() -> None:
    obj = json.loads(render(KNOWN, "json", "talk.wav"))
    assert obj == {
        "file": "talk.wav",
        "duration_s": 3663.0,
        "segments": [
            {"start": 0.5, "end": 2.25, "text": "hello there"},
            {"start": 3661.25, "end": 3662.5, "text": "one hour in"},
        ],
        "text": "hello there one hour in",
    }
    assert render(KNOWN, "text") == "hello there\none hour in\n"


def test_split_at_silences() -> None:
    pcm = silence(300) + tone(440, 1000) + silence(800) + tone(440, 500) + silence(300)
    spans = split_utterances(np.frombuffer(pcm, dtype=np.int16))
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in spans] == [(0.3, 1.3), (2.1, 2.6)]
    assert spans[0].send_end <= spans[1].send_start  # padding never overlaps


def test_short_pause_does_not_split_and_long_runs_are_capped() -> None:
    pcm = tone(440, 1000) + silence(300) + tone(440, 1000)
    assert len(split_utterances(np.frombuffer(pcm, dtype=np.int16))) == 1
    from voicecli.transcribe import SplitConfig

    long = np.frombuffer(tone(440, 5000), dtype=np.int16)
    spans = split_utterances(long, SplitConfig(max_s=2.0))
    assert len(spans) == 3 and all(s.end - s.start <= 32000 for s in spans)
    assert [s.start for s in spans[1:]] == [s.end for s in spans[:-1]]


def test_group_sessions_budget() -> None:
    spans = [Span(i * 16000, i * 16000 + 8000, i * 16000, i * 16000 + 8000) for i in range(5)]
    groups = group_sessions(spans, budget_s=1.0)
    assert [len(g) for g in groups] == [2, 2, 1]
    assert [s for g in groups for s in g] == spans
