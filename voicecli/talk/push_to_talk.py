"""Push-to-talk (manual activity, §5.4) as a table: what each mic chunk does, by key and state.

Space toggles the key (`toggle`). Each mic chunk is one step: the key's position (PRESSED or
RELEASED) and, while the tail runs, the clock (TAIL_OVER once ``tail_ms`` have passed since the
release). ``TRANSITIONS`` gives the next state and the actions, which the conversation carries
out in order:

- IDLE: the chunk is kept as pre-roll (the last ``preroll_ms``); a press sends activityStart,
  the pre-roll, then the chunk (TALKING).
- TALKING: chunks go out; a release starts the tail (TAIL).
- TAIL: chunks go out for ``tail_ms`` more (a press meanwhile does not cancel it); then
  activityEnd (IDLE).

No I/O and no clock of its own: the caller gives ``now``.
"""

from __future__ import annotations

from collections import deque
from enum import Enum


class PttState(Enum):
    IDLE = "idle"  # no activity open: chunks are kept as pre-roll
    TALKING = "talking"  # activityStart sent: chunks go out
    TAIL = "tail"  # key released: chunks go out until the tail is over, then activityEnd


class PttStep(Enum):
    PRESSED = "pressed"
    RELEASED = "released"
    TAIL_OVER = "tail_over"


class PttAction(Enum):
    START = "activityStart"  # send activityStart, then the pre-roll; the user's turn begins
    KEEP = "keep"  # the chunk joins the pre-roll
    SEND = "send"  # the chunk goes out
    END = "activityEnd"  # send activityEnd: your speech ended now


IDLE, TALKING, TAIL = PttState.IDLE, PttState.TALKING, PttState.TAIL
START, KEEP, SEND, END = PttAction.START, PttAction.KEEP, PttAction.SEND, PttAction.END

TRANSITIONS: dict[tuple[PttState, PttStep], tuple[PttState, tuple[PttAction, ...]]] = {
    (IDLE, PttStep.PRESSED): (TALKING, (START, SEND)),
    (IDLE, PttStep.RELEASED): (IDLE, (KEEP,)),
    (TALKING, PttStep.PRESSED): (TALKING, (SEND,)),
    (TALKING, PttStep.RELEASED): (TAIL, (SEND,)),
    (TAIL, PttStep.PRESSED): (TAIL, (SEND,)),
    (TAIL, PttStep.RELEASED): (TAIL, (SEND,)),
    (TAIL, PttStep.TAIL_OVER): (IDLE, (END,)),
}


class PushToTalk:
    """The key, the activity's state, the tail's deadline and the pre-roll."""

    def __init__(self, *, tail_ms: float, preroll_chunks: int) -> None:
        self.state = IDLE
        self.pressed = False
        self.tail_until: float | None = None
        self._tail_s = tail_ms / 1000
        self._preroll: deque[bytes] = deque(maxlen=max(1, preroll_chunks))

    @property
    def talking(self) -> bool:
        """An activity is open (activityStart sent, activityEnd not yet)."""
        return self.state is not IDLE

    def toggle(self) -> None:
        """The push-to-talk key (space)."""
        self.pressed = not self.pressed

    def on_chunk(self, now: float) -> tuple[PttAction, ...]:
        """One mic chunk at ``now``: the actions to carry out for it, in order."""
        before = self.state
        actions = self._step(PttStep.PRESSED if self.pressed else PttStep.RELEASED)
        if before is TALKING and self.state is TAIL:
            self.tail_until = now + self._tail_s
        if self.state is TAIL and self.tail_until is not None and now >= self.tail_until:
            actions += self._step(PttStep.TAIL_OVER)
            self.tail_until = None
        return actions

    def keep(self, chunk: bytes) -> None:
        self._preroll.append(chunk)

    def take_preroll(self) -> list[bytes]:
        """The pre-roll, oldest first; it is empty afterwards."""
        chunks = list(self._preroll)
        self._preroll.clear()
        return chunks

    def _step(self, step: PttStep) -> tuple[PttAction, ...]:
        self.state, actions = TRANSITIONS[(self.state, step)]
        return actions


__all__ = ["PttAction", "PttState", "PttStep", "PushToTalk", "TRANSITIONS"]
