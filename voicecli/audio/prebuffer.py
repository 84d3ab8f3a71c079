"""How much reply audio the Speaker holds back before it plays: small at first, grown by jitter.

The loop side of the Speaker asks this policy for the prebuffer (ms) and tells it what happened:
a turn began, a chunk arrived (with the audio already queued in the turn), the callback reported
an underrun. Nothing here runs on PortAudio's thread or reads a clock: times are passed in, so
the policy is deterministic and tested on its own.

* It starts at ``floor_ms`` (7 ms by default): the first reply audio is heard at once (a turn
  waits this plus the device lead; 7 ms had no ring underrun in a 10-minute soak at --load 2).
* Lateness: a chunk that arrives ``elapsed`` after the (re)start of the turn's schedule while the
  turn so far holds ``queued`` of audio is ``elapsed - queued`` late; played at 1x from that
  start, the ring ran dry that long ago (negative: a backlog, as the service streams at 2x).
* It grows only on an observed underrun, to the lateness of the chunk that came after it plus a
  margin (at least ``GROW_MIN_MS`` more), at most ``max_ms``; the schedule restarts there.
* It decays slowly: after ``CLEAN_TURNS`` turns in a row without an underrun, each further clean
  turn takes ``DECAY_MS`` off, never below the floor nor below the recent lateness peak (which
  itself fades by ``PEAK_FADE_MS`` per clean turn) plus the margin.
"""

from __future__ import annotations

from dataclasses import dataclass

PREBUFFER_START_MS, PREBUFFER_MAX_MS = 7.0, 200.0
GROW_MIN_MS = 10.0  # an underrun adds at least this much
MARGIN_MS = PREBUFFER_START_MS  # held on top of the lateness measured (the start allowance)
CLEAN_TURNS = 8  # turns without an underrun before the prebuffer starts to shrink
DECAY_MS = 2.0  # taken off per clean turn after that
PEAK_FADE_MS = 1.0  # the lateness peak fades this much per clean turn


@dataclass
class PrebufferPolicy:
    floor_ms: float = PREBUFFER_START_MS
    max_ms: float = PREBUFFER_MAX_MS
    ms: float = -1.0  # the current prebuffer; starts at the floor
    peak_late_ms: float = 0.0  # the recent lateness peak (fading)
    turn_late_ms: float = 0.0  # the worst lateness of the current turn
    clean_turns: int = 0  # turns in a row without an underrun
    grows: int = 0  # underruns acted on
    _ref_t: float | None = None  # when the current schedule started (monotonic s)
    _ref_queued_ms: float = 0.0  # audio queued in the turn at that moment
    _turn_underran: bool = False
    _turn_open: bool = False

    def __post_init__(self) -> None:
        self.floor_ms = min(max(self.floor_ms, 0.0), self.max_ms)
        self.ms = self.floor_ms if self.ms < 0 else min(max(self.ms, self.floor_ms), self.max_ms)

    def begin_turn(self) -> None:
        """A new turn's first chunk is about to be queued; judges the previous turn."""
        if self._turn_open:
            self._judge_turn()
        self._turn_open = True
        self._turn_underran = False
        self.turn_late_ms = 0.0
        self._ref_t = None

    def chunk(self, now: float, queued_ms: float, underran: bool) -> None:
        """A chunk arrived at ``now`` with ``queued_ms`` of the turn's audio queued before it;
        ``underran``: the callback ran dry since the previous chunk."""
        if self._ref_t is None:
            self._restart_schedule(now, queued_ms)
            return
        late = (now - self._ref_t) * 1000.0 - (queued_ms - self._ref_queued_ms)
        self.turn_late_ms = max(self.turn_late_ms, late)
        if underran:
            self._grow(late)
            self._restart_schedule(now, queued_ms)

    def _grow(self, late_ms: float) -> None:
        self._turn_underran = True
        self.grows += 1
        self.clean_turns = 0
        self.peak_late_ms = max(self.peak_late_ms, late_ms)
        self.ms = round(min(self.max_ms, max(self.ms + GROW_MIN_MS, late_ms + MARGIN_MS)), 1)

    def _restart_schedule(self, now: float, queued_ms: float) -> None:
        self._ref_t, self._ref_queued_ms = now, queued_ms

    def _judge_turn(self) -> None:
        if self._turn_underran:
            return
        self.clean_turns += 1
        self.peak_late_ms = max(self.turn_late_ms, self.peak_late_ms - PEAK_FADE_MS)
        if self.clean_turns > CLEAN_TURNS:
            keep = max(self.floor_ms, min(self.max_ms, self.peak_late_ms + MARGIN_MS))
            self.ms = round(max(min(keep, self.ms), self.ms - DECAY_MS), 1)
