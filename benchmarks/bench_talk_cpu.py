"""CPU cost of `voicecli talk` on the virtual devices, as a share of one core.

`voicecli serve` and `voicecli talk` run as subprocesses (talk with the real default devices =
the virtual mic and speaker); CPU = utime + stime from /proc/PID/stat over a window that starts
after talk is connected and settled (start-up excluded). Cases:
  listening   mic silence (one quiet 100 ms blip first, so the silent-mic guard stays calm)
  streaming   speech played continuously into the mic (pacat -d vmic_in, a question then
              1.2 s pause, repeated) while the replies play; --no-barge-in so none is cut
each with `--json` (NDJSON on stdout) for every `--echo` mode (echo handling on the mic: off,
gate, aec), and with the Rich live screen (talk inside a private tmux server, 100x30, the default
echo mode). The server's and the PulseAudio daemon's CPU are shown for context.

    .venv/bin/python benchmarks/bench_talk_cpu.py [--seconds 20] [--no-ui] [--settle 2]
                                                  [--echo off,gate,aec]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
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

from _talkbench import (  # noqa: E402
    CLK_TCK,
    cpu_seconds,
    free_port,
    meta,
    stop_server,
    va_environment,
    wait_port,
    write_result,
)

from tests.speechgen import silence, speech_pcm16  # noqa: E402

VOICECLI = str(Path(sys.executable).with_name("voicecli"))
QUESTIONS = ["what is the weather like in london today", "what time is it",
             "tell me a joke about computers"]
ENV_KEYS = ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH", "PULSE_CLIENTCONFIG",
            "ALSA_CONFIG_PATH", "PYTHONPATH")


class Lines:
    """Reads a subprocess's stdout lines in a thread, with time.monotonic() stamps."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.lines: list[tuple[float, str]] = []
        self.first = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.lines.append((time.monotonic(), raw.decode(errors="replace")))
            self.first.set()

    def events(self, start: float, end: float) -> list[dict[str, Any]]:
        out = []
        for t, line in list(self.lines):
            if start <= t <= end:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return out


def feed(pcm: bytes, env: dict[str, str], workdir: Path, name: str) -> subprocess.Popen[bytes]:
    """Play PCM16 16 kHz mono into the virtual mic (real-time paced by PulseAudio)."""
    path = workdir / f"{name}.raw"
    path.write_bytes(pcm)
    return subprocess.Popen(["pacat", "-p", "-d", "vmic_in", "--format=s16le", "--rate=16000",
                             "--channels=1", "--latency-msec=20", str(path)], env=env)


def speech_loop(seconds: float) -> bytes:
    pieces, total = [], 0.0
    k = 0
    while total < seconds:
        pcm = speech_pcm16(QUESTIONS[k % len(QUESTIONS)]) + silence(1200)
        pieces.append(pcm)
        total += len(pcm) / 32000
        k += 1
    return b"".join(pieces)


def blip() -> bytes:
    rng = np.random.default_rng(1)
    return (rng.normal(0, 32768 * 10 ** (-60 / 20), 1600)).astype("<i2").tobytes()


