"""Transcription against the real local server (pocketsphinx: keywords, not exact text)."""

from __future__ import annotations

import pytest

from tests.transcribe.audio import SENTENCES, spoken
from voicecli.client.endpoints import build_endpoint
from voicecli.server import RunningServer, ServerConfig, start_server
from voicecli.server.session.faults import FaultPlan
from voicecli.settings import load_settings
from voicecli.transcribe import TranscribeOptions, Transcript, transcribe_at

LONG = [
    ("please open the window", "window"),
    ("the cat is on the mat", "cat"),  # "cat sat" is "look at stats" to a fresh decoder
    ("what is the weather like in london today", "london"),
    ("turn on the kitchen light", "kitchen"),
    ("i would like a cup of coffee", "coffee"),
    ("the train leaves at seven", "train"),
]


def settings_for(server: RunningServer):  # type: ignore[no-untyped-def]
    return load_settings({"backend": "gemini", "base_url": server.url, "max_reconnects": 8,
                          "model": "gemini-3.5-transcribe-live"},
                         config_path=None)


async def run(server: RunningServer, pcm: bytes, **opts: float) -> Transcript:
    settings = settings_for(server)
    endpoint = build_endpoint(settings)
    return await transcribe_at(endpoint, settings, pcm, TranscribeOptions(**opts))


def keywords_in_order(transcript: Transcript, keywords: list[str]) -> None:
    texts = [s.text for s in transcript.segments]
    assert len(texts) == len(keywords), texts
    for text, word in zip(texts, keywords, strict=True):
        assert word in text, texts


async def test_three_sentences_timed(local_server: RunningServer) -> None:
    audio = spoken([s for s, _ in SENTENCES])
    transcript = await run(local_server, audio.pcm)
    keywords_in_order(transcript, [k for _, k in SENTENCES])
    for segment, (start, end) in zip(transcript.segments, audio.truth, strict=True):
        assert abs(segment.start_s - start) < 0.5 and abs(segment.end_s - end) < 0.5
    assert transcript.sessions == 1
    assert abs(transcript.duration_s - len(audio.pcm) / 32000) < 0.01


async def test_long_file_spans_several_sessions(local_server: RunningServer) -> None:
    audio = spoken([s for s, _ in LONG], gap_ms=900)
    transcript = await run(local_server, audio.pcm, session_budget_s=5.0)
    assert transcript.sessions >= 2
    keywords_in_order(transcript, [k for _, k in LONG])


@pytest.mark.parametrize("spec", [
    "drop-after=40",  # TCP gone, no close frame: 1006
    "close-after=25:1011",  # 1011 after the 25th frame: in the middle of an utterance (~14 each)
    "goaway-after=0.3",  # every connection is told to go away 0.3 s after setup (§4.5)
])
async def test_faults_mid_file_keep_every_segment_once_in_order(spec: str) -> None:
    server = await start_server(
        ServerConfig(host="127.0.0.1", port=0, pace=0.0, faults=FaultPlan.parse(spec))
    )
    try:
        audio = spoken([s for s, _ in LONG], gap_ms=900)
        transcript = await run(server, audio.pcm)
    finally:
        await server.close()
    assert transcript.restarts >= 1 and transcript.sessions == 1 + transcript.restarts
    keywords_in_order(transcript, [k for _, k in LONG])
    for segment, (start, end) in zip(transcript.segments, audio.truth, strict=True):
        assert abs(segment.start_s - start) < 0.5 and abs(segment.end_s - end) < 0.5
