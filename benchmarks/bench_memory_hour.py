"""An hour of conversation through `voicecli talk`, faster than real time: is its memory flat?

Two parts, one run:
  1. baseline on the virtual devices: Google's cookbook sample and `voicecli talk --json --echo
     off` each listen and then converse with `voicecli serve --tls` (bench_vs_cookbook's CPU
     round: ``--seconds`` each, RSS at the end), interleaved;
  2. the accelerated hour: bench_talk_memory's in-process session (a looping fake microphone at
     ``--speed`` x real time, a speaker that consumes replies at once, `voicecli serve --pace 0`,
     ``--record`` on) for as many turns as ``--sim-hours`` of microphone audio take. RSS is
     sampled every ``--every`` turns; the slope after warm-up is given in MB per simulated hour
     (median of pairwise slopes, and least squares).

The questions are followed by ``--pause-ms`` of silence (default 12 s, fed at ``--speed``), so a
simulated hour is a few hundred turns, as a real hour of conversation would be.

    .venv/bin/python benchmarks/bench_memory_hour.py [--sim-hours 1] [--speed 12]
        [--pause-ms 12000] [--seconds 30] [--flat-mb-per-hour 2]

Prints a table and writes benchmarks/results/bench_memory_hour.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_talk_memory as mem  # noqa: E402
import bench_vs_cookbook as vs  # noqa: E402
from _talkbench import free_port, meta, rss_kb, stop_server, va_environment, wait_port, write_result  # noqa: E402

from tests.speechgen import silence, speech_pcm16  # noqa: E402

MIC_RATE = 16000


def device_baseline(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    """bench_vs_cookbook's CPU part (listening, conversing, RSS) for both clients."""
    env = va_environment()
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "VOICECLI_API_KEY", "VOICECLI_BASE_URL"):
        env.pop(key, None)
    with tempfile.TemporaryDirectory(prefix="bench-memory-hour-") as tmp:
        workdir = Path(tmp)
        env["XDG_STATE_HOME"] = str(workdir / "state")
        os.environ["XDG_STATE_HOME"] = env["XDG_STATE_HOME"]
        from voicecli.server.transport.tls import self_signed

        tls = self_signed()
        env["SSL_CERT_FILE"] = str(tls.cert)
        vs.cpu_bench.ENV_KEYS = (*vs.cpu_bench.ENV_KEYS, "SSL_CERT_FILE", "XDG_STATE_HOME")
        ssl.create_default_context(cafile=str(tls.cert))
        return vs.cpu_part(args, env, workdir, ["voicecli", "cookbook"])


def seconds_per_turn(pause_ms: int) -> float:
    """Microphone audio per turn: the questions' mean length plus the pause after each."""
    audio = sum(len(speech_pcm16(q)) + len(silence(pause_ms)) for q in mem.QUESTIONS)
    return audio / 2 / MIC_RATE / len(mem.QUESTIONS)