def thread_seconds(pid: int) -> dict[str, float]:
    """CPU seconds of ``pid``'s threads by group: the main thread (talk's event loop), libpulse's
    threads ("threaded-ml") and the rest (PortAudio callback threads, executor workers)."""
    out = {"main": 0.0, "libpulse": 0.0, "other": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        group = "main" if task.name == str(pid) else "libpulse" if comm == "threaded-ml" \
            else "other"
        out[group] += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def measure(pids: dict[str, int], seconds: float,
            ) -> tuple[dict[str, float], dict[str, float], float, float]:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    threads_before = thread_seconds(pids["talk"])
    t0 = time.monotonic()
    time.sleep(seconds)
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    threads_after = thread_seconds(pids["talk"])
    t1 = time.monotonic()
    share = {name: round(100 * (after[name] - before[name]) / (t1 - t0), 2) for name in pids}
    # threads that ended inside the window are missing from "after": groups are approximate
    threads = {g: round(100 * max(0.0, threads_after[g] - threads_before[g]) / (t1 - t0), 2)
               for g in threads_before}
    return share, threads, t0, t1


class TalkJson:
    def __init__(self, env: dict[str, str], url: str, args: list[str], workdir: Path) -> None:
        self.stderr = open(workdir / "talk-json.err", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([VOICECLI, "talk", "--json", "--base-url", url, *args],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        self.lines = Lines(self.proc)
        self.pid = self.proc.pid

    def wait_ready(self) -> None:
        if not self.lines.first.wait(30):
            raise RuntimeError("voicecli talk --json printed nothing (see talk-json.err)")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


class TalkUi:
    """`voicecli talk` with its live screen in a private tmux server."""

    def __init__(self, env: dict[str, str], url: str, args: list[str], workdir: Path) -> None:
        self.tmux = ["tmux", "-L", f"bench-talk-cpu-{os.getpid()}", "-f", "/dev/null"]
        pass_env = [x for k in ENV_KEYS if k in env for x in ("-e", f"{k}={env[k]}")]
        command = " ".join(["exec", shlex.quote(VOICECLI), "talk", "--base-url",
                            shlex.quote(url), *map(shlex.quote, args), "2>",
                            shlex.quote(str(workdir / "talk-ui.err"))])
        subprocess.run([*self.tmux, "new-session", "-d", "-s", "talk", "-x", "100", "-y", "30",
                        *pass_env, "-e", "LANG=C.UTF-8", command], check=True, env=env)
        out = subprocess.run([*self.tmux, "display-message", "-p", "-t", "talk",
                              "#{pane_pid}"], capture_output=True, text=True, check=True)
        self.pid = int(out.stdout.strip())

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", "talk"],
                              capture_output=True, text=True).stdout

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "listening" in self.screen().lower():
                return
            time.sleep(0.1)
        raise RuntimeError(f"the talk screen never showed 'listening':\n{self.screen()}")

    def stop(self) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "talk", "q"], capture_output=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{self.pid}").exists():
            time.sleep(0.1)
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def run_case(mode: str, case: str, env: dict[str, str], url: str, server_pid: int,
             pulse_pid: int | None, args: argparse.Namespace, workdir: Path,
             speech: bytes, echo: str = "auto") -> dict[str, Any]:
    talk_args = ["--echo", echo, *(["--no-barge-in"] if case == "streaming" else [])]
    talk: TalkJson | TalkUi = (TalkJson if mode == "json" else TalkUi)(env, url, talk_args,
                                                                       workdir)
    feeder = None
    try:
        talk.wait_ready()
        feed(blip(), env, workdir, "blip").wait()
        if case == "streaming":
            feeder = feed(speech, env, workdir, "speech")
        time.sleep(args.settle)  # start-up (imports, device open, connect) stays outside
        pids = {"talk": talk.pid, "server": server_pid}
        if pulse_pid is not None:
            pids["pulseaudio"] = pulse_pid
        share, threads, t0, t1 = measure(pids, args.seconds)
        row: dict[str, Any] = {"case": case, "mode": "--json" if mode == "json" else "Rich UI",
                               "echo": echo,
                               "window_s": round(t1 - t0, 2),
                               "talk_cpu_pct": share["talk"],
                               "talk_threads_cpu_pct": threads,
                               "server_cpu_pct": share["server"],
                               "pulseaudio_cpu_pct": share.get("pulseaudio")}
        if isinstance(talk, TalkJson):
            events = talk.lines.events(t0, t1)
            row["reply_audio_s"] = round(sum(e.get("ms", 0) for e in events
                                             if e.get("type") == "audio") / 1000, 1)
            row["turns"] = sum(1 for e in events if e.get("type") == "turn")
        return row
    finally:
        if feeder is not None:
            feeder.kill()
            feeder.wait()
        talk.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window per case")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="wait after talk is connected (and the feed started) before measuring")
    parser.add_argument("--no-ui", action="store_true", help="skip the Rich UI (tmux) cases")
    parser.add_argument("--echo", default="off,gate,aec",
                        help="talk --echo modes measured with --json (the UI runs with auto)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    env = va_environment(export=False)
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "VOICECLI_API_KEY", "VOICECLI_BASE_URL"):
        env.pop(key, None)
    va_dir = Path(env["VA_DIR"])
    pulse_pid = int((va_dir / "run" / "pid").read_text()) if (va_dir / "run/pid").exists() \
        else None
    speech = speech_loop(args.seconds + args.settle + 10)
    port = free_port()
    modes = ["json"] if args.no_ui else ["json", "ui"]
    if "ui" in modes and subprocess.run(["which", "tmux"], capture_output=True).returncode:
        print("tmux not found: skipping the Rich UI cases")
        modes = ["json"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-talk-cpu-") as tmp:
        workdir = Path(tmp)
        server_err = open(workdir / "serve.err", "wb")  # noqa: SIM115
        server = subprocess.Popen([VOICECLI, "serve", "--port", str(port)], env=env,
                                  stdout=server_err, stderr=server_err)
        try:
            wait_port(port)
            url = f"ws://127.0.0.1:{port}"
            plan = [("json", echo) for echo in args.echo.split(",")]
            plan += [("ui", "auto")] if "ui" in modes else []
            for mode, echo in plan:
                for case in ("listening", "streaming"):
                    rows.append(run_case(mode, case, env, url, server.pid, pulse_pid, args,
                                         workdir, speech, echo))
                    row = rows[-1]
                    print(f"  {case:10} {row['mode']:8} echo {echo:5} talk"
                          f" {row['talk_cpu_pct']:5.1f} %", flush=True)
        finally:
            stop_server(server)
            server_err.close()
    print_table(rows)
    write_result("bench_talk_cpu", {"meta": meta(seconds=args.seconds, settle_s=args.settle),
                                    "rows": rows}, args.out)


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'case':10} {'mode':8} {'echo':5} {'window s':>8} {'talk %':>7} {'(loop':>6}"
          f" {'pulse':>6} {'other)':>6} {'server %':>8} {'pulse %':>7} {'reply audio s':>13}"
          f" {'turns':>5}")
    for r in rows:
        pulse, th = r["pulseaudio_cpu_pct"], r["talk_threads_cpu_pct"]
        print(f"{r['case']:10} {r['mode']:8} {r['echo']:5} {r['window_s']:>8.1f}"
              f" {r['talk_cpu_pct']:>7.1f}"
              f" {th['main']:>6.1f} {th['libpulse']:>6.1f} {th['other']:>6.1f}"
              f" {r['server_cpu_pct']:>8.1f} {pulse if pulse is not None else '-':>7}"
              f" {r.get('reply_audio_s', '-'):>13} {r.get('turns', '-'):>5}")
    print("CPU = utime+stime over the window / wall time (100 % = one core); talk's threads:"
          " loop = main thread (event loop, UI), pulse = libpulse, other = PortAudio callbacks,"
          " workers")


if __name__ == "__main__":
    main()
