"""Transcription against the real local server (Whisper tiny.en: the words, in order)."""

from __future__ import annotations

import pytest

from tests.transcribe.audio import SENTENCES, spoken
from tests.wer import normalize
from voicecli.client.endpoints import build_endpoint
from voicecli.server import RunningServer, ServerConfig, start_server
from voicecli.server.session.faults import FaultPlan
from voicecli.settings import load_settings
from voicecli.transcribe import TranscribeOptions, Transcript, transcribe_at

LONG = [  # sentences Whisper tiny.en hears word for word (see tests/transcribe/audio.py)
    ("please open the window", "window"),
    ("lock the front door", "door"),
    ("what is the weather like in london today", "london"),
    ("turn on the kitchen light", "kitchen"),
    ("what is the capital of france", "france"),
    ("thank you very much", "thank"),
]


def settings_for(server: RunningServer):  # type: ignore[no-untyped-def]
    return load_settings({"backend": "gemini", "base_url": server.url, "max_reconnects": 8,
                          "model": "gemini-3.5-transcribe-live"},
                         config_path=None)


async def run(server: RunningServer, pcm: bytes, **opts: float) -> Transcript:
    settings = settings_for(server)
    endpoint = build_endpoint(settings)
    return await transcribe_at(endpoint, settings, pcm, TranscribeOptions(**opts))


def words_in_order(transcript: Transcript, sentences: list[str]) -> None:
    """One segment per sentence, each heard word for word (case and punctuation aside)."""
    texts = [s.text for s in transcript.segments]
    assert [" ".join(normalize(t)) for t in texts] == sentences, texts


async def test_three_sentences_timed(local_server: RunningServer) -> None:
    audio = spoken([s for s, _ in SENTENCES])
    transcript = await run(local_server, audio.pcm)
    words_in_order(transcript, [s for s, _ in SENTENCES])
    for segment, (start, end) in zip(transcript.segments, audio.truth, strict=True):
        assert abs(segment.start_s - start) < 0.5 and abs(segment.end_s - end) < 0.5
    assert transcript.sessions == 1
    assert abs(transcript.duration_s - len(audio.pcm) / 32000) < 0.01


async def test_long_file_spans_several_sessions(local_server: RunningServer) -> None:
    audio = spoken([s for s, _ in LONG], gap_ms=900)
    transcript = await run(local_server, audio.pcm, session_budget_s=5.0)
    assert transcript.sessions >= 2
    words_in_order(transcript, [s for s, _ in LONG])


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
    words_in_order(transcript, [s for s, _ in LONG])
    for segment, (start, end) in zip(transcript.segments, audio.truth, strict=True):
        assert abs(segment.start_s - start) < 0.5 and abs(segment.end_s - end) < 0.5
