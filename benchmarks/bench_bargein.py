"""Barge-in: from Speaker.flush() to silence at the (virtual) speaker, per latency/blocksize.

Uses the virtual PulseAudio devices (scripts/va-up.sh; started if needed). For each setting, a
Speaker plays tones delivered like the service does (200 ms chunks, twice real time), flushes at
a random point 0.2-0.8 s after the turn was first heard, N times. A subprocess records the
speaker's monitor with a wall-clock stamp per block (tests/audio/monitor_recorder.py), which
turns "the last audible sample" into time.monotonic(). Also counted: mid-turn underruns,
PortAudio output underflows, and gaps inside the tones (glitches). Prints a table and writes
benchmarks/results/bench_bargein.json.

    .venv/bin/python benchmarks/bench_bargein.py [--trials 30] [--settings low/5,0.02/5]
                                                 [--load 2]   # N busy-looping processes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.audio.virtual import (  # noqa: E402
    MonitorRecorder,
    Recording,
    ensure_virtual_audio,
    first_loud_index,
    last_loud_index,
)
from tests.speechgen import tone  # noqa: E402
from voicecli.audio.playback import Speaker  # noqa: E402  (imports sounddevice only on open)

DEFAULT_SETTINGS = "low/5,0.015/5,0.02/5,0.03/10,high/10,0.1/10"
CHUNK_BYTES = 9600  # 200 ms of 24 kHz PCM16, the service's usual chunk


def parse_settings(text: str) -> list[tuple[float | str, float]]:
    out: list[tuple[float | str, float]] = []
    for item in text.split(","):
        latency, block = item.split("/")
        out.append((latency if latency in ("low", "high") else float(latency), float(block)))
    return out


async def trial(sp: Speaker, rng: random.Random) -> tuple[float, float]:
    """One turn: stream a tone, flush at a random point after it is heard.

    Returns (time the turn started, time of the flush)."""
    pcm = tone(rng.choice([330, 440, 550, 660]), 2400, rate=24000, dbfs=-10)
    started = time.monotonic()
    sp.start_turn()
    flush_at: float | None = None
    for i in range(0, len(pcm), CHUNK_BYTES):
        sp.play(pcm[i:i + CHUNK_BYTES])
        await asyncio.sleep(0.1)
        if sp.heard_at is not None and flush_at is None:
            flush_at = sp.heard_at + rng.uniform(0.2, 0.8)
        if flush_at is not None and time.monotonic() >= flush_at - 0.1:
            break
    await asyncio.sleep(max(0.0, (flush_at or 0.0) - time.monotonic()))
    flushed = time.monotonic()
    sp.flush()
    sp.play(pcm[:CHUNK_BYTES])  # late audio of the interrupted turn: must stay silent
    await asyncio.sleep(0.5)
    return started, flushed


async def run_setting(latency: float | str, block_ms: float, trials: int, env: dict[str, str],
                      rng: random.Random) -> dict[str, object]:
    recorder = MonitorRecorder(env)
    turns: list[tuple[float, float]] = []
    try:
        async with Speaker(latency=latency, block_ms=block_ms) as sp:
            await asyncio.sleep(0.2)
            for _ in range(trials):
                turns.append(await trial(sp, rng))
            stats = vars(sp.stats).copy()
            reported = float(sp._stream.latency)
    finally:
        rec = recorder.stop()
    delays = [to_silence_ms(rec, flushed) for _, flushed in turns]
    return {"latency": latency, "block_ms": block_ms, "portaudio_latency_ms": reported * 1000,
            "trials": trials, "flush_to_silence_ms": delays, "p50_ms": pct(delays, 50),
            "p95_ms": pct(delays, 95), "max_ms": max(delays), "underruns": stats["underruns"],
            "device_underflows": stats["device_underflows"],
            "glitches": count_glitches(rec, turns)}


def to_silence_ms(rec: Recording, flushed: float) -> float:
    at = rec.index_at(flushed)
    end = last_loud_index(rec.samples, max(0, at - rec.rate // 10), at + 3 * rec.rate // 10)
    return (rec.time_of(end) - flushed) * 1000


def count_glitches(rec: Recording, turns: list[tuple[float, float]]) -> int:
    """Runs of >= 2 ms of silence inside a tone, from its start to its flush (dropouts)."""
    glitches = 0
    quiet = np.abs(rec.samples) <= 1e-3
    for started, flushed in turns:
        start = first_loud_index(rec.samples, rec.index_at(started)) or 0
        end = rec.index_at(flushed)
        runs = np.diff(np.concatenate(([0], quiet[start:end].astype(np.int8), [0])))
        lengths = np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)
        glitches += int((lengths >= rec.rate // 500).sum())
    return glitches


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def start_load(n: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--settings", default=DEFAULT_SETTINGS, help="latency/block_ms,...")
    parser.add_argument("--load", type=int, default=0, help="busy-looping processes meanwhile")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/bench_bargein.json"))
    args = parser.parse_args()
    env = ensure_virtual_audio()
    if env is None:
        sys.exit("PulseAudio is not available: run scripts/va-up.sh (Debian/Ubuntu)")
    os.environ.update(env)  # before sounddevice is imported (PortAudio reads it once)
    rng = random.Random(args.seed)
    hogs = start_load(args.load)
    try:
        rows = [asyncio.run(run_setting(lat, blk, args.trials, env, rng))
                for lat, blk in parse_settings(args.settings)]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    print_table(rows)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_processes": args.load, "trials": args.trials,
            "median_of_all": statistics.median(d for r in rows for d in r["flush_to_silence_ms"])}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"written: {out}")


def print_table(rows: list[dict[str, object]]) -> None:
    print(f"{'latency':>8} {'block':>6} {'PA lat':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
          f" {'underruns':>9} {'underflows':>10} {'glitches':>8}")
    for r in rows:
        print(f"{r['latency']!s:>8} {r['block_ms']:>6} {r['portaudio_latency_ms']:>7.1f}"
              f" {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['max_ms']:>7.1f}"
              f" {r['underruns']:>9} {r['device_underflows']:>10} {r['glitches']:>8}")


if __name__ == "__main__":
    main()
