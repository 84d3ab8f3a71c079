"""Transcription throughput against `voicecli serve` run as a subprocess (so the client's CPU
is measured alone): audio seconds per wall second, and client CPU seconds per audio minute.

Two inputs: "dense" (sentences 0.9 s apart: every second of it is sent and recognised) and
"sparse" (10 minutes with one short phrase every 30 s: the silences are never sent). Each
(input, model) runs `--repeats` times; the table shows medians.

    .venv/bin/python benchmarks/bench_transcribe.py [--repeats 3]
Writes benchmarks/results/transcribe.json.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.speechgen import silence, speech_pcm16  # noqa: E402
from tests.transcribe.audio import tiled  # noqa: E402
from voicecli.client.endpoints import build_endpoint  # noqa: E402
from voicecli.settings import load_settings  # noqa: E402
from voicecli.transcribe import TranscribeOptions, transcribe_at  # noqa: E402

SENTENCES = ["please open the window", "the cat sat on the mat", "turn on the kitchen light"]
MODELS = ["gemini-3.5-transcribe-live", "gemini-3.8-live"]


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "voicecli", "serve", "--port", "0", "--pace",
                             "0"], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "listening on ws://" in line:
            return proc, "ws://" + line.split("ws://", 1)[1].split()[0]
    raise RuntimeError("voicecli serve did not start")


def inputs() -> dict[str, bytes]:
    dense = b"".join(speech_pcm16(s) + silence(900) for s in SENTENCES) * 4
    return {"dense": dense, "sparse": tiled(600.0, 30.0).pcm}


async def one_run(url: str, model: str, pcm: bytes) -> dict[str, float]:
    settings = load_settings({"backend": "gemini", "base_url": url, "model": model},
                             config_path=None)
    cpu, wall = time.process_time(), time.perf_counter()
    t = await transcribe_at(build_endpoint(settings), settings, pcm, TranscribeOptions())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"audio_s": t.duration_s, "segments": len(t.segments), "wall_s": wall,
            "audio_s_per_wall_s": t.duration_s / wall,
            "client_cpu_s_per_audio_min": cpu / (t.duration_s / 60)}


async def measure(url: str, model: str, pcm: bytes, repeats: int) -> dict[str, float]:
    runs = [await one_run(url, model, pcm) for _ in range(repeats)]
    row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    row["repeats"] = repeats
    return row


async def main(url: str, repeats: int) -> dict[str, dict[str, float]]:
    audio = inputs()
    await one_run(url, MODELS[0], audio["dense"][: 32000 * 5])  # warm-up: the server's ASR
    return {f"{name} {model}": await measure(url, model, pcm, repeats)
            for name, pcm in audio.items() for model in MODELS}


def report(rows: dict[str, dict[str, float]]) -> None:
    print(f"{'input / model':34} {'audio s':>8} {'segs':>5} {'wall s':>7} "
          f"{'audio s/wall s':>14} {'client cpu s/audio min':>22}")
    for name, r in rows.items():
        print(f"{name:34} {r['audio_s']:8.1f} {r['segments']:5.0f} {r['wall_s']:7.2f} "
              f"{r['audio_s_per_wall_s']:14.1f} {r['client_cpu_s_per_audio_min']:22.4f}")
    out = ROOT / "benchmarks" / "results" / "transcribe.json"
    out.write_text(json.dumps({"python": platform.python_version(), "cpus": os.cpu_count(),
                               "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    proc, url = start_server()
    try:
        rows = asyncio.run(main(url, repeats))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    report(rows)
