"""The result of a transcription: timed segments and the whole text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    """One utterance: where it is in the file (seconds) and what was said."""

    start_s: float
    end_s: float
    text: str


@dataclass
class Transcript:
    """Segments in file order; `text` joins them with spaces."""

    segments: list[Segment] = field(default_factory=list)
    duration_s: float = 0.0
    sessions: int = 0  # Live sessions opened (a long file needs several, §5.7; restarts too)
    restarts: int = 0  # sessions replaced after a lost connection, goAway or broken frame

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)
