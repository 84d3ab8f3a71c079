"""What the client sent that the latest resumable handle may not include (live-protocol.md §4.6,
§5.6), so that a resumed connection gets it again, in order, and no turn is lost or doubled.

Every client message after setup is an `Entry` until the service's state is known to include
it. Two ways to know:

* **Transparent** (`sessionResumption.transparent`, Vertex, §3.1.7): each update names the
  `lastConsumedClientMessageIndex` of its connection; entries sent on that connection up to that
  index are dropped (`consumed_through`).
* **Turn boundaries** (elsewhere): resumable handles come between turns (§4.6: not while
  generating or running calls), so the state they stand for holds every *answered* turn. At a
  resumable update (`handle_between_turns`) the entries up to the last user turn that is
  answered are dropped: up to the last turn-ending message (text, activityEnd, clientContent
  with turnComplete) sent before the last completed model turn began; a question sent after
  that is still in flight and stays. Tool responses go with the turn they were sent in. Audio
  outside a manual activity is dropped up to where the user's current utterance began (the
  server's VAD heard the rest).

Control messages (activityStart/End, audioStreamEnd, clientContent, toolResponse, text) are
never dropped to make room; audio (and video frames) beyond `audio_limit_ms` is, oldest first,
and counted (`dropped_audio_ms`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from voicecli.protocol import ClientSession

AUDIO_LIMIT_MS = 30_000.0  # replayable audio kept at most (issue 13 §1: "say 30 s")

Action = Callable[[ClientSession], None]


class Kind(Enum):
    AUDIO = "audio"
    VIDEO = "video"
    TEXT = "text"
    ACTIVITY_START = "activity_start"
    ACTIVITY_END = "activity_end"
    AUDIO_STREAM_END = "audio_stream_end"
    CLIENT_CONTENT = "client_content"
    TOOL_RESPONSE = "tool_response"

    @property
    def media(self) -> bool:
        return self in (Kind.AUDIO, Kind.VIDEO)


@dataclass
class Entry:
    action: Action
    kind: Kind
    ends_turn: bool = False  # asks for a reply (§5.4): text, activityEnd, clientContent
    audio_ms: float = 0.0
    sent_at: float = 0.0
    connection: int | None = None  # which connection it went out on (None: not yet)
    index: int | None = None  # its client message index there (setup = 0)


class Journal:
    """Entries in the order they were sent (see the module docstring)."""

    def __init__(self, audio_limit_ms: float = AUDIO_LIMIT_MS) -> None:
        self.audio_limit_ms = audio_limit_ms
        self.entries: list[Entry] = []
        self.dropped_audio_ms = 0.0
        self.dropped_chunks = 0
        self._audio_ms = 0.0

    def record(self, action: Action, kind: Kind, *, ends_turn: bool = False,
               audio_ms: float = 0.0) -> Entry:
        entry = Entry(action, kind, ends_turn, audio_ms, time.monotonic())
        self.entries.append(entry)
        if kind.media:
            self._audio_ms += audio_ms
            self._bound_audio()
        return entry

    def forget(self, entry: Entry) -> None:
        """An action that sent nothing (a tool answer nobody was owed any more)."""
        self._remove({id(entry)})

    @property
    def audio_ms(self) -> float:
        return self._audio_ms

    def __len__(self) -> int:
        return len(self.entries)

    # ---- what the service has consumed ------------------------------------------------------

    def consumed_through(self, connection: int, index: int) -> None:
        """Transparent resumption: the state includes messages ≤ `index` of `connection`."""
        self._keep(lambda e: not (e.connection == connection and e.index is not None
                                  and e.index <= index))

    def handle_between_turns(self, answered_before: float, turn_ended_at: float,
                             utterance_since: float | None) -> None:
        """A resumable handle arrived (no transparent index): drop what its state includes.

        `answered_before`: when the last completed model turn began (a question sent before
        that is answered); `turn_ended_at`: its turnComplete (tool responses sent before it went
        into that turn); `utterance_since`: when the user's current utterance began, if the
        user is speaking."""
        marks = [i for i, e in enumerate(self.entries)
                 if e.ends_turn and e.sent_at < answered_before]
        cut = marks[-1] if marks else -1
        in_activity = False
        kept: list[Entry] = []
        for i, entry in enumerate(self.entries):
            if entry.kind is Kind.ACTIVITY_START:
                in_activity = True
            elif entry.kind is Kind.ACTIVITY_END:
                in_activity = False
            if i <= cut:
                continue
            if entry.kind is Kind.TOOL_RESPONSE and entry.sent_at < turn_ended_at:
                continue  # answered within that turn
            if entry.kind.media and not in_activity and (
                    utterance_since is None or entry.sent_at < utterance_since):
                continue  # heard by the server's VAD already (silence, or an answered turn)
            kept.append(entry)
        self._replace(kept)

    def drop_silence(self, before: float) -> None:
        """Audio outside an activity sent before `before` while nobody speaks: silence the
        server's VAD has had; not worth replaying (and not counted as dropped)."""
        in_activity = False
        kept: list[Entry] = []
        for entry in self.entries:
            if entry.kind is Kind.ACTIVITY_START:
                in_activity = True
            elif entry.kind is Kind.ACTIVITY_END:
                in_activity = False
            if entry.kind.media and not in_activity and entry.sent_at < before:
                continue
            kept.append(entry)
        if len(kept) != len(self.entries):
            self._replace(kept)

    # ---- replay -----------------------------------------------------------------------------

    def to_replay(self) -> list[Entry]:
        """Everything kept, in order: what a resumed connection must receive again."""
        return list(self.entries)

    def reset_positions(self) -> None:
        """A new connection: nothing in the journal has an index there yet."""
        for entry in self.entries:
            entry.connection = entry.index = None

    # ---- bookkeeping ------------------------------------------------------------------------

    def _bound_audio(self) -> None:
        if self._audio_ms <= self.audio_limit_ms:
            return
        dropped: set[int] = set()
        over = self._audio_ms - self.audio_limit_ms
        for entry in self.entries:
            if over <= 0:
                break
            if entry.kind.media:
                dropped.add(id(entry))
                over -= entry.audio_ms
                self.dropped_audio_ms += entry.audio_ms
                self.dropped_chunks += 1
        self._remove(dropped)

    def _keep(self, keep: Callable[[Entry], bool]) -> None:
        self._replace([e for e in self.entries if keep(e)])

    def _remove(self, ids: set[int]) -> None:
        if ids:
            self._replace([e for e in self.entries if id(e) not in ids])

    def _replace(self, entries: list[Entry]) -> None:
        self.entries = entries
        self._audio_ms = sum(e.audio_ms for e in entries if e.kind.media)
