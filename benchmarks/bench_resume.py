"""Resume: the time from a dropped connection to the turn completing, against the local server.

Each run asks one question on a `LiveSession` (real loopback WebSockets, the real local server
with `--fault`, `connections=1` so the resumed connection is healthy) and measures, per fault
kind and point of the turn, the time from the moment the client learns of the failure (its
`Reconnecting` event) to the replayed question's `turnComplete`. Side by side, the baseline: a
whole turn with no fault (question → turnComplete), in the same run. TEXT and AUDIO sessions
(AUDIO: the reply is spoken at `--pace`, so a reply cut late costs its audio again).

Prints p50/p95 and writes benchmarks/results/resume.json.

    .venv/bin/python benchmarks/bench_resume.py [--runs 10] [--pace 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicecli.client.endpoints import build_endpoint  # noqa: E402
from voicecli.client.live import ConnectOptions, LiveSession, Reconnecting  # noqa: E402
from voicecli.client.setup import SetupOptions, build_setup  # noqa: E402
from voicecli.protocol import events as ev  # noqa: E402
from voicecli.server import FaultPlan, ServerConfig, start_server  # noqa: E402
from voicecli.settings import Settings  # noqa: E402

MODELS = {"TEXT": "gemini-live-2.5-flash-preview", "AUDIO": "gemini-3.8-live"}
QUESTION = "what is the weather like in london today"
OPTIONS = ConnectOptions(setup_timeout_s=10, backoff_base_s=0.05, backoff_cap_s=0.2)
#: name → fault spec ("before": the question not consumed yet; "reply": in the reply's middle)
CASES = {
    "baseline (no fault)": "",
    "drop before question": "drop-after=2,connections=1",
    "drop mid-reply": "drop-after=5,connections=1",
    "1011 mid-reply": "close-after=5:1011,connections=1",
    "1001 mid-reply": "close-after=5:1001,connections=1",
    "broken frame mid-reply": "malformed-every=5,connections=1",
    "goAway, timeLeft spent": "goaway-after=0:0.3,connections=1",
}


async def one_run(modality: str, fault: str, pace: float) -> tuple[float, bool]:
    """Seconds from the failure (or, without one, the question) to turnComplete; whole?"""
    plan = FaultPlan.parse(fault) if fault else FaultPlan()
    config = ServerConfig(host="127.0.0.1", port=0, pace=pace, faults=plan)
    async with await start_server(config) as server:
        settings = Settings.of(backend="gemini", base_url=server.url, model=MODELS[modality],
                               response=modality.lower())
        endpoint = build_endpoint(settings)
        setup = build_setup(settings, endpoint.model, SetupOptions(conversation=True))
        async with LiveSession(endpoint, setup, OPTIONS) as live:
            start = time.monotonic()
            await live.send_text(QUESTION)
            said = ""
            async for event in live.events():
                if isinstance(event, Reconnecting) and event.attempt == 1:
                    start, said = time.monotonic(), ""  # the reply comes again from its start
                elif isinstance(event, ev.ModelText | ev.OutputTranscript):
                    said += event.text
                elif isinstance(event, ev.TurnComplete):
                    return time.monotonic() - start, QUESTION in said.lower()
    raise RuntimeError("the events ended before turnComplete")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pace", type=float, default=0.0)
    args = parser.parse_args()
    rows = []
    print(f"{'session':7} {'case':26} {'p50 ms':>8} {'p95 ms':>8} {'whole':>6}")
    for modality in MODELS:
        for name, fault in CASES.items():
            times, whole = [], 0
            for _ in range(args.runs):
                took, ok = await one_run(modality, fault, args.pace)
                times.append(took * 1000)
                whole += ok
            row = {"session": modality, "case": name, "fault": fault, "runs": args.runs,
                   "p50_ms": round(statistics.median(times), 1),
                   "p95_ms": round(percentile(times, 0.95), 1), "whole": whole}
            rows.append(row)
            print(f"{modality:7} {name:26} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} "
                  f"{whole:>3}/{args.runs}")
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "pace": args.pace, "load": os.getloadavg()[0],
            "measured": "Reconnecting event → turnComplete of the replayed turn "
                        "(baseline: question → turnComplete)"}
    print(f"wrote {write_results(meta, rows)}")


def write_results(meta: dict[str, object], rows: list[dict[str, object]]) -> Path:
    out = Path(__file__).resolve().parent / "results" / "resume.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    return out


if __name__ == "__main__":
    asyncio.run(main())
