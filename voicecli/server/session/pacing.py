"""Paced output of reply audio (live-protocol.md §4.2, §5.2).

The service generates faster than real time, and the client plays the audio as it arrives; the
turn ends (`turnComplete`) when playback would have finished. `PlaybackClock` models that: audio
may run ahead of a virtual player by `lead_s`, and `remaining_s()` is how long the player still
needs. `pace` scales the player: 1.0 = real time, 0.5 = twice as fast, 0 = no waiting at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_LEAD_S = 0.5


class PlaybackClock:
    """A virtual player that starts when the first audio of a turn is sent."""

    def __init__(
        self,
        pace: float = 1.0,
        lead_s: float = DEFAULT_LEAD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pace = max(0.0, pace)
        self.lead_s = lead_s
        self._clock = clock
        self._start: float | None = None
        self.sent_s = 0.0  # seconds of audio handed to the client so far

    def delay_before(self) -> float:
        """How long to wait before sending more audio (0 when within the lead)."""
        if self.pace == 0 or self._start is None:
            return 0.0
        played = (self._clock() - self._start) / self.pace
        return max(0.0, (self.sent_s - self.lead_s - played) * self.pace)

    def sent(self, seconds: float) -> None:
        """Record audio just sent."""
        if self._start is None:
            self._start = self._clock()
        self.sent_s += seconds

    def remaining_s(self) -> float:
        """Wall-clock time until the player would finish what was sent."""
        if self.pace == 0 or self._start is None:
            return 0.0
        return max(0.0, self._start + self.sent_s * self.pace - self._clock())

    async def wait_turn(self) -> None:
        """Wait until sending more would not run further ahead than the lead."""
        delay = self.delay_before()
        if delay > 0:
            await asyncio.sleep(delay)
