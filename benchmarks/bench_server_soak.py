"""Resident memory of `voicecli serve` over hundreds of sessions, beside a baseline checkout.

Each server runs as a subprocess (`python -m voicecli serve --pace 0`) and is sent, one after
another, ``--sessions`` sessions of each kind:

* **text**: setup (a TEXT model), one `realtimeInput.text` question, the whole turn, close;
* **audio**: setup (an AUDIO model, input transcription on), a spoken question (espeak-ng, 16 kHz)
  and 1 s of silence streamed unpaced in 20 ms chunks, the whole spoken reply, close;
  ``--parallel`` of them at a time (sequential sessions would take ~1.5 s each on 2 cores);
* **garbage** (``--garbage N`` connections at once, ``--garbage-rounds`` times): sockets that
  never send setup, send junk, or set up and vanish in the middle of an utterance, all dropped
  without a close frame; then one good text session, timed.

Before the first sample each server answers one text and one audio session (the recognition
processes start and load their models in the background at start-up). RSS is read from /proc
after every ``--every`` sessions, for the server process and for its whole process tree (the
recognition processes of `voicecli.speech.asr_process` included). Growth is measured from the
first sample at or after ``--warmup`` sessions to the last one.

``--baseline REF`` runs the same load, in the same run, against the server of git REF (extracted
with ``git archive`` into a temporary folder, imported from there), e.g. the commit before a
fix. Results go to benchmarks/results/bench_server_soak.json.

    .venv/bin/python benchmarks/bench_server_soak.py [--sessions 300] [--every 50]
        [--kinds text,audio] [--garbage 200] [--baseline REF]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import websockets  # noqa: E402
from _talkbench import descendants, free_port, meta, rss_kb, stop_server, wait_port, write_result  # noqa: E402

from tests.speechgen import silence, speech_pcm16  # noqa: E402

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
TEXT_SETUP = {"setup": {"model": "models/gemini-live-2.5-flash-preview",
                        "generationConfig": {"responseModalities": ["TEXT"]}}}
AUDIO_SETUP = {"setup": {"model": "models/gemini-3.8-live",
                         "generationConfig": {"responseModalities": ["AUDIO"]},
                         "inputAudioTranscription": {}}}
QUESTION = "what time is it"
CHUNK_BYTES = 640  # 20 ms at 16 kHz


class Server:
    """A `voicecli serve` subprocess importing voicecli from `source` (a checkout's root)."""

    def __init__(self, label: str, source: Path) -> None:
        self.label = label
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(source), "VOICECLI_CONFIG_DIR": tempfile.mkdtemp()}
        env.pop("GEMINI_API_KEY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicecli", "serve", "--port", str(self.port), "--pace", "0",
             "--max-sessions", "256"],
            cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port, timeout=60)
        self.url = f"ws://127.0.0.1:{self.port}{PATH}"

    def rss(self) -> tuple[int, int]:
        """(server RSS, whole process tree RSS) in KiB."""
        own = rss_kb(self.proc.pid)
        tree = own
        for pid in descendants(self.proc.pid):
            try:
                tree += rss_kb(pid)
            except OSError:
                pass
        return own, tree

    def stop(self) -> None:
        stop_server(self.proc)


async def _turn(ws: Any, limit_s: float = 60.0) -> int:
    """Frames until turnComplete; returns the reply audio bytes received."""
    audio = 0
    async with asyncio.timeout(limit_s):
        while True:
            msg = json.loads(await ws.recv())
            content = msg.get("serverContent", {})
            for part in content.get("modelTurn", {}).get("parts", []):
                if "inlineData" in part:
                    audio += len(part["inlineData"]["data"])
            if content.get("turnComplete"):
                return audio


async def text_session(url: str, n: int) -> None:
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps(TEXT_SETUP))
        await ws.recv()
        await ws.send(json.dumps({"realtimeInput": {"text": f"question number {n}"}}))
        await _turn(ws)


async def audio_session(url: str, pcm: bytes) -> None:
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps(AUDIO_SETUP))
        await ws.recv()
        for i in range(0, len(pcm), CHUNK_BYTES):
            data = base64.b64encode(pcm[i : i + CHUNK_BYTES]).decode()
            await ws.send(json.dumps({"realtimeInput": {"audio": {
                "mimeType": "audio/pcm;rate=16000", "data": data}}}))
        if not await _turn(ws):
            raise RuntimeError("an audio session got no reply audio")


