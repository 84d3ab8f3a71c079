"""Turn latency against the local server over real loopback WebSockets.

For text turns and spoken turns (espeak-ng speech streamed at real time with manual activity),
measures the time from the end of the question (for speech: activityEnd) to the first reply
content and to turnComplete, in TEXT and AUDIO sessions. Prints p50/p95 and writes
benchmarks/results/local_turn.json.

    .venv/bin/python benchmarks/bench_local_turn.py [--turns 20]
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

from tests.speechgen import speech_pcm16  # noqa: E402
from voicecli.client.endpoints import build_endpoint  # noqa: E402
from voicecli.client.live import LiveSession  # noqa: E402
from voicecli.client.setup import SetupOptions, build_setup  # noqa: E402
from voicecli.protocol import events as ev  # noqa: E402
from voicecli.server import ServerConfig, start_server  # noqa: E402
from voicecli.settings import Settings  # noqa: E402

MODELS = {"TEXT": "gemini-live-2.5-flash-preview", "AUDIO": "gemini-3.8-live"}
QUESTION = "what is the weather like in london today"


async def one_turn(live: LiveSession, pcm: bytes | None) -> tuple[float, float]:
    if pcm is None:
        await live.send_text(QUESTION)
    else:
        await live.send_activity_start()
        for i in range(0, len(pcm), 3200):  # 100 ms chunks at real time, as a microphone would
            await live.send_audio(pcm[i : i + 3200])
            await asyncio.sleep(0.1)
        await live.send_activity_end()
    asked = time.perf_counter()
    first = None
    async for event in live.events():
        if first is None and isinstance(event, ev.ModelAudio | ev.ModelText):
            first = time.perf_counter()
        if isinstance(event, ev.TurnComplete):
            done = time.perf_counter()
            return ((first or done) - asked) * 1000, (done - asked) * 1000
    raise RuntimeError("no turnComplete")


async def run_case(url: str, modality: str, spoken: bool, turns: int) -> dict[str, object]:
    settings = Settings(backend="gemini", base_url=url, model=MODELS[modality],
                        response=modality.lower())
    endpoint = build_endpoint(settings)
    setup = build_setup(settings, endpoint.model,
                        SetupOptions(manual_activity=spoken, input_transcription=spoken))
    pcm = speech_pcm16(QUESTION) if spoken else None
    firsts, totals = [], []
    async with LiveSession(endpoint, setup) as live:
        for _ in range(turns):
            first, total = await one_turn(live, pcm)
            firsts.append(first)
            totals.append(total)
    return {"case": f"{'spoken' if spoken else 'text'} question, {modality} reply",
            "first_content_ms": summary(firsts), "turn_complete_ms": summary(totals)}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "n": len(values)}


async def main(turns: int) -> list[dict[str, object]]:
    async with await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0)) as server:
        return [await run_case(server.url, m, spoken, turns)
                for spoken in (False, True) for m in ("TEXT", "AUDIO")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    rows = asyncio.run(main(args.turns))
    print(f"{'case':34} {'first content p50/p95 ms':>26} {'turnComplete p50/p95 ms':>25}")
    for row in rows:
        f, t = row["first_content_ms"], row["turn_complete_ms"]
        print(f"{row['case']:34} {f['p50']:>12} / {f['p95']:<11} {t['p50']:>11} / {t['p95']:<11}")
    out = Path(__file__).parent / "results" / "local_turn.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "pace": 0}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"written: {out}")
