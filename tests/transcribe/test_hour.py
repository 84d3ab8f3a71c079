"""An hour of speech through the real local server: every segment once, in order, over several
sessions (live-protocol.md §5.7), sent as fast as the server takes it."""

from __future__ import annotations

import time

import numpy as np

from tests.transcribe.audio import tiled
from tests.transcribe.test_transcribe import run
from tests.wer import normalize
from voicecli.server import RunningServer
from voicecli.transcribe.split import group_sessions, split_utterances

HOUR_S = 3600.0
PERIOD_S = 45.0  # one short phrase every 45 s: 79 segments
BUDGET_S = 20.0  # sent audio per session; the default (600 s) would fit this sparse hour in one


async def test_an_hour_transcribes_completely_and_in_order(local_server: RunningServer) -> None:
    audio = tiled(HOUR_S, PERIOD_S)
    duration_s = len(audio.pcm) / 32000
    assert duration_s == HOUR_S
    spans = split_utterances(np.frombuffer(audio.pcm, dtype=np.int16))
    groups = group_sessions(spans, BUDGET_S)
    assert len(spans) == len(audio.phrases) and len(groups) >= 3

    started = time.monotonic()
    transcript = await run(local_server, audio.pcm, session_budget_s=BUDGET_S)
    elapsed = time.monotonic() - started

    assert (transcript.sessions, transcript.restarts) == (len(groups), 0)
    assert transcript.duration_s == duration_s
    said = [s.text for s in transcript.segments]
    assert len(said) == len(audio.phrases), said
    wrong = [(i, want, got) for i, (want, got) in enumerate(zip(audio.phrases, said, strict=True))
             if normalize(got) != want.split()]
    assert wrong == [], wrong
    for segment, start in zip(transcript.segments, audio.starts, strict=True):
        assert abs(segment.start_s - start) < 0.1, (segment, start)
    assert elapsed < 300, f"an hour took {elapsed:.0f} s"
