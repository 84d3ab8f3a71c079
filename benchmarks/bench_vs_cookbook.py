"""voicecli talk against Google's cookbook sample (Get_started_LiveAPI.py), side by side.

Both clients run as external programs on the same virtual devices (scripts/va-up.sh), against
the same server over wss://, interleaved A/B/A/B so that the machine's load hits both alike. The
sample is run unmodified from ``--cookbook`` (default ../shared/baselines/, see its README: it
needs pyaudio and google-genai), pointed at the server with GOOGLE_GEMINI_BASE_URL and
SSL_CERT_FILE; it is never copied here.

Four parts:
  * startup: `voicecli --help` and `--version` against the sample's `--help` (argparse, after its
    imports), each a fresh process timed from spawn to exit (wall, cold-ish: the page cache is
    warm), interleaved;
  * setup: process start -> setup on the wire alone, each client spawned `--trials` times
    (interleaved) against the measuring peer below and stopped once it is connected: the
    figure of the latency part with enough samples for a median;
  * latency: a measuring Live peer (bench_talk_latency.MeasuringServer, here over TLS) timestamps
    the setup message (process start -> setup on the wire) and every audio frame, and sends
    scripted replies: the harness plays bursts into the mic (mic -> wire), the peer streams a
    1 s tone in 40 ms chunks at 1x (wire -> audible at turn start, and dropouts: gaps >= 2 ms in
    the tone at the speaker monitor), and streams a 4 s tone in 200 ms chunks at 2x (as the
    service does) and sends `interrupted` 0.6-1.2 s in (interrupted -> silence at the speaker;
    the monitor's clock is good to a few ms, so an immediate cut can come out slightly < 0).
  * CPU and memory: `voicecli serve --tls` with its local engine; each client listens to a
    silent mic for a window, then converses (spoken questions looped into the mic, the
    replies played) for a window; CPU = utime+stime / wall (100 % = one core), RSS at the end.
    voicecli is measured with `--json` and with its Rich screen (in tmux).

    .venv/bin/python benchmarks/bench_vs_cookbook.py [--rounds 2] [--seconds 20] [--trials 10]
        [--load 2]   # 2 busy processes spin the whole run (a loaded machine)

voicecli runs at talk's defaults except `--echo off` (the sample has no echo handling: it asks
for headphones). Prints one table (each figure, both clients, the ratio) and writes
benchmarks/results/bench_vs_cookbook.json.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import random
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_talk_cpu as cpu_bench  # noqa: E402
from _talkbench import (  # noqa: E402
    cpu_seconds,
    free_port,
    meta,
    rss_kb,
    stop_server,
    summary,
    va_environment,
    wait_port,
    write_result,
)

VOICECLI = str(Path(sys.executable).with_name("voicecli"))
DEFAULT_COOKBOOK = Path(os.environ.get("VOICECLI_SHARED", ROOT.parent / "shared")) / \
    "baselines" / "Get_started_LiveAPI.py"
SPK_RATE, MIC_RATE = 24000, 16000
TONE_AMP = 0.3
READY_MARK = b"speak or type"  # the sample's input() prompt: it is connected


# ---- the clients -------------------------------------------------------------------------------

class Client:
    """One client process (voicecli talk --json, or the cookbook sample); stdout read raw."""

    def __init__(self, kind: str, url: str, env: dict[str, str], cookbook: Path,
                 workdir: Path) -> None:
        self.kind = kind
        self.err = open(workdir / f"{kind}.err", "ab")  # noqa: SIM115
        if kind == "voicecli":
            argv = [VOICECLI, "talk", "--json", "--echo", "off", "--base-url", url]
        else:
            argv = [sys.executable, str(cookbook), "--mode", "none"]
            env = {**env, "GOOGLE_API_KEY": "bench-key", "GOOGLE_GEMINI_BASE_URL": url}
            if stand_ins := unused_import_stand_ins(workdir):
                env["PYTHONPATH"] = os.pathsep.join([str(stand_ins), env.get("PYTHONPATH", "")])
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, cwd=workdir)
        self.pid = self.proc.pid
        self.out = bytearray()
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(4096):
            self.out += chunk
            if b"setup_complete" in self.out or READY_MARK in self.out:
                self.ready.set()

    def wait_ready(self, timeout: float = 60) -> None:
        if not self.ready.wait(timeout):
            raise RuntimeError(f"{self.kind} did not connect (see its .err in the workdir)")

    def stop(self) -> None:
        try:
            if self.kind == "cookbook":
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"q\n")
                self.proc.stdin.flush()
            else:
                self.proc.send_signal(2)
            self.proc.wait(10)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def unused_import_stand_ins(workdir: Path) -> Path | None:
    """The sample imports cv2 at the top, used only by --mode camera: when OpenCV is not
    installed, an empty module stands in for it (the sample runs with --mode none)."""
    import importlib.util

    if importlib.util.find_spec("cv2") is not None:
        return None
    where = workdir / "stand-ins"
    where.mkdir(exist_ok=True)
    (where / "cv2.py").write_text('"""Empty: the cookbook sample imports it, --mode none never'
                                  ' uses it."""\n')
    return where