async def garbage(url: str, count: int, pcm: bytes) -> None:
    """`count` connections at once, dropped without a close frame: a quarter never send setup,
    a quarter send junk instead, a quarter send a setup then junk, a quarter set up and stop
    in the middle of an utterance (a recogniser was busy for each)."""

    async def one(i: int) -> None:
        try:
            ws = await websockets.connect(url, compression=None, open_timeout=20)
        except Exception:  # noqa: BLE001 - a refusal is an answer too
            return
        try:
            if i % 4 == 1:
                await ws.send("\x00garbage\xff{")
            elif i % 4 == 2:
                await ws.send(json.dumps(TEXT_SETUP))
                await ws.send("{" * 1000)
            elif i % 4 == 3:
                await ws.send(json.dumps(AUDIO_SETUP))
                for j in range(0, len(pcm) // 2, CHUNK_BYTES):
                    data = base64.b64encode(pcm[j : j + CHUNK_BYTES]).decode()
                    await ws.send(json.dumps({"realtimeInput": {"audio": {
                        "mimeType": "audio/pcm;rate=16000", "data": data}}}))
            await asyncio.sleep(1.0)
        except websockets.ConnectionClosed:
            pass
        ws.transport.abort()

    await asyncio.gather(*(one(i) for i in range(count)))


async def soak(server: Server, kind: str, sessions: int, every: int, pcm: bytes,
               garbage_count: int, parallel: int) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = []
    await text_session(server.url, 0)
    await audio_session(server.url, pcm)
    await asyncio.sleep(1.0)
    started = time.monotonic()
    if kind == "garbage":
        for round_ in range(1, sessions // every + 1):
            await garbage(server.url, garbage_count, pcm)
            await asyncio.sleep(1.0)
            t0 = time.monotonic()
            await text_session(server.url, round_)
            own, tree = server.rss()
            samples.append({"sessions": round_ * garbage_count, "rss_kb": own, "tree_kb": tree,
                            "good_client_ms": round((time.monotonic() - t0) * 1000, 1),
                            "elapsed_s": round(time.monotonic() - started, 1)})
            _show(server.label, kind, samples[-1])
        return samples
    own, tree = server.rss()
    samples.append({"sessions": 0, "rss_kb": own, "tree_kb": tree, "elapsed_s": 0.0})
    _show(server.label, kind, samples[-1])
    step = 1 if kind == "text" else max(1, min(parallel, every))
    for n in range(step, sessions + 1, step):
        if kind == "text":
            await text_session(server.url, n)
        else:
            await asyncio.gather(*(audio_session(server.url, pcm) for _ in range(step)))
        if n % every == 0:
            await asyncio.sleep(0.3)  # let the server finish closing the last session
            own, tree = server.rss()
            samples.append({"sessions": n, "rss_kb": own, "tree_kb": tree,
                            "elapsed_s": round(time.monotonic() - started, 1)})
            _show(server.label, kind, samples[-1])
    return samples


def _show(label: str, kind: str, sample: dict[str, Any]) -> None:
    extra = f"  good client {sample['good_client_ms']} ms" if "good_client_ms" in sample else ""
    print(f"  {label:<9} {kind:<7} {sample['sessions']:>5} sessions  server "
          f"{sample['rss_kb'] / 1024:7.1f} MB  tree {sample['tree_kb'] / 1024:7.1f} MB"
          f"  ({sample['elapsed_s']} s){extra}", flush=True)


def growth(samples: list[dict[str, Any]], warmup: int, key: str) -> dict[str, float]:
    """MB grown from the first sample at or after `warmup` sessions to the last."""
    settled = [s for s in samples if s["sessions"] >= warmup] or samples
    first, last = settled[0], samples[-1]
    span = max(1, last["sessions"] - first["sessions"])
    grown = (last[key] - first[key]) / 1024
    return {"from_sessions": first["sessions"], "to_sessions": last["sessions"],
            "grown_mb": round(grown, 2), "kb_per_session": round(grown * 1024 / span, 1)}


def extract(ref: str) -> Path:
    """The tree of git `ref` in a temporary folder (voicecli/ only: the server's code)."""
    folder = Path(tempfile.mkdtemp(prefix="soak-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "voicecli"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


async def run(args: argparse.Namespace) -> dict[str, Any]:
    pcm = speech_pcm16(QUESTION) + silence(1000)
    servers = [("this tree", ROOT)]
    if args.baseline:
        servers.insert(0, (f"base {args.baseline[:7]}", extract(args.baseline)))
    results: dict[str, Any] = {}
    for label, source in servers:
        results[label] = {}
        for kind in args.kinds.split(","):
            server = Server(label, source)  # a fresh process per kind: growths do not mix
            try:
                count = args.sessions if kind != "garbage" else args.every * args.garbage_rounds
                samples = await soak(server, kind, count, args.every, pcm, args.garbage,
                                     args.parallel)
            finally:
                server.stop()
            results[label][kind] = {"samples": samples,
                                    "server": growth(samples, args.warmup, "rss_kb"),
                                    "tree": growth(samples, args.warmup, "tree_kb")}
    return results


TARGET_MB = 5.0  # issue 13 §5: RSS grows at most this much over 300 sessions after warm-up


def table(results: dict[str, Any]) -> None:
    print(f"\n{'server':<12} {'kind':<8} {'after warm-up':>14} {'last':>6} "
          f"{'server MB':>11} {'grown':>8} {'KB/sess':>8} {'tree MB':>9} {'grown':>8}"
          f"  target ≤ {TARGET_MB:g} MB")
    for label, kinds in results.items():
        for kind, data in kinds.items():
            s, t, last = data["server"], data["tree"], data["samples"][-1]
            verdict = "met" if max(s["grown_mb"], t["grown_mb"]) <= TARGET_MB else "MISSED"
            data["target_met"] = verdict == "met"
            print(f"{label:<12} {kind:<8} {s['from_sessions']:>14} {s['to_sessions']:>6} "
                  f"{last['rss_kb'] / 1024:>11.1f} {s['grown_mb']:>+8.1f} "
                  f"{s['kb_per_session']:>8.1f} {last['tree_kb'] / 1024:>9.1f} "
                  f"{t['grown_mb']:>+8.1f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=300,
                        help="sessions of each kind (audio too: RSS per --every of them)")
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=50,
                        help="sessions before growth is counted")
    parser.add_argument("--kinds", default="text,audio", help="text,audio,garbage")
    parser.add_argument("--garbage", type=int, default=200,
                        help="garbage connections per round (kind garbage)")
    parser.add_argument("--garbage-rounds", type=int, default=4)
    parser.add_argument("--parallel", type=int, default=2, help="audio sessions at a time")
    parser.add_argument("--baseline", help="git ref to run side by side, e.g. main")
    parser.add_argument("--out")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    table(results)
    write_result("bench_server_soak", {"meta": meta(sessions=args.sessions, every=args.every,
                                                    warmup=args.warmup, parallel=args.parallel,
                                                    baseline=args.baseline),
                                       "results": results}, args.out)


if __name__ == "__main__":
    main()
