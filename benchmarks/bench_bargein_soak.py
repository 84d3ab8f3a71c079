"""Barge-in and playback under load for a long conversation: underruns and cut-off latency.

`voicecli talk --json --echo off` (talk's defaults otherwise; run through benchmarks/_soak_talk.py
so that its Speaker's counters are written at exit) talks for ``--minutes`` to a scripted Live
peer over wss:// (bench_vs_cookbook's measuring peer) on the virtual devices, while ``--load``
processes spin a core each. The peer alternates
  * a reply: a 1 s tone in 40 ms chunks at 1x, then turnComplete (wire -> audible at turn start;
    gaps >= 2 ms in the tone at the speaker monitor are dropouts), and
  * an interrupted reply: a 4 s tone in 200 ms chunks at 2x (as the service streams), cut by
    `interrupted` 0.6-1.2 s in (interrupted -> silence at the speaker; gaps before the cut count
    as dropouts too).
Underruns are counted three ways: the Speaker's mid-turn ring underruns, PortAudio's
output-underflow flags (both from talk itself), and the monitor's gaps during replies.
Google's cookbook sample runs ``--cookbook-trials`` of the same barge-in trials against the same
peer in the same run (before and after voicecli's soak, half each) as the baseline.

    .venv/bin/python benchmarks/bench_bargein_soak.py [--minutes 10] [--load 2]
        [--cookbook-trials 20]

Prints a table and writes benchmarks/results/bench_bargein_soak.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_vs_cookbook as vs  # noqa: E402
from _talkbench import meta, rss_kb, summary, va_environment, write_result  # noqa: E402

SPK_RATE = vs.SPK_RATE
SOAK_TALK = str(ROOT / "benchmarks" / "_soak_talk.py")


class SoakClient(vs.Client):
    """voicecli talk through _soak_talk.py (its Speaker's counters land in ``stats_path``)."""

    def __init__(self, url: str, env: dict[str, str], workdir: Path) -> None:
        self.stats_path = workdir / "speaker-stats.json"
        self.kind = "voicecli"
        self.err = open(workdir / "voicecli.err", "ab")  # noqa: SIM115
        argv = [sys.executable, SOAK_TALK, "talk", "--json", "--echo", "off", "--base-url", url]
        env = {**env, "VOICECLI_SOAK_STATS": str(self.stats_path)}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, cwd=workdir)
        self.pid = self.proc.pid
        self.out = bytearray()
        self.ready = vs.threading.Event()
        vs.threading.Thread(target=self._read, daemon=True).start()

    def speaker_stats(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.stats_path.read_text()))
        except (OSError, ValueError):
            return {}


def connect(client: Any, server: Any, setups_before: int) -> None:
    deadline = time.monotonic() + 60
    while len(server.setups) <= setups_before or not server.connected.is_set():
        if time.monotonic() > deadline or client.proc.poll() is not None:
            raise RuntimeError(f"{client.kind} did not connect to the measuring peer")
        time.sleep(0.01)
    time.sleep(1.5)  # devices settled


def reply_trial(server: Any, monitor: Any, pa_offset: float, out: dict[str, Any]) -> None:
    sent, _ = server.stream(1.0)
    time.sleep(0.6)
    found = monitor.onset_after(sent[0], pa_offset, within_s=0.6)
    if found is None:
        out["missed"] += 1
        return
    out["wire_to_audible_ms"].append((found[0] - sent[0]) * 1000)
    snap = monitor.snapshot()
    start = monitor.index_at(found[0], snap)
    out["reply_dropouts"] += vs.gaps(monitor, start, start + round(0.98 * SPK_RATE))


