"""Batch throughput (jobs/s) against --jobs 1, 2, 4, 8 on `voicecli serve` run as a subprocess.

Each job is a fresh Live session asking a short question for a spoken reply (24 kHz WAV written
per job). The server paces reply audio (`--pace`, default 0.25: a quarter of real time), so a job
takes as long as a listener would wait for its answer, not as long as the CPU needs: that is what
makes concurrency pay, as with the real service. Every setting runs `--repeats` times; the table
shows the median (and the spread) and writes benchmarks/results/batch.json.

    .venv/bin/python benchmarks/bench_batch.py [--count 32] [--repeats 3] [--pace 0.25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicecli.batch import run_batch  # noqa: E402
from voicecli.settings import Settings  # noqa: E402

MODEL = "gemini-live-2.5-flash-preview"
CONCURRENCY = (1, 2, 4, 8)


def start_server(pace: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "voicecli", "serve", "--port", "0", "--pace",
                             str(pace)], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "listening on ws://" in line:
            return proc, "ws://" + line.split("ws://", 1)[1].split()[0]
    raise RuntimeError("voicecli serve did not start")


def write_jobs(path: Path, count: int) -> None:
    path.write_text("".join(
        json.dumps({"id": f"q{i}", "text": f"hello number {i}"}) + "\n" for i in range(count)
    ))


async def one_run(url: str, count: int, jobs: int) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) for `count` jobs, `jobs` at a time."""
    settings = Settings.of(backend="gemini", base_url=url, model=MODEL, response="audio")
    with tempfile.TemporaryDirectory() as tmp:
        write_jobs(Path(tmp) / "jobs.jsonl", count)
        cpu, wall = time.process_time(), time.perf_counter()
        summary = await run_batch(settings, Path(tmp) / "jobs.jsonl", Path(tmp) / "out", jobs=jobs)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert summary.ok == count, summary
    return wall, cpu


async def measure(url: str, count: int, jobs: int, repeats: int) -> dict[str, float]:
    runs = [await one_run(url, count, jobs) for _ in range(repeats)]
    walls = sorted(w for w, _ in runs)
    wall = statistics.median(walls)
    return {"jobs": jobs, "count": count, "repeats": repeats, "median_s": round(wall, 3),
            "min_s": round(walls[0], 3), "max_s": round(walls[-1], 3),
            "jobs_per_s": round(count / wall, 2),
            "client_cpu_ms_per_job": round(1000 * statistics.median(c for _, c in runs) / count, 1)}


async def main(url: str, count: int, repeats: int) -> list[dict[str, float]]:
    await one_run(url, 4, 2)  # warm-up: the server's speech engines load on first use
    return [await measure(url, count, jobs, repeats) for jobs in CONCURRENCY]


def report(rows: list[dict[str, float]], pace: float) -> None:
    base = rows[0]["jobs_per_s"]
    print(f"{'--jobs':>6} {'jobs':>5} {'median s':>9} {'min–max s':>13} {'jobs/s':>7} "
          f"{'speed-up':>8} {'cpu ms/job':>10}")
    for r in rows:
        spread = f"{r['min_s']:.2f}–{r['max_s']:.2f}"
        print(f"{r['jobs']:>6} {r['count']:>5} {r['median_s']:>9.2f} {spread:>13} "
              f"{r['jobs_per_s']:>7.2f} {r['jobs_per_s'] / base:>7.2f}× "
              f"{r['client_cpu_ms_per_job']:>10.1f}")
    out = ROOT / "benchmarks" / "results" / "batch.json"
    out.write_text(json.dumps({"python": platform.python_version(), "cpus": os.cpu_count(),
                               "pace": pace, "response": "audio", "model": MODEL,
                               "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pace", type=float, default=0.25)
    args = parser.parse_args()
    proc, url = start_server(args.pace)
    try:
        rows = asyncio.run(main(url, args.count, args.repeats))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    report(rows, args.pace)