def accelerated_hour(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-memory-hour-") as tmp:
        err = open(Path(tmp) / "serve.err", "wb")  # noqa: SIM115
        server = subprocess.Popen([mem.VOICECLI, "serve", "--port", str(port), "--pace", "0"],
                                  stdout=err, stderr=err)
        try:
            wait_port(port)
            gc.collect()
            before = rss_kb()
            data = asyncio.run(mem.session(args, f"ws://127.0.0.1:{port}", Path(tmp) / "rec",
                                           server.pid))
        finally:
            stop_server(server)
            err.close()
    return data, before


def mb_per_hour(kb_per_turn: float | None, turn_s: float) -> float:
    return float("nan") if kb_per_turn is None else round(kb_per_turn * 3600 / turn_s / 1024, 2)


def table(base: dict[str, Any], data: dict[str, Any], turn_s: float,
          args: argparse.Namespace) -> list[dict[str, Any]]:
    def med(kind: str, key: str) -> float:
        return vs.median([r[key] for r in base[kind]]) if base.get(kind) else float("nan")

    cook_rss, talk_rss = med("cookbook", "rss_mb"), med("voicecli", "rss_mb")
    samples = data["samples"]
    robust = mem.median_slope(samples, args.warmup, "rss_kb")
    lsq = mem.slope_kb_per_turn(samples, args.warmup, "rss_kb")
    rows = [
        {"measure": "RSS MB after conversing, devices", "voicecli": talk_rss,
         "cookbook": cook_rss, "ratio": round(talk_rss / cook_rss, 2) if cook_rss else None},
        {"measure": "accelerated: RSS MB at the first sample", "voicecli":
            round(samples[0]["rss_kb"] / 1024, 1) if samples else None},
        {"measure": "accelerated: RSS MB at the end", "voicecli":
            round(samples[-1]["rss_kb"] / 1024, 1) if samples else None},
        {"measure": "accelerated: simulated conversation, min", "voicecli":
            round(data["mic_audio_s"] / 60, 1)},
        {"measure": "accelerated: turns (interrupted)", "voicecli":
            f"{data['turns']} ({data['interrupted_turns']})"},
        {"measure": "accelerated: wall time, s", "voicecli": data["elapsed_s"]},
        {"measure": "RSS slope MB per simulated hour (median)",
         "voicecli": mb_per_hour(robust, turn_s)},
        {"measure": "RSS slope MB per simulated hour (least squares)",
         "voicecli": mb_per_hour(lsq, turn_s)},
    ]
    slope = mb_per_hour(robust, turn_s)
    rows.append({"measure": f"verdict (flat: < {args.flat_mb_per_hour} MB/h)", "voicecli":
                 "n/a" if math.isnan(slope) else
                 "flat" if slope < args.flat_mb_per_hour else "GROWS"})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'measure':50} {'voicecli':>12} {'cookbook':>9} {'ratio':>6}")
    for r in rows:
        print(f"{r['measure']:50} {r['voicecli']!s:>12} {r.get('cookbook', '')!s:>9}"
              f" {r.get('ratio', '')!s:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-hours", type=float, default=1.0)
    parser.add_argument("--speed", type=float, default=12.0, help="mic feed vs real time")
    parser.add_argument("--pause-ms", type=int, default=12000, help="silence after a question")
    parser.add_argument("--every", type=int, default=10, help="sample RSS every N turns")
    parser.add_argument("--warmup", type=int, default=40, help="turns excluded from the slope")
    parser.add_argument("--flat-mb-per-hour", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=30.0, help="baseline CPU/RSS window")
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1, help="baseline rounds")
    parser.add_argument("--no-baseline", action="store_true", help="skip part 1")
    parser.add_argument("--cookbook", type=Path, default=vs.DEFAULT_COOKBOOK)
    parser.add_argument("--timeout", type=float, default=3000.0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if not args.no_baseline and not args.cookbook.exists():
        sys.exit(f"the cookbook sample is not at {args.cookbook} (--cookbook PATH)")
    args.no_interruption, args.record_dir = False, None
    turn_s = seconds_per_turn(args.pause_ms)
    args.turns = max(args.warmup + 3 * args.every, math.ceil(args.sim_hours * 3600 / turn_s))
    base = {} if args.no_baseline else device_baseline(args)
    print(f"accelerated: {args.turns} turns of {turn_s:.1f} s at {args.speed}x", flush=True)
    data, before = accelerated_hour(args)
    rows = table(base, data, turn_s, args)
    print_table(rows)
    write_result("bench_memory_hour", {
        "meta": meta(sim_hours=args.sim_hours, speed=args.speed, pause_ms=args.pause_ms,
                     turns=args.turns, seconds_per_turn=round(turn_s, 2)),
        "rows": rows, "baseline": base, "rss_before_session_kb": before, **data}, args.out)


if __name__ == "__main__":
    main()
