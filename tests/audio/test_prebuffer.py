"""The Speaker's prebuffer policy, driven with explicit times (no clock, no device)."""

from __future__ import annotations

import pytest

from voicecli.audio.prebuffer import (
    CLEAN_TURNS,
    GROW_MIN_MS,
    MARGIN_MS,
    PREBUFFER_MAX_MS,
    PREBUFFER_START_MS,
    PrebufferPolicy,
)


def stream_turn(policy: PrebufferPolicy, t0: float, chunks: int, chunk_ms: float = 40.0,
                late_ms: dict[int, float] | None = None,
                underrun_at: int | None = None) -> float:
    """One turn of ``chunks`` chunks paced at 1x from ``t0``; chunk k arrives
    ``late_ms[k]`` late; ``underrun_at``: the callback reports a dry ring before that chunk."""
    policy.begin_turn()
    for k in range(chunks):
        now = t0 + (k * chunk_ms + (late_ms or {}).get(k, 0.0)) / 1000
        policy.chunk(now, k * chunk_ms, underran=k == underrun_at)
    return t0 + chunks * chunk_ms / 1000 + 1.0


def test_it_starts_small() -> None:
    assert PrebufferPolicy().ms == PREBUFFER_START_MS == 7.0


def test_jitter_alone_does_not_grow_it_an_underrun_does() -> None:
    policy = PrebufferPolicy()
    t = stream_turn(policy, 0.0, 25, late_ms={5: 8.0, 9: 6.0})  # late, but no dropout
    assert policy.ms == PREBUFFER_START_MS
    assert policy.turn_late_ms == pytest.approx(8.0)
    stream_turn(policy, t, 25, late_ms={7: 35.0}, underrun_at=7)
    assert policy.ms == 35.0 + MARGIN_MS  # the lateness measured, plus the margin
    assert policy.grows == 1


def test_a_small_lateness_still_grows_it_by_the_minimum() -> None:
    policy = PrebufferPolicy(floor_ms=30.0)
    stream_turn(policy, 0.0, 10, late_ms={3: 2.0}, underrun_at=3)
    assert policy.ms == 30.0 + GROW_MIN_MS


def test_the_schedule_restarts_after_an_underrun() -> None:
    """Lateness after a re-buffer counts from there: one late chunk is not counted twice."""
    policy = PrebufferPolicy()
    policy.begin_turn()
    policy.chunk(0.0, 0.0, False)
    policy.chunk(0.070, 40.0, True)  # 30 ms late
    assert policy.ms == 30.0 + MARGIN_MS
    policy.chunk(0.110, 80.0, False)  # on time from the restart
    assert policy.turn_late_ms == pytest.approx(30.0)


def test_it_is_bounded() -> None:
    policy = PrebufferPolicy()
    t = 0.0
    for _ in range(30):
        t = stream_turn(policy, t, 5, late_ms={2: 500.0}, underrun_at=2)
    assert policy.ms == PREBUFFER_MAX_MS


def test_a_backlog_is_not_lateness() -> None:
    policy = PrebufferPolicy()
    policy.begin_turn()
    for k in range(20):  # 200 ms chunks at twice real time, as the service streams
        policy.chunk(k * 0.1, k * 200.0, False)
    assert policy.turn_late_ms <= 1e-9


def test_it_decays_only_after_a_long_clean_stretch_and_not_below_the_jitter_seen() -> None:
    policy = PrebufferPolicy()
    t = stream_turn(policy, 0.0, 10, late_ms={4: 60.0}, underrun_at=4)
    grown = policy.ms
    assert grown == 60.0 + MARGIN_MS
    for _ in range(CLEAN_TURNS):
        t = stream_turn(policy, t, 10, late_ms={3: 25.0})  # clean, but 25 ms of jitter
    stream_turn(policy, t, 1)
    assert policy.ms == grown  # a short clean stretch changes nothing
    for _ in range(200):
        t = stream_turn(policy, t, 10, late_ms={3: 25.0})
    assert policy.ms == 25.0 + MARGIN_MS  # what the jitter still needs
    for _ in range(200):
        t = stream_turn(policy, t, 10)  # the jitter is gone: back to the start
    assert policy.ms == PREBUFFER_START_MS
    assert policy.grows == 1
