"""Codec throughput: voicecli's decoder vs google-genai's pydantic models (the baseline).

Decodes the kinds of server frames a voice session is made of (24 kHz audio chunks, transcript
deltas, turnComplete with usage) and encodes the client's 20 ms audio chunks. Prints a table and
writes JSON to benchmarks/results/codec.json.

    .venv/bin/python benchmarks/bench_codec.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from voicecli.protocol import decode_server, encode
from voicecli.protocol.messages import Blob, RealtimeInput

AUDIO_200MS = os.urandom(9600)  # 0.2 s of 24 kHz PCM16, the service's usual chunk (§2)
AUDIO_20MS = os.urandom(640)  # 20 ms of 16 kHz PCM16, what the microphone sends

FRAMES = {
    "audio chunk (9.6 KB)": json.dumps(
        {"serverContent": {"modelTurn": {"parts": [{"inlineData": {
            "mimeType": "audio/pcm;rate=24000",
            "data": base64.b64encode(AUDIO_200MS).decode()}}]}}},
        indent=2,
    ).encode(),
    "transcript delta": json.dumps(
        {"serverContent": {"outputTranscription": {"text": " in Redmond, about 11 degrees."}}},
        indent=2,
    ).encode(),
    "turnComplete + usage": json.dumps(
        {"serverContent": {"turnComplete": True}, "usageMetadata": {
            "promptTokenCount": 612, "responseTokenCount": 96, "totalTokenCount": 708,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 540},
                                    {"modality": "AUDIO", "tokenCount": 72}]}},
        indent=2,
    ).encode(),
}


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second over roughly `seconds` of wall time."""
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            fn()
        n += 100
    return n / elapsed


def genai_decoder() -> Callable[[bytes], object] | None:
    try:
        from google.genai import types
    except ImportError:
        return None
    return types.LiveServerMessage.model_validate_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    baseline = genai_decoder()
    rows = []
    for name, frame in FRAMES.items():
        ours = rate(lambda f=frame: decode_server(f), args.seconds)
        theirs = rate(lambda f=frame: baseline(f), args.seconds) if baseline else None
        rows.append({"case": f"decode {name}", "voicecli_per_s": ours,
                     "google_genai_per_s": theirs})
    chunk = RealtimeInput(audio=Blob(mime_type="audio/pcm;rate=16000", data=AUDIO_20MS))
    rows.append({"case": "encode 20 ms mic chunk", "voicecli_per_s": rate(lambda: encode(chunk),
                 args.seconds), "google_genai_per_s": None})
    print(f"{'case':34} {'voicecli /s':>14} {'google-genai /s':>16} {'ratio':>7}")
    for row in rows:
        theirs = row["google_genai_per_s"]
        ratio = f"{row['voicecli_per_s'] / theirs:6.2f}x" if theirs else "      -"
        shown = f"{theirs:16,.0f}" if theirs else f"{'-':>16}"
        print(f"{row['case']:34} {row['voicecli_per_s']:14,.0f} {shown} {ratio}")
    out = Path(__file__).parent / "results" / "codec.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "seconds_per_case": args.seconds}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
