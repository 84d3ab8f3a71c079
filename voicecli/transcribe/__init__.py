"""`voicecli transcribe` as a library (usable without typer).

    transcript = asyncio.run(transcribe(load_settings(), load_audio("talk.wav").tobytes()))
    for s in transcript.segments:
        print(f"{s.start_s:.1f}–{s.end_s:.1f} {s.text}")
"""

from voicecli.transcribe.engine import (
    TranscribeOptions,
    TranscriptionStopped,
    transcribe,
    transcribe_at,
    transcription_setup,
)
from voicecli.transcribe.formats import FORMATS, render
from voicecli.transcribe.model import Segment, Transcript
from voicecli.transcribe.split import Span, SplitConfig, split_utterances

__all__ = [
    "FORMATS",
    "Segment",
    "Span",
    "SplitConfig",
    "TranscribeOptions",
    "Transcript",
    "TranscriptionStopped",
    "render",
    "split_utterances",
    "transcribe",
    "transcribe_at",
    "transcription_setup",
]
