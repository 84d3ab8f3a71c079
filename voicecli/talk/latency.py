"""The latency meter: end of your speech → the reply (its first audio heard, or its first text
when replies are text). No I/O and no clock of its own: the caller gives the times."""

from __future__ import annotations

import math

THINKING_MAX_S = 15.0  # "thinking" gives up if no reply comes (noise is not a question)


class LatencyMeter:
    def __init__(self) -> None:
        self.speech_end: float | None = None  # the end of speech this reply answers
        self.awaiting_since: float | None = None  # you spoke or typed; no reply yet

    def spoke(self, now: float) -> None:
        """A loud mic chunk: a reply is awaited from now."""
        self.awaiting_since = now

    def asked(self, now: float) -> None:
        """A typed message went out: it ends the question at once."""
        self.speech_end = self.awaiting_since = now

    def speech_ended(self, now: float) -> None:
        """Push-to-talk sent activityEnd."""
        self.speech_end = now

    def reply_started(self, last_voice_at: float, now: float, *, text_only: bool) -> float | None:
        """The reply's first text or audio; for text replies, the latency (ms)."""
        self.awaiting_since = None
        if self.speech_end is None and last_voice_at > -math.inf:
            self.speech_end = last_voice_at
        if text_only and self.speech_end is not None:
            return (now - self.speech_end) * 1000
        return None

    def heard(self, heard_at: float | None, *, received: bool) -> float | None:
        """The latency (ms) once the reply's first sample sounded; None before."""
        if heard_at is None or self.speech_end is None or not received:
            return None
        return max(0.0, (heard_at - self.speech_end) * 1000)

    def thinking(self, now: float) -> bool:
        return self.awaiting_since is not None and now - self.awaiting_since < THINKING_MAX_S

    def turn_done(self) -> None:
        self.speech_end = self.awaiting_since = None


__all__ = ["LatencyMeter", "THINKING_MAX_S"]