def bargein_trial(server: Any, monitor: Any, pa_offset: float, rng: random.Random,
                  out: dict[str, Any]) -> None:
    t_send = time.monotonic()
    _, cut_at = server.stream(4.0, interrupt_after=rng.uniform(0.6, 1.2), chunk_s=0.2, speed=2.0)
    time.sleep(0.6)
    assert cut_at is not None
    snap = monitor.snapshot()
    at = monitor.index_at(cut_at, snap)
    found = monitor.onset_after(t_send, pa_offset, within_s=0.6)
    if found is not None:  # the interrupted reply played without gaps until the cut
        start = monitor.index_at(found[0], snap)
        out["bargein_reply_dropouts"] += vs.gaps(monitor, start + SPK_RATE // 50,
                                                 at - SPK_RATE // 20)
    window = monitor.samples[max(0, at - SPK_RATE // 5):at + SPK_RATE // 2]
    loud = np.flatnonzero(np.abs(window) > 0.01)
    if loud.size:
        last = max(0, at - SPK_RATE // 5) + int(loud[-1])
        out["interrupted_to_silence_ms"].append((monitor.time_of(last, snap) - cut_at) * 1000)


def new_result() -> dict[str, Any]:
    return {"wire_to_audible_ms": [], "interrupted_to_silence_ms": [], "reply_dropouts": 0,
            "bargein_reply_dropouts": 0, "missed": 0, "pairs": 0, "rss": []}


def sample_rss(client: Any, t0: float, out: dict[str, Any]) -> None:
    """One (seconds into the conversation, RSS KB) point; the client may just have exited."""
    try:
        out["rss"].append((round(time.monotonic() - t0, 1), rss_kb(client.pid)))
    except OSError:
        pass


def rss_end_mb(out: dict[str, Any]) -> float:
    return round(out["rss"][-1][1] / 1024, 1) if out["rss"] else float("nan")


def rss_slope_mb_per_h(out: dict[str, Any], skip_s: float = 240.0) -> float:
    """Least-squares RSS slope after the first ``skip_s`` (warm-up), MB per hour."""
    pts = [(t, kb) for t, kb in out["rss"] if t >= skip_s]
    if len(pts) < 3:
        return float("nan")
    x, y = np.array(pts, dtype=float).T
    return round(float(np.polyfit(x, y, 1)[0]) * 3600 / 1024, 2)


def run_client(kind: str, server: Any, env: dict[str, str], args: argparse.Namespace,
               workdir: Path, monitor: Any, pa_offset: float, rng: random.Random,
               out: dict[str, Any], *, seconds: float | None, trials: int | None) -> None:
    setups_before = len(server.setups)
    client = SoakClient(server.url, env, workdir) if kind == "voicecli" else \
        vs.Client("cookbook", server.url, env, args.cookbook, workdir)
    try:
        connect(client, server, setups_before)
        # a mic that gave only zeros since it opened is fatal to talk after 30 s: speak once
        vs.feed_mic(vs.cpu_bench.blip(), env, workdir).wait(10)
        t0 = time.monotonic()
        while (seconds is not None and time.monotonic() - t0 < seconds) or \
                (trials is not None and out["pairs"] < trials):
            if client.proc.poll() is not None:
                raise RuntimeError(f"{kind} exited ({client.proc.returncode}): "
                                   + (workdir / f"{kind}.err").read_text()[-2000:])
            time.sleep(0.8 + rng.uniform(0, 0.3))
            reply_trial(server, monitor, pa_offset, out)
            time.sleep(0.8 + rng.uniform(0, 0.3))
            bargein_trial(server, monitor, pa_offset, rng, out)
            out["pairs"] += 1
            sample_rss(client, t0, out)
            if kind == "voicecli" and out["pairs"] % 20 == 0:
                print(f"  {time.monotonic() - t0:5.0f} s: {out['pairs']} pairs, barge-in p95"
                      f" {summary(out['interrupted_to_silence_ms'])['p95']} ms, dropouts"
                      f" {out['reply_dropouts'] + out['bargein_reply_dropouts']}", flush=True)
    finally:
        client.stop()
    if kind == "voicecli":
        out["speaker"] = client.speaker_stats()


def soak(args: argparse.Namespace, env: dict[str, str], workdir: Path,
         tls: Any) -> dict[str, dict[str, Any]]:
    import sounddevice as sd
    from bench_talk_latency import Recorder, pa_clock_offset

    rng = random.Random(args.seed)
    server = vs.measuring_server(tls)
    server.start()
    seconds = args.minutes * 60 + args.cookbook_trials * 7 + 120
    monitor = Recorder(sd, "vspeaker_monitor", SPK_RATE, seconds, 0.1, 240)
    monitor.stream.start()
    time.sleep(0.3)
    pa_offset, _ = pa_clock_offset(monitor.stream)
    results = {"voicecli": new_result(), "cookbook": new_result()}
    half = args.cookbook_trials // 2
    try:
        if half:
            run_client("cookbook", server, env, args, workdir, monitor, pa_offset, rng,
                       results["cookbook"], seconds=None, trials=half)
        run_client("voicecli", server, env, args, workdir, monitor, pa_offset, rng,
                   results["voicecli"], seconds=args.minutes * 60, trials=None)
        if args.cookbook_trials - half:
            run_client("cookbook", server, env, args, workdir, monitor, pa_offset, rng,
                       results["cookbook"], seconds=None, trials=args.cookbook_trials)
    finally:
        monitor.stream.close()
        server.stop()
    results["monitor_overflows"] = {"count": monitor.overflows}
    return results


def table(res: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    v, c = res["voicecli"], res["cookbook"]
    rows: list[dict[str, Any]] = []

    def add(name: str, a: float, b: float) -> None:
        rows.append({"measure": name, "voicecli": a, "cookbook": b,
                     "ratio": round(a / b, 2) if b else float("nan")})

    for key, name in (("interrupted_to_silence_ms", "interrupted -> silence"),
                      ("wire_to_audible_ms", "wire -> audible, turn start")):
        for q in ("p50", "p95", "max"):
            add(f"{name} {q} ms", summary(v[key])[q], summary(c[key])[q])
    add("reply + barge-in pairs", v["pairs"], c["pairs"])
    add("dropouts in replies (monitor gaps >= 2 ms)", v["reply_dropouts"], c["reply_dropouts"])
    add("dropouts before a cut (monitor gaps)", v["bargein_reply_dropouts"],
        c["bargein_reply_dropouts"])
    add("RSS at the end MB", rss_end_mb(v), rss_end_mb(c))
    add("RSS slope after 240 s (warm-up), MB per hour", rss_slope_mb_per_h(v), float("nan"))
    sp = v.get("speaker", {})
    for key in ("underruns", "device_underflows", "reopens", "flushes", "restarts",
                "prebuffer_ms"):
        add(f"talk Speaker.{key}", sp.get(key, float("nan")), float("nan"))
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'measure':46} {'voicecli':>9} {'cookbook':>9} {'ratio':>6}")
    for r in rows:
        print(f"{r['measure']:46} {r['voicecli']:>9} {r['cookbook']:>9} {r['ratio']:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="voicecli's soak")
    parser.add_argument("--load", type=int, default=2, help="busy processes spinning")
    parser.add_argument("--cookbook-trials", type=int, default=20,
                        help="the baseline's reply + barge-in pairs (0: skip it)")
    parser.add_argument("--cookbook", type=Path, default=vs.DEFAULT_COOKBOOK)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.cookbook_trials and not args.cookbook.exists():
        sys.exit(f"the cookbook sample is not at {args.cookbook} (--cookbook PATH)")
    env = va_environment()
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "VOICECLI_API_KEY", "VOICECLI_BASE_URL"):
        env.pop(key, None)
    with tempfile.TemporaryDirectory(prefix="bench-bargein-soak-") as tmp:
        workdir = Path(tmp)
        env["XDG_STATE_HOME"] = str(workdir / "state")
        os.environ["XDG_STATE_HOME"] = env["XDG_STATE_HOME"]
        from voicecli.server.transport.tls import self_signed

        tls = self_signed()
        env["SSL_CERT_FILE"] = str(tls.cert)
        ssl.create_default_context(cafile=str(tls.cert))
        started_load = os.getloadavg()
        spinners = vs.busy_load(args.load)
        try:
            res = soak(args, env, workdir, tls)
        finally:
            for spinner in spinners:
                spinner.kill()
                spinner.wait()
    rows = table(res)
    print_table(rows)
    print(f"load average at start {started_load[0]:.2f}, at end {os.getloadavg()[0]:.2f}"
          f" (--load {args.load})")
    write_result("bench_bargein_soak", {"meta": meta(minutes=args.minutes, busy_load=args.load,
                                                     cookbook_trials=args.cookbook_trials),
                                        "rows": rows, "results": res}, args.out)


if __name__ == "__main__":
    main()