class UiClient(cpu_bench.TalkUi):
    """voicecli talk with its live screen (bench_talk_cpu.TalkUi, in a private tmux)."""

    kind = "voicecli-ui"


def feed_mic(pcm16: bytes, env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    """pacat playing 16 kHz PCM16 into the virtual mic, itself the child (so that kill() stops
    the audio: tests.audio.virtual.feed_mic runs it under a shell that kill() leaves playing)."""
    path = workdir / "feed.raw"
    path.write_bytes(pcm16)
    return subprocess.Popen(["pacat", "-p", "-d", "vmic_in", "--format=s16le", "--rate=16000",
                             "--channels=1", "--latency-msec=20", str(path)], env=env)


# ---- part 0: start-up ---------------------------------------------------------------------------

def startup_part(args: argparse.Namespace, env: dict[str, str],
                 workdir: Path) -> dict[str, dict[str, list[float]]]:
    """Wall time from spawn to exit of each command, interleaved over rounds."""
    commands = {"voicecli --help": [VOICECLI, "--help"],
                "voicecli --version": [VOICECLI, "--version"],
                "cookbook --help": [sys.executable, str(args.cookbook), "--help"]}
    cook_env = {**env, "GOOGLE_API_KEY": "bench-key"}
    if stand_ins := unused_import_stand_ins(workdir):
        cook_env["PYTHONPATH"] = os.pathsep.join([str(stand_ins), env.get("PYTHONPATH", "")])
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds * 5):
        for name, argv in commands.items():
            t0 = time.monotonic()
            subprocess.run(argv, env=cook_env if name.startswith("cookbook") else env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                           cwd=workdir)
            times[name].append((time.monotonic() - t0) * 1000)
    for name, values in times.items():
        print(f"  startup {name:18}: p50 {summary(values)['p50']} ms", flush=True)
    return {"wall_ms": times}


