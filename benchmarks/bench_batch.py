"""Batch throughput (jobs/s) against --jobs 1, 2, 4, 8 on the local server (pace 0).

Text jobs in TEXT sessions; each job is a fresh Live session on the shared local server. Prints a
table and writes benchmarks/results/batch.json.

    .venv/bin/python benchmarks/bench_batch.py [--count 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicecli.batch import run_batch  # noqa: E402
from voicecli.server import ServerConfig, start_server  # noqa: E402
from voicecli.settings import Settings  # noqa: E402

MODEL = "gemini-live-2.5-flash-preview"
CONCURRENCY = (1, 2, 4, 8)


async def measure(url: str, count: int, jobs: int) -> dict[str, float]:
    settings = Settings(backend="gemini", base_url=url, model=MODEL, response="text")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.jsonl"
        path.write_text("".join(
            json.dumps({"id": f"q{i}", "text": f"what is the weather like in city {i}"}) + "\n"
            for i in range(count)
        ))
        summary = await run_batch(settings, path, Path(tmp) / "out", jobs=jobs)
    assert summary.ok == count, summary
    return {"jobs": jobs, "count": count, "seconds": round(summary.elapsed_s, 3),
            "jobs_per_s": round(count / summary.elapsed_s, 1)}


async def main(count: int) -> list[dict[str, float]]:
    async with await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0.0)) as server:
        await measure(server.url, 4, 2)  # warm-up
        return [await measure(server.url, count, jobs) for jobs in CONCURRENCY]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=40)
    rows = asyncio.run(main(parser.parse_args().count))
    print(f"{'--jobs':>6} {'jobs':>5} {'seconds':>8} {'jobs/s':>7}")
    for row in rows:
        print(f"{row['jobs']:>6} {row['count']:>5} {row['seconds']:>8} {row['jobs_per_s']:>7}")
    out = Path(__file__).parent / "results" / "batch.json"
    out.write_text(json.dumps({"python": platform.python_version(), "cpus": os.cpu_count(),
                               "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")
