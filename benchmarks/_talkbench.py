"""Shared helpers for the `voicecli talk` benchmarks (bench_talk_*.py).

Virtual audio: the benchmarks use their own PulseAudio daemon, ``$VA_DIR`` (default
/tmp/va-bench, so other work on /tmp/va is not disturbed), started with scripts/va-up.sh when it
is not running and left running (stop it with ``VA_DIR=/tmp/va-bench scripts/va-down.sh``).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_VA_DIR = "/tmp/va-bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def va_environment(export: bool = True) -> dict[str, str]:
    """The virtual-audio environment (PULSE_SERVER, ALSA_CONFIG_PATH, ...), daemon started if
    needed. With ``export`` it goes into os.environ too: call this before sounddevice is imported
    (PortAudio reads its device list once)."""
    va_dir = Path(os.environ.get("VA_DIR", DEFAULT_VA_DIR))
    env = {**os.environ, "VA_DIR": str(va_dir)}
    done = subprocess.run([str(ROOT / "scripts" / "va-up.sh")], env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"scripts/va-up.sh failed (PulseAudio needed, Debian/Ubuntu):\n{done.stderr}")
    for line in (va_dir / "env").read_text().splitlines():
        key, value = line.removeprefix("export ").split("=", 1)
        env[key] = value
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if export:
        os.environ.update(env)
    return env


def free_port() -> int:
    """A free TCP port on the loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    """Wait until something listens on the loopback ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"voicecli serve did not listen on {port}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C a `voicecli serve` subprocess; kill it if it has not gone in 10 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def summary(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max / min / n of ``values`` (ms), rounded to 0.1."""
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan"),
                "min": float("nan")}
    arr = np.asarray(values, dtype=float)
    return {"n": len(values), "p50": round(float(np.percentile(arr, 50)), 1),
            "p95": round(float(np.percentile(arr, 95)), 1), "max": round(float(arr.max()), 1),
            "min": round(float(arr.min()), 1)}


def meta(**extra: Any) -> dict[str, Any]:
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), **extra}


def write_result(name: str, data: dict[str, Any], out: str | None = None) -> Path:
    path = Path(out) if out else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_jsonable))
    print(f"written: {path}")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads) from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14, 15 of stat(5)


def descendants(pid: int) -> list[int]:
    """The live child processes of ``pid`` and theirs, whichever of its threads started them
    (``/proc/PID/task/PID/children`` alone lists only the main thread's: the server's
    recognition process is started from a worker thread)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(c) for c in children.read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each of its live descendants, by pid."""
    out: dict[int, float] = {}
    for p in [pid, *descendants(pid)]:
        try:
            out[p] = cpu_seconds(p)
        except OSError:  # gone meanwhile
            pass
    return out


def rss_kb(pid: int | str = "self") -> int:
    """Resident set size from /proc/PID/statm, in KiB."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE // 1024