def busy_load(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` processes that spin a core each until killed (a loaded machine)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


# ---- part 1: latency against the measuring peer -------------------------------------------------

def setup_part(args: argparse.Namespace, env: dict[str, str], workdir: Path,
               tls: Any) -> dict[str, list[float]]:
    """Spawn -> the setup's arrival at the measuring peer, `--trials` times per client (A/B)."""
    server = measuring_server(tls)
    server.start()
    times: dict[str, list[float]] = {"voicecli": [], "cookbook": []}
    try:
        for trial in range(args.trials):
            for kind in list(times) if trial % 2 == 0 else list(times)[::-1]:
                times[kind].append(spawn_to_setup(kind, server, env, args, workdir))
    finally:
        server.stop()
    for kind, values in times.items():
        print(f"  setup {kind:9}: p50 {summary(values)['p50']} ms over {len(values)}", flush=True)
    return times


def spawn_to_setup(kind: str, server: Any, env: dict[str, str], args: argparse.Namespace,
                   workdir: Path) -> float:
    """One client from spawn until it is connected (stopped then); ms to its setup."""
    before = len(server.setups)
    client = Client(kind, server.url, env, args.cookbook, workdir)
    try:
        deadline = time.monotonic() + 60
        while len(server.setups) <= before:
            if time.monotonic() > deadline or client.proc.poll() is not None:
                raise RuntimeError(f"{kind} sent no setup (see its .err in the workdir)")
            time.sleep(0.005)
        client.wait_ready(30)  # its start finished (devices open) before it is stopped
    finally:
        client.stop()
    return (server.setups[before] - client.started) * 1000


def measuring_server(tls: Any) -> Any:
    from bench_talk_latency import MeasuringServer
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    class TlsMeasuringServer(MeasuringServer):
        """MeasuringServer over wss://, noting when each setup message arrived."""

        def __init__(self) -> None:
            super().__init__()
            self.setups: list[float] = []

        async def _main(self) -> None:
            self._stop = self.loop.create_future()
            context = tls.server_context()
            async with serve(self._handler, "127.0.0.1", 0, max_size=None,
                             ssl=context) as server:
                port = next(iter(server.sockets)).getsockname()[1]
                self.url = f"https://127.0.0.1:{port}"
                self._ready.set()
                await self._stop

        async def _handler(self, ws: Any) -> None:
            from voicecli.protocol.messages import RealtimeInput, Setup
            from voicecli.protocol.session import ServerSession

            self.connected.clear()
            proto = ServerSession()
            self._ws, self._proto = ws, proto
            try:
                async for frame in ws:
                    arrived = time.monotonic()
                    proto.receive_data(frame)
                    for msg in proto.events_received():
                        if isinstance(msg, Setup):
                            self.setups.append(arrived)
                            proto.send_setup_complete("bench")
                            await self._flush()
                            self.connected.set()
                        elif isinstance(msg, RealtimeInput) and msg.audio and msg.audio.data:
                            self.arrivals.append((arrived, msg.audio.data))
            except ConnectionClosed:
                pass

        async def _stream(self, seconds: float, interrupt_after: float | None,
                          chunk_s: float, speed: float) -> tuple[list[float], float | None]:
            """A tone of ``seconds`` in ``chunk_s`` chunks at ``speed`` x real time;
            `interrupted` after ``interrupt_after`` s instead of the rest. Returns (send times,
            interrupted at)."""
            assert self._proto is not None and self._ws is not None
            n = round(SPK_RATE * chunk_s)
            tone = (TONE_AMP * np.cos(2 * np.pi * 440 * np.arange(round(seconds * SPK_RATE))
                                      / SPK_RATE)).astype(np.float32)
            pcm = np.clip(np.rint(tone * 32768), -32768, 32767).astype("<i2").tobytes()
            sent: list[float] = []
            t0 = time.monotonic()
            cut_at = None
            for k in range(0, len(tone), n):
                await asyncio.sleep(max(0.0, t0 + len(sent) * chunk_s / speed - time.monotonic()))
                if interrupt_after is not None and time.monotonic() - t0 >= interrupt_after:
                    self._proto.send_interrupted()
                    cut_at = time.monotonic()
                    await self._flush()
                    break
                self._proto.send_model_audio(pcm[2 * k:2 * (k + n)])
                sent.append(time.monotonic())
                await self._flush()
            if cut_at is None:
                self._proto.send_generation_complete()
            self._proto.send_turn_complete()
            await self._flush()
            return sent, cut_at

        def stream(self, seconds: float, interrupt_after: float | None = None,
                   chunk_s: float = 0.04, speed: float = 1.0) -> tuple[list[float], float | None]:
            future = asyncio.run_coroutine_threadsafe(
                self._stream(seconds, interrupt_after, chunk_s, speed), self.loop)
            return future.result(seconds + 10)

    return TlsMeasuringServer()


def gaps(rec: Any, start: int, stop: int) -> int:
    """Silent runs >= 2 ms inside [start, stop) of the monitor recording: dropouts."""
    quiet = np.abs(rec.samples[start:stop]) <= 0.01
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int((lengths >= rec.rate // 500).sum())


def latency_round(kind: str, server: Any, sd: Any, env: dict[str, str], args: argparse.Namespace,
                  workdir: Path, rng: random.Random, monitor: Any,
                  pa_offset: float) -> dict[str, Any]:
    from bench_talk_latency import Feeder, Recorder, capture_to_wire, mic_signal

    setups_before = len(server.setups)
    client = Client(kind, server.url, env, args.cookbook, workdir)
    out: dict[str, Any] = {"start_to_setup_ms": [], "wire_to_audible_ms": [], "dropouts": 0,
                           "interrupted_to_silence_ms": [], "mic_to_wire_ms": []}
    try:
        deadline = time.monotonic() + 60
        while len(server.setups) <= setups_before or not server.connected.is_set():
            if time.monotonic() > deadline or client.proc.poll() is not None:
                raise RuntimeError(f"{kind} did not connect to the measuring peer")
            time.sleep(0.01)
        out["start_to_setup_ms"].append((server.setups[-1] - client.started) * 1000)
        time.sleep(1.5)  # devices settled
        signal, starts = mic_signal(args.trials, rng)
        reference = Recorder(sd, "pulse", MIC_RATE, 30 + len(signal) / MIC_RATE, 0.1, 160)
        reference.stream.start()  # this round's bursts only
        feeder = Feeder(sd, signal, 0.1)
        feeder.stream.start()
        time.sleep(0.2)
        armed_after = len(server.arrivals)
        feeder.armed = True
        feeder.finished.wait(10 + len(signal) / MIC_RATE)
        time.sleep(0.5)
        feeder.stream.close()
        c2w = capture_to_wire(server, feeder, reference, starts, pa_offset, armed_after)
        reference.stream.close()
        out["mic_to_wire_ms"] = c2w["total"]
        for _ in range(args.trials):  # first reply audio: a fresh turn after a quiet second
            time.sleep(1.0 + rng.uniform(0, 0.3))
            sent, _ = server.stream(1.0)
            time.sleep(0.6)
            found = monitor.onset_after(sent[0], pa_offset, within_s=0.6)
            if found is None:
                out.setdefault("missed", 0)
                out["missed"] = out["missed"] + 1
                continue
            out["wire_to_audible_ms"].append((found[0] - sent[0]) * 1000)
            snap = monitor.snapshot()
            start = monitor.index_at(found[0], snap)
            out["dropouts"] += gaps(monitor, start, start + round(0.98 * SPK_RATE))
        for _ in range(args.trials):  # barge-in
            time.sleep(0.8 + rng.uniform(0, 0.3))
            # like the service: 200 ms chunks at twice real time (a backlog builds up)
            _, cut_at = server.stream(4.0, interrupt_after=rng.uniform(0.6, 1.2), chunk_s=0.2,
                                      speed=2.0)
            time.sleep(0.6)
            assert cut_at is not None
            snap = monitor.snapshot()
            at = monitor.index_at(cut_at, snap)
            window = monitor.samples[max(0, at - SPK_RATE // 5):at + SPK_RATE // 2]
            loud = np.flatnonzero(np.abs(window) > 0.01)
            if loud.size:
                last = max(0, at - SPK_RATE // 5) + int(loud[-1])
                out["interrupted_to_silence_ms"].append(
                    (monitor.time_of(last, snap) - cut_at) * 1000)
    finally:
        client.stop()
    return out


def latency_part(args: argparse.Namespace, env: dict[str, str], workdir: Path,
                 tls: Any) -> dict[str, Any]:
    import sounddevice as sd
    from bench_talk_latency import Recorder, pa_clock_offset

    rng = random.Random(args.seed)
    server = measuring_server(tls)
    server.start()
    seconds = args.rounds * 2 * (30 + args.trials * 6.5) + 60
    monitor = Recorder(sd, "vspeaker_monitor", SPK_RATE, seconds, 0.1, 240)
    monitor.stream.start()
    time.sleep(0.3)
    pa_offset, _ = pa_clock_offset(monitor.stream)
    results: dict[str, dict[str, Any]] = {k: {} for k in ("voicecli", "cookbook")}
    try:
        for r in range(args.rounds):
            order = ["voicecli", "cookbook"] if r % 2 == 0 else ["cookbook", "voicecli"]
            for kind in order:
                got = latency_round(kind, server, sd, env, args, workdir, rng, monitor,
                                    pa_offset)
                for key, value in got.items():
                    merged = results[kind].setdefault(key, [] if isinstance(value, list) else 0)
                    results[kind][key] = merged + value
                print(f"  latency round {r + 1} {kind:9}: setup"
                      f" {got['start_to_setup_ms'][0]:.0f} ms, barge-in p50"
                      f" {summary(got['interrupted_to_silence_ms'])['p50']} ms", flush=True)
    finally:
        monitor.stream.close()
        server.stop()
    return results


# ---- part 2: CPU and memory against voicecli serve --------------------------------------------

def cpu_window(pid: int, seconds: float) -> float:
    before, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - t0)


def cpu_round(kind: str, url: str, env: dict[str, str], args: argparse.Namespace,
              workdir: Path, speech: bytes) -> dict[str, float]:
    client: Any
    if kind == "voicecli-ui":
        client = UiClient(env, url, ["--echo", "off"], workdir)
    else:
        client = Client(kind, url, env, args.cookbook, workdir)
    feeder = None
    try:
        client.wait_ready()
        feed_mic(cpu_bench.blip(), env, workdir).wait(10)  # voicecli's silent-mic guard is calm
        time.sleep(args.settle)
        listening = cpu_window(client.pid, args.seconds)
        feeder = feed_mic(speech, env, workdir)
        time.sleep(args.settle)
        conversing = cpu_window(client.pid, args.seconds)
        rss = rss_kb(client.pid) / 1024
    finally:
        if feeder is not None:
            feeder.kill()
            feeder.wait()
        client.stop()
    return {"listening_cpu_pct": round(listening, 2), "conversing_cpu_pct": round(conversing, 2),
            "rss_mb": round(rss, 1)}


def cpu_part(args: argparse.Namespace, env: dict[str, str], workdir: Path,
             kinds: list[str]) -> dict[str, list[dict[str, float]]]:
    port = free_port()
    err = open(workdir / "serve.err", "wb")  # noqa: SIM115
    server = subprocess.Popen([VOICECLI, "serve", "--tls", "--port", str(port)], env=env,
                              stdout=err, stderr=err)
    url = f"https://127.0.0.1:{port}"
    speech = cpu_bench.speech_loop(args.seconds + args.settle + 10)
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    loads: list[float] = []
    try:
        wait_port(port)
        for r in range(args.rounds):
            order = kinds if r % 2 == 0 else kinds[::-1]
            for kind in order:
                loads.append(os.getloadavg()[0])
                rows[kind].append(cpu_round(kind, url, env, args, workdir, speech))
                print(f"  cpu round {r + 1} {kind:11}: {rows[kind][-1]}", flush=True)
    finally:
        stop_server(server)
        err.close()
    rows["load_1m"] = [{"value": round(x, 2)} for x in loads]  # type: ignore[list-item]
    return rows


# ---- the table ----------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def table(lat: dict[str, Any] | None, cpu: dict[str, Any] | None,
          start: dict[str, Any] | None = None,
          setup: dict[str, list[float]] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(name: str, v: float, c: float, ui: float | None = None, better: str = "lower",
            ) -> None:
        ratio = v / c if c else float("nan")
        rows.append({"measure": name, "voicecli": round(v, 1), "voicecli_ui": ui,
                     "cookbook": round(c, 1), "ratio": round(ratio, 2), "better": better})

    if cpu is not None:
        for key, name in (("listening_cpu_pct", "CPU % of one core, listening"),
                          ("conversing_cpu_pct", "CPU % of one core, conversing"),
                          ("rss_mb", "RSS MB after conversing")):
            ui = cpu.get("voicecli-ui")
            add(name, median([x[key] for x in cpu["voicecli"]]),
                median([x[key] for x in cpu["cookbook"]]),
                round(median([x[key] for x in ui]), 1) if ui else None)
    if lat is not None:
        v, c = lat["voicecli"], lat["cookbook"]
        for key, name in (("interrupted_to_silence_ms", "interrupted -> silence"),
                          ("mic_to_wire_ms", "mic -> wire"),
                          ("wire_to_audible_ms", "wire -> audible, turn start")):
            for q in ("p50", "p95"):
                add(f"{name} {q} ms", summary(v[key])[q], summary(c[key])[q])
        add("dropouts in the first replies", v["dropouts"], c["dropouts"])
        add("process start -> setup on the wire p50 ms", median(v["start_to_setup_ms"]),
            median(c["start_to_setup_ms"]))
    if setup is not None:
        add(f"process start -> setup on the wire p50 ms ({len(setup['voicecli'])} spawns)",
            median(setup["voicecli"]), median(setup["cookbook"]))
    if start is not None:
        wall = start["wall_ms"]
        for flag in ("--help", "--version"):
            add(f"{flag} spawn -> exit p50 ms (cookbook --help)",
                median(wall[f"voicecli {flag}"]), median(wall["cookbook --help"]))
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'measure':50} {'voicecli':>9} {'(Rich UI)':>9} {'cookbook':>9} {'ratio':>6}")
    for r in rows:
        ui = "" if r["voicecli_ui"] is None else f"{r['voicecli_ui']:.1f}"
        print(f"{r['measure']:50} {r['voicecli']:>9.1f} {ui:>9} {r['cookbook']:>9.1f}"
              f" {r['ratio']:>6.2f}")
    print("ratio = voicecli / cookbook (lower is better for every row); voicecli: talk --json"
          " --echo off (and its Rich screen, --echo off); medians over rounds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds per part")
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU window per case")
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--trials", type=int, default=10, help="latency trials per round")
    parser.add_argument("--parts", default="startup,setup,latency,cpu")
    parser.add_argument("--load", type=int, default=0,
                        help="busy processes spinning during the run (a loaded machine)")
    parser.add_argument("--no-ui", action="store_true", help="skip voicecli's Rich screen")
    parser.add_argument("--cookbook", type=Path, default=DEFAULT_COOKBOOK)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if not args.cookbook.exists():
        sys.exit(f"the cookbook sample is not at {args.cookbook} (--cookbook PATH)")
    # As installed (pip writes the bytecode): under PYTHONDONTWRITEBYTECODE every spawn would
    # otherwise time the compiler too (the sample's google-genai is installed, compiled).
    compileall.compile_dir(str(ROOT / "voicecli"), quiet=1)
    env = va_environment()  # exported too: before sounddevice is imported
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "VOICECLI_API_KEY", "VOICECLI_BASE_URL"):
        env.pop(key, None)
    with tempfile.TemporaryDirectory(prefix="bench-vs-cookbook-") as tmp:
        workdir = Path(tmp)
        env["XDG_STATE_HOME"] = str(workdir / "state")  # serve --tls makes its cert there
        os.environ["XDG_STATE_HOME"] = env["XDG_STATE_HOME"]
        from voicecli.server.transport.tls import self_signed

        tls = self_signed()
        env["SSL_CERT_FILE"] = str(tls.cert)
        cpu_bench.ENV_KEYS = (*cpu_bench.ENV_KEYS, "SSL_CERT_FILE", "XDG_STATE_HOME")
        ssl.create_default_context(cafile=str(tls.cert))  # a readable certificate
        parts = args.parts.split(",")
        started_load = os.getloadavg()
        spinners = busy_load(args.load)
        try:
            start = startup_part(args, env, workdir) if "startup" in parts else None
            setup = setup_part(args, env, workdir, tls) if "setup" in parts else None
            lat = latency_part(args, env, workdir, tls) if "latency" in parts else None
            kinds = ["voicecli", "cookbook"] + ([] if args.no_ui else ["voicecli-ui"])
            cpu = cpu_part(args, env, workdir, kinds) if "cpu" in parts else None
        finally:
            for spinner in spinners:
                spinner.kill()
                spinner.wait()
    rows = table(lat, cpu, start, setup)
    print_table(rows)
    print(f"load average at start {started_load[0]:.2f}, at end {os.getloadavg()[0]:.2f}"
          f" (--load {args.load}: busy processes of ours)")
    write_result("bench_vs_cookbook", {"meta": meta(rounds=args.rounds, seconds=args.seconds,
                                                    trials=args.trials, busy_load=args.load,
                                                    load_at_start=started_load),
                                       "rows": rows, "startup": start, "setup": setup,
                                       "latency": lat,
                                       "cpu": cpu}, args.out)


if __name__ == "__main__":
    main()
