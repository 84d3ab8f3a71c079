"""Transcription throughput against `voicecli serve` run as a subprocess (client CPU alone).

    .venv/bin/python benchmarks/bench_transcribe.py
Writes benchmarks/results/transcribe.json.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.speechgen import silence, speech_pcm16  # noqa: E402
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


def audio(repeats: int) -> bytes:
    one = b"".join(speech_pcm16(s) + silence(900) for s in SENTENCES)
    return one * repeats


async def measure(url: str, model: str, pcm: bytes) -> dict[str, float]:
    settings = load_settings({"backend": "gemini", "base_url": url, "model": model})
    cpu, wall = time.process_time(), time.perf_counter()
    t = await transcribe_at(build_endpoint(settings), settings, pcm, TranscribeOptions())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"audio_s": t.duration_s, "wall_s": wall, "segments": len(t.segments),
            "x_realtime": t.duration_s / wall, "cpu_s_per_audio_min": cpu / (t.duration_s / 60)}


def main() -> None:
    proc, url = start_server()
    try:
        pcm = audio(4)
        rows = {m: asyncio.run(measure(url, m, pcm)) for m in MODELS}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    print(f"{'model':30} {'audio s':>8} {'wall s':>7} {'×RT':>6} {'cpu s/min':>9}")
    for m, r in rows.items():
        print(f"{m:30} {r['audio_s']:8.1f} {r['wall_s']:7.2f} {r['x_realtime']:6.1f} "
              f"{r['cpu_s_per_audio_min']:9.3f}")
    out = ROOT / "benchmarks" / "results" / "transcribe.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
