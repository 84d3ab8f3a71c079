"""RingBuffer: wraparound, overfill, clear semantics, no allocation, two-thread stress."""

from __future__ import annotations

import sys
import threading
import tracemalloc

import numpy as np
import pytest

from voicecli.audio.ringbuffer import RingBuffer


def seq(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)


def read_all(ring: RingBuffer, size: int = 1000) -> np.ndarray:
    out = np.zeros(size, np.float32)
    return out[: ring.read_into(out)].copy()


def test_write_then_read_in_order() -> None:
    ring = RingBuffer(16)
    assert ring.write(seq(0, 5)) == 5
    assert ring.available == 5
    out = np.zeros(3, np.float32)
    assert ring.read_into(out) == 3
    assert out.tolist() == [0, 1, 2]
    assert read_all(ring).tolist() == [3, 4]
    assert ring.available == 0
    assert ring.read_into(out) == 0


def test_wraparound_keeps_order() -> None:
    ring = RingBuffer(8)
    got: list[float] = []
    n = 0
    for size in [5, 6, 7, 3, 8, 1, 8]:
        assert ring.write(seq(n, size)) == size
        n += size
        got += read_all(ring).tolist()
    assert got == list(range(n))


def test_overfill_drops_the_newest_and_counts() -> None:
    ring = RingBuffer(8)
    assert ring.write(seq(0, 5)) == 5
    assert ring.write(seq(5, 6)) == 3
    assert ring.dropped_frames == 3
    assert ring.write(seq(11, 1)) == 0
    assert ring.dropped_frames == 4
    assert read_all(ring).tolist() == list(range(8))
    assert ring.write(seq(8, 8)) == 8  # full room again after the read


def test_clear_drops_what_was_written_before_it_only() -> None:
    ring = RingBuffer(16)
    ring.write(seq(0, 5))
    ring.clear()
    assert ring.available == 0
    ring.write(seq(100, 3))
    assert ring.available == 3
    assert read_all(ring).tolist() == [100, 101, 102]
    assert (ring.clears, ring.cleared_frames) == (1, 5)


def test_clear_during_a_read_does_not_disturb_it() -> None:
    ring = RingBuffer(16)
    ring.write(seq(0, 10))
    out = np.zeros(4, np.float32)
    ring.read_into(out)  # a read that happened just before the clear became visible
    ring.clear()
    ring.write(seq(50, 2))
    assert read_all(ring).tolist() == [50, 51]
    assert ring.cleared_frames == 6


def test_read_before_clear_takes_the_fade_material_then_clears() -> None:
    ring = RingBuffer(16)
    ring.write(seq(0, 10))
    ring.clear()
    ring.write(seq(50, 2))
    out = np.zeros(4, np.float32)
    assert ring.read_before_clear(out) == 4
    assert out.tolist() == [0, 1, 2, 3]
    assert read_all(ring).tolist() == [50, 51]
    assert ring.read_before_clear(out) == 0  # nothing pending


def test_discard_to_is_a_consumer_side_clear() -> None:
    ring = RingBuffer(16)
    ring.write(seq(0, 6))
    mark = ring.write_position
    ring.write(seq(6, 2))
    ring.discard_to(mark)
    assert read_all(ring).tolist() == [6, 7]
    ring.discard_to(10**9)  # beyond what was written: clamps
    assert ring.available == 0 and ring.read_position == ring.write_position


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_read_into_does_not_allocate_sample_buffers() -> None:
    ring = RingBuffer(48000)
    out = np.zeros(480, np.float32)
    ring.write(np.ones(40000, np.float32))
    ring.read_into(out)
    tracemalloc.start()
    try:
        for _ in range(50):
            ring.read_into(out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024  # a 480-frame copy would be 1920 bytes


@pytest.mark.parametrize("with_clears", [False, True])
def test_two_threads_never_duplicate_or_reorder(with_clears: bool) -> None:
    ring = RingBuffer(997)  # prime: wraps at every offset
    total = 300_000
    produced = [0]
    got: list[np.ndarray] = []
    done = threading.Event()
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 400, size=10_000)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads as often as possible

    def produce() -> None:
        n, i = 0, 0
        while n < total:
            n += ring.write(seq(n, int(sizes[i % len(sizes)])))
            if with_clears and i % 97 == 0:
                ring.clear()
            i += 1
        produced[0] = n
        done.set()

    def consume() -> None:
        out = np.zeros(333, np.float32)
        while not (done.is_set() and ring.available == 0):
            n = ring.read_into(out[: int(sizes[len(got) % len(sizes)]) % 333 + 1])
            if n:
                got.append(out[:n].copy())

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(old)
    values = np.concatenate(got)
    steps = np.diff(values)
    if with_clears:
        assert (steps >= 1).all()  # gaps where a clear dropped frames, never back or twice
        assert ring.cleared_frames > 0
        assert len(values) + ring.cleared_frames == produced[0]
    else:
        assert values.tolist() == list(range(produced[0]))
