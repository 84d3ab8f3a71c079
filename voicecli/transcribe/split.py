"""Energy-based splitting of 16 kHz PCM16 into utterances at silences (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 16000
FRAME = 320  # 20 ms
FRAME_S = FRAME / RATE
BLOCK_FRAMES = 3000  # one minute of frames per step of frame_db


@dataclass(frozen=True)
class SplitConfig:
    """How to cut: a silence of `min_silence_s` ends an utterance; none longer than `max_s`."""

    min_silence_s: float = 0.6
    max_s: float = 25.0
    pad_s: float = 0.2  # lead-in / tail sent around the speech (manual activity skips padding)
    min_speech_s: float = 0.1
    floor_db: float = -50.0  # never call anything quieter than this speech
    above_noise_db: float = 12.0


@dataclass(frozen=True)
class Span:
    """An utterance, in samples: `start..end` is the speech, `send_*` adds the padding."""

    start: int
    end: int
    send_start: int
    send_end: int

    @property
    def start_s(self) -> float:
        return self.start / RATE

    @property
    def end_s(self) -> float:
        return self.end / RATE


def frame_db(samples: np.ndarray) -> np.ndarray:
    """RMS level of each 20 ms frame in dBFS (digital silence = -120).

    Computed a minute at a time: an hour of audio as float64 frames would need ~1 GB at once.
    """
    n = len(samples) // FRAME
    power = np.empty(n)
    for a in range(0, n, BLOCK_FRAMES):
        b = min(n, a + BLOCK_FRAMES)
        frames = samples[a * FRAME : b * FRAME].reshape(b - a, FRAME).astype(np.float32)
        power[a:b] = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / FRAME
    rms = np.sqrt(power) / 32768.0
    return np.asarray(20 * np.log10(np.maximum(rms, 1e-6)))


def voiced_frames(db: np.ndarray, config: SplitConfig) -> np.ndarray:
    """Boolean per frame: louder than max(floor, noise floor + margin)."""
    if db.size == 0:
        return np.zeros(0, dtype=bool)
    noise = float(np.percentile(db, 10))
    threshold = max(config.floor_db, min(noise + config.above_noise_db, -30.0))
    return np.asarray(db > threshold)


def _runs(voiced: np.ndarray, gap_frames: int) -> list[tuple[int, int]]:
    """Voiced runs [a, b) in frames, merging runs separated by fewer than `gap_frames`."""
    idx = np.flatnonzero(voiced)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap_frames)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]])) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _cap(run: tuple[int, int], db: np.ndarray, max_frames: int) -> list[tuple[int, int]]:
    """Cut a run longer than `max_frames` at its quietest frame in the last fifth of the limit."""
    a, b = run
    pieces: list[tuple[int, int]] = []
    while b - a > max_frames:
        lo = a + max_frames * 4 // 5
        cut = lo + int(np.argmin(db[lo : a + max_frames]))
        pieces.append((a, cut))
        a = cut
    pieces.append((a, b))
    return pieces


def split_utterances(samples: np.ndarray, config: SplitConfig | None = None) -> list[Span]:
    """The utterances in `samples` (int16 mono, 16 kHz), in order, never overlapping."""
    config = config or SplitConfig()
    db = frame_db(samples)
    gap = round(config.min_silence_s / FRAME_S)
    runs: list[tuple[int, int]] = []
    for run in _runs(voiced_frames(db, config), gap):
        runs += _cap(run, db, round(config.max_s / FRAME_S))
    runs = [r for r in runs if (r[1] - r[0]) * FRAME_S >= config.min_speech_s]
    return _padded(runs, len(samples), round(config.pad_s * RATE))


def _padded(runs: list[tuple[int, int]], total: int, pad: int) -> list[Span]:
    spans: list[Span] = []
    for i, (a, b) in enumerate(runs):
        start, end = a * FRAME, min(b * FRAME, total)
        prev_end = runs[i - 1][1] * FRAME if i else 0
        next_start = runs[i + 1][0] * FRAME if i + 1 < len(runs) else total
        send_start = max(start - pad, (prev_end + start) // 2)
        send_end = min(end + pad, (end + next_start) // 2)
        spans.append(Span(start, end, send_start, send_end))
    return spans


def group_sessions(spans: list[Span], budget_s: float) -> list[list[Span]]:
    """Consecutive groups of spans whose sent audio fits one session's budget (≥ 1 span each)."""
    groups: list[list[Span]] = []
    used = budget = budget_s * RATE
    for span in spans:
        size = span.send_end - span.send_start
        if not groups or used + size > budget:
            groups.append([])
            used = 0
        groups[-1].append(span)
        used += size
    return groups
