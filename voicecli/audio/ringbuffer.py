"""A preallocated single-producer/single-consumer float32 mono ring buffer.

One thread writes (``write``, ``clear``), one other thread reads (``read_into``,
``read_before_clear``, ``discard_to``); neither ever blocks or takes a lock.

Why this is safe without a lock (CPython, GIL or free-threaded): the state shared between the two
threads is three Python ints, each stored by exactly one side, and each only ever grows:

* ``_w``: frames ever written. Only the producer stores it, *after* copying the samples in, so a
  consumer that sees the new value also sees the samples.
* ``_r``: frames ever consumed. Only the consumer stores it, after copying the samples out, so a
  producer that sees the new value may overwrite those slots.
* ``_clear_to``: ``clear()`` stores the producer's ``_w`` here. The consumer applies it at its next
  read (``_r = max(_r, _clear_to)``); it never moves ``_r`` itself from the producer's thread, which
  is what would race with a read in progress.

Each side loads the other side's counter once per call; a stale value only means "less data" (the
consumer) or "less room" (the producer), never a wrong sample. Positions are absolute frame counts
(``index % capacity`` is the slot), so there is no full/empty ambiguity.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Preallocated SPSC float32 mono ring; drops (and counts) what does not fit."""

    def __init__(self, capacity_frames: int) -> None:
        if capacity_frames <= 0:
            raise ValueError(f"capacity must be positive, got {capacity_frames}")
        self.capacity = capacity_frames
        self._buf = np.zeros(capacity_frames, dtype=np.float32)
        self._w = 0  # producer-owned: frames ever written
        self._r = 0  # consumer-owned: frames ever consumed (read, cleared or discarded)
        self._clear_to = 0  # producer-owned: the consumer drops everything before this position
        self.dropped_frames = 0  # producer-owned: frames refused because the ring was full
        self.clears = 0  # producer-owned: clear() calls
        self.cleared_frames = 0  # consumer-owned: frames dropped by clear() / discard_to()

    # ---- either side ----------------------------------------------------------------------

    @property
    def available(self) -> int:
        """Frames buffered and not yet consumed (nor about to be dropped by a pending clear)."""
        return max(0, self._w - max(self._r, self._clear_to))

    @property
    def write_position(self) -> int:
        """Frames ever written (absolute position of the next write)."""
        return self._w

    @property
    def read_position(self) -> int:
        """Frames ever consumed (absolute position of the next read)."""
        return self._r

    # ---- producer ---------------------------------------------------------------------------

    def write(self, samples: np.ndarray) -> int:
        """Copy as many of ``samples`` as fit; returns the number written (the rest is counted
        in ``dropped_frames``). Never blocks."""
        n = min(len(samples), self.capacity - (self._w - self._r))
        if n < len(samples):
            self.dropped_frames += len(samples) - n
        if n <= 0:
            return 0
        start = self._w % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start:start + first] = samples[:first]
        if first < n:
            self._buf[:n - first] = samples[first:n]
        self._w += n  # publish after the copy
        return n

    def clear(self) -> None:
        """Drop everything written so far; frames written afterwards are kept.

        Safe while the consumer reads on another thread: it only records a position, which the
        consumer applies at its next read (its current read, if any, finishes undisturbed).
        """
        self._clear_to = self._w
        self.clears += 1

    # ---- consumer ---------------------------------------------------------------------------

    def read_into(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` frames into ``out`` (no allocation); returns the count."""
        self._apply_clear()
        return self._copy_out(out, self._w)

    def read_before_clear(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` of the frames a pending ``clear()`` is about to drop (a
        fade-out's material), then apply the clear. Returns the count (0 if no clear pends)."""
        n = self._copy_out(out, self._clear_to)
        self._apply_clear()
        return n

    def discard_to(self, position: int) -> None:
        """Consumer side: drop everything before absolute ``position`` (a ``write_position``)."""
        position = min(position, self._w)
        if position > self._r:
            self.cleared_frames += position - self._r
            self._r = position

    def _apply_clear(self) -> None:
        clear_to = self._clear_to
        if clear_to > self._r:
            self.cleared_frames += clear_to - self._r
            self._r = clear_to

    def _copy_out(self, out: np.ndarray, end: int) -> int:
        n = min(len(out), end - self._r)
        if n <= 0:
            return 0
        start = self._r % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start:start + first]
        if first < n:
            out[first:n] = self._buf[:n - first]
        self._r += n  # release the slots after the copy
        return n
