"""Server-wide store of session-resumption handles (live-protocol.md §3.1.7, §4.6, §5.6).

A handle is an opaque random string naming a snapshot of the conversation. Handles expire
`ttl_s` after they were issued (the service: "valid for 2 hr after the last session's
termination"); the store is bounded, oldest first out.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from voicecli.server.engines.interface import Turn


@dataclass(frozen=True)
class Snapshot:
    """What a handle restores: the model it was made with and the history up to that point."""

    model: str
    history: tuple[Turn, ...] = ()
    user_turns: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class HandleStore:
    """Issue and look up handles. Not thread-safe: used only from the event loop."""

    def __init__(
        self,
        ttl_s: float = 7200.0,
        max_handles: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_handles = max_handles
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Snapshot]] = OrderedDict()

    def issue(self, snapshot: Snapshot) -> str:
        """Store a snapshot and return its new handle."""
        self._expire()
        handle = secrets.token_urlsafe(24)
        self._items[handle] = (self._clock() + self.ttl_s, snapshot)
        while len(self._items) > self.max_handles:
            self._items.popitem(last=False)
        return handle

    def restore(self, handle: str) -> Snapshot | None:
        """The snapshot for a handle, or None if it is unknown or expired."""
        self._expire()
        item = self._items.get(handle)
        return None if item is None else item[1]

    def __len__(self) -> int:
        self._expire()
        return len(self._items)

    def _expire(self) -> None:
        now = self._clock()
        # Insertion order is expiry order (constant TTL), so stop at the first live one.
        while self._items:
            handle, (deadline, _) = next(iter(self._items.items()))
            if deadline > now:
                break
            del self._items[handle]
