"""Resident memory of `voicecli talk` over a long, accelerated session.

``run_talk`` runs in this process (so /proc/self/statm is talk's memory) with a fake microphone
that loops spoken questions (question, then 1.2 s of silence) and a NullSpeaker that consumes the
replies instantly; the local server (`voicecli serve --pace 0`) runs as a subprocess so its memory
is not counted. ``--record`` is on (mic.wav, speaker.wav, events.jsonl, transcript.md are
written). RSS is sampled every ``--every`` finished turns; the table shows the curve, the slope
after warm-up (least squares, KB per turn) and "flat" when that slope is below the threshold.

The mic is fed at ``--speed`` x real time: the server's VAD and ASR work on sample counts, so
accelerated audio still makes clean turns. The turn rate is bounded by the server's recognition
turnaround (~0.7 s from the end of a question to its transcript, whatever the feed speed), so
200 turns take 3-4 minutes; questions that arrive while one is being recognised merge into
one turn (the summary counts turns whose transcript is exactly one question). At 6-8x the
session still runs cleanly (60 turns each), but more questions merge and RSS has too few turns to
settle; 4x is the default.

    .venv/bin/python benchmarks/bench_talk_memory.py [--turns 200] [--speed 4] [--every 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _talkbench import cpu_seconds, free_port, meta, rss_kb, stop_server, wait_port, write_result  # noqa: E402

from tests.speechgen import silence, speech_pcm16  # noqa: E402
from voicecli.audio.fakes import ArrayMicrophone, NullSpeaker  # noqa: E402
from voicecli.settings import Settings  # noqa: E402
from voicecli.talk.options import TalkOptions  # noqa: E402
from voicecli.talk.run import run_talk  # noqa: E402

VOICECLI = str(Path(sys.executable).with_name("voicecli"))
QUESTIONS = ["what is the weather like in london today", "what time is it",
             "tell me a joke about computers", "how far away is the moon"]


class LoopMicrophone(ArrayMicrophone):
    """ArrayMicrophone that repeats its buffer forever, paced at ``speed`` x real time."""

    def __init__(self, pcm16_16k: bytes, *, speed: float, chunk_ms: int = 20) -> None:
        super().__init__(pcm16_16k, chunk_ms=chunk_ms, realtime=False)
        self.speed = speed

    async def read_chunk(self) -> bytes:
        if self._t0 is None:
            self._t0 = time.monotonic()
        if self.speed > 0:
            due = self._t0 + (self.chunks_read + 1) * self.chunk_ms / 1000 / self.speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        else:
            await asyncio.sleep(0)
        if self._pos >= len(self._data):
            self._pos = 0
        return await super().read_chunk()


class DiscardingSpeaker(NullSpeaker):
    """NullSpeaker keeps every heard sample in ``.heard`` (tests read it); a long session must
    not, or the fake itself would be the leak. Counts the heard bytes instead."""

    heard_bytes = 0

    def _advance(self) -> None:
        super()._advance()
        self.heard_bytes += len(self._heard)
        self._heard.clear()


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return cpu_seconds(pid) + sum(tree_cpu_s(int(c)) for c in children)
    except OSError:
        return 0.0


def tree_rss_kb(pid: int) -> int:
    """RSS of ``pid`` and its children (the server's recognition process)."""
    total = rss_kb(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_rss_kb(int(c)) for c in children)


async def session(args: argparse.Namespace, url: str, record_dir: Path,
                  server_pid: int) -> dict[str, Any]:
    mic_pcm = b"".join(speech_pcm16(q) + silence(args.pause_ms) for q in QUESTIONS)
    mic = LoopMicrophone(mic_pcm, speed=args.speed)
    speaker = DiscardingSpeaker(realtime=False)
    stop = asyncio.Event()
    samples: list[dict[str, Any]] = []
    expected = {q.lower() for q in QUESTIONS}
    counts = {"turns": 0, "clean": 0, "interrupted": 0}  # not the turns: the benchmark must not
    examples: list[str] = []  # hold on to per-turn objects itself
    snapshots: list[tracemalloc.Snapshot] = []
    started = time.monotonic()
    cpu0 = (tree_cpu_s(server_pid), cpu_seconds(os.getpid()))

    def emit(obj: dict[str, Any]) -> None:
        if obj.get("type") != "turn":
            return
        counts["turns"] += 1
        counts["interrupted"] += bool(obj.get("interrupted"))
        counts["clean"] += (obj.get("user", "").strip().lower() in expected
                            and not obj.get("interrupted"))
        if len(examples) < 4:
            examples.append(obj.get("user", ""))
        n = counts["turns"]
        if n % args.every == 0 or n == 1:
            samples.append({"turn": n, "rss_kb": rss_kb(),
                            "t_s": round(time.monotonic() - started, 2),
                            "server_rss_kb": tree_rss_kb(server_pid),
                            "traced_kb": tracemalloc.get_traced_memory()[0] // 1024
                            if tracemalloc.is_tracing() else None})
        if tracemalloc.is_tracing() and n in (args.warmup, args.turns):
            snapshots.append(tracemalloc.take_snapshot())
        if n >= args.turns:
            stop.set()

    settings = Settings.of(backend="gemini", base_url=url)  # the default model
    options = TalkOptions(record_dir=record_dir, barge_in=not args.no_interruption)
    result = await asyncio.wait_for(
        run_talk(settings, options, emit=emit, mic=mic, speaker=speaker, read_keys=False,
                 stop=stop), args.timeout)
    cpu1 = (tree_cpu_s(server_pid), cpu_seconds(os.getpid()))
    growth = []
    if len(snapshots) == 2:
        for stat in snapshots[1].compare_to(snapshots[0], "lineno")[:8]:
            frame = stat.traceback[0]
            where = f"{frame.filename.removeprefix(str(ROOT) + '/')}:{frame.lineno}"
            growth.append({"where": where,
                           "kb": round(stat.size_diff / 1024, 1), "blocks": stat.count_diff})
    files = {p.name: p.stat().st_size for p in await asyncio.to_thread(record_files, record_dir)}
    return {"samples": samples, "turns": counts["turns"], "clean_turns": counts["clean"],
            "interrupted_turns": counts["interrupted"],
            "elapsed_s": round(time.monotonic() - started, 1), "reason": result.reason,
            "server_cpu_s": round(cpu1[0] - cpu0[0], 1), "talk_cpu_s": round(cpu1[1] - cpu0[1], 1),
            "mic_audio_s": round(mic.chunks_read * mic.chunk_ms / 1000, 1),
            "reply_audio_s": round(speaker.heard_bytes / 2 / speaker.rate, 1),
            "record_files_bytes": files,
            "examples": examples, "heap_growth_sites": growth}


def record_files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def slope_kb_per_turn(samples: list[dict[str, Any]], warmup: int, key: str) -> float | None:
    pts = [(s["turn"], s[key]) for s in samples if s["turn"] >= warmup and s[key] is not None]
    if len(pts) < 3:
        return None
    x, y = np.array(pts, dtype=float).T
    return float(np.polyfit(x, y, 1)[0])


def median_slope(samples: list[dict[str, Any]], warmup: int, key: str) -> float | None:
    """Theil-Sen: the median of the pairwise slopes; one allocator step does not move it."""
    pts = [(s["turn"], s[key]) for s in samples if s["turn"] >= warmup and s[key] is not None]
    slopes = [(b[1] - a[1]) / (b[0] - a[0]) for i, a in enumerate(pts) for b in pts[i + 1:]]
    return float(np.median(slopes)) if slopes else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--speed", type=float, default=4.0,
                        help="mic feed vs real time (0 = as fast as read)")
    parser.add_argument("--pause-ms", type=int, default=1200, help="silence after a question")
    parser.add_argument("--questions", default=",".join(QUESTIONS),
                        help="comma-separated questions the mic repeats")
    parser.add_argument("--every", type=int, default=10, help="sample RSS every N turns")
    parser.add_argument("--warmup", type=int, default=40, help="turns excluded from the slope")
    parser.add_argument("--flat-kb-per-turn", type=float, default=1.0,
                        help="slope below this counts as flat")
    parser.add_argument("--no-interruption", action="store_true",
                        help="talk --no-barge-in (the server never cuts a reply)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report Python-heap bytes (slower)")
    parser.add_argument("--record-dir", default=None,
                        help="keep the recording here (default: a temporary directory)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    QUESTIONS[:] = args.questions.split(",")
    for q in QUESTIONS:  # render the speech before the baseline
        speech_pcm16(q)
    if args.tracemalloc:
        tracemalloc.start()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-talk-mem-") as tmp:
        err = open(Path(tmp) / "serve.err", "wb")  # noqa: SIM115
        server = subprocess.Popen([VOICECLI, "serve", "--port", str(port), "--pace", "0"],
                                  stdout=err, stderr=err)
        try:
            wait_port(port)
            gc.collect()
            baseline = rss_kb()
            record_dir = Path(args.record_dir) if args.record_dir else Path(tmp) / "rec"
            data = asyncio.run(session(args, f"ws://127.0.0.1:{port}", record_dir, server.pid))
        except BaseException:
            err.flush()
            tail = (Path(tmp) / "serve.err").read_text(errors="replace")[-3000:]
            print(f"voicecli serve's log (tail):\n{tail}", file=sys.stderr)
            raise
        finally:
            stop_server(server)
            err.close()
    slope = slope_kb_per_turn(data["samples"], args.warmup, "rss_kb")
    server_slope = slope_kb_per_turn(data["samples"], args.warmup, "server_rss_kb")
    traced_slope = slope_kb_per_turn(data["samples"], args.warmup, "traced_kb")
    robust = median_slope(data["samples"], args.warmup, "rss_kb")
    verdict = "n/a" if robust is None else "flat" if robust < args.flat_kb_per_turn else "GROWS"
    print(f"{'turn':>5} {'t s':>6} {'talk RSS MB':>11} {'Δ KB':>8} {'server RSS MB':>13}"
          + (f" {'py heap KB':>10}" if args.tracemalloc else ""))
    first = data["samples"][0]["rss_kb"] if data["samples"] else 0
    for s in data["samples"]:
        print(f"{s['turn']:>5} {s['t_s']:>6.1f} {s['rss_kb'] / 1024:>11.1f}"
              f" {s['rss_kb'] - first:>+8} {s['server_rss_kb'] / 1024:>13.1f}"
              + (f" {s['traced_kb']:>10}" if args.tracemalloc else ""))
    print(f"turns {data['turns']} ({data['clean_turns']} with the expected transcript,"
          f" {data['interrupted_turns']} interrupted) in {data['elapsed_s']} s at {args.speed}x;"
          f" mic audio {data['mic_audio_s']} s, reply audio {data['reply_audio_s']} s;"
          f" CPU: server {data['server_cpu_s']} s, talk {data['talk_cpu_s']} s")
    print(f"RSS before talk {baseline / 1024:.1f} MB; slope after turn {args.warmup}: median"
          f" {robust if robust is None else round(robust, 2)} KB/turn -> {verdict}; least"
          f" squares {slope if slope is None else round(slope, 2)} KB/turn"
          f" (threshold {args.flat_kb_per_turn} KB/turn); server tree"
          f" {server_slope if server_slope is None else round(server_slope, 2)} KB/turn"
          + (f"; Python heap {traced_slope:.2f} KB/turn" if traced_slope is not None else ""))
    for site in data["heap_growth_sites"]:
        print(f"  heap growth {site['kb']:+8.1f} KB {site['blocks']:+6} blocks  {site['where']}")
    write_result("bench_talk_memory", {
        "meta": meta(turns=args.turns, speed=args.speed, every=args.every, warmup=args.warmup,
                     no_interruption=args.no_interruption),
        "baseline_rss_kb": baseline, "slope_kb_per_turn": slope,
        "median_slope_kb_per_turn": robust,
        "server_slope_kb_per_turn": server_slope, "python_heap_slope_kb_per_turn": traced_slope,
        "verdict": verdict, **data}, args.out)


if __name__ == "__main__":
    main()
