"""The virtual PulseAudio devices (scripts/va-up.sh, docs: ../shared/audio-testing.md) for tests
and benchmarks: environment, a timestamped recorder of the speaker monitor, feeding the mic.

PortAudio fixes its device list when sounddevice is imported (pitfall 5), so code that opens the
virtual devices runs in a subprocess started with :func:`va_env` (see :func:`run_python`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDER = Path(__file__).with_name("monitor_recorder.py")


def va_dir() -> Path:
    return Path(os.environ.get("VA_DIR", "/tmp/va"))


def _daemon_answers(env: dict[str, str]) -> bool:
    if shutil.which("pactl") is None:
        return False
    done = subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=10)
    return done.returncode == 0


def read_env(base: dict[str, str] | None = None, directory: Path | None = None,
             ) -> dict[str, str]:
    """``base`` (default os.environ) plus the exports of $VA_DIR/env, and PYTHONPATH=repo."""
    env = dict(os.environ if base is None else base)
    for line in ((directory or va_dir()) / "env").read_text().splitlines():
        key, value = line.removeprefix("export ").split("=", 1)
        env[key] = value
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def ensure_virtual_audio() -> dict[str, str] | None:
    """Start the daemon with scripts/va-up.sh if needed; None when PulseAudio cannot run here."""
    if (va_dir() / "env").is_file() and _daemon_answers(read_env()):
        return read_env()
    if not sys.platform.startswith("linux"):
        return None
    done = subprocess.run([str(ROOT / "scripts" / "va-up.sh")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "VA_DIR": str(va_dir())})
    if done.returncode != 0:
        if shutil.which("pulseaudio") is None:
            return None  # not installed and not installable here (no root / no apt)
        raise RuntimeError(f"scripts/va-up.sh failed:\n{done.stderr}")
    return read_env()


@pytest.fixture(scope="session")
def va_env(virtual_audio: dict[str, str]) -> dict[str, str]:
    """The environment for a process that uses the virtual devices: the test run's own daemon
    (tests/e2e/harness.py `virtual_audio`, a private VA_DIR, so parallel runs never cross-talk)."""
    env = dict(virtual_audio)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_python(code: str, env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter with ``env``; returns its stdout, raises on failure."""
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise AssertionError(f"subprocess failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


class MonitorRecorder:
    """Records the virtual speaker (``vspeaker_monitor``) in a subprocess, with a wall-clock
    stamp per block, so a sample index can be turned into time.monotonic()."""

    def __init__(self, env: dict[str, str], device: str = "vspeaker_monitor",
                 rate: int = 24000) -> None:
        self.rate = rate
        self._dir = tempfile.TemporaryDirectory(prefix="va-rec-")
        self._out = Path(self._dir.name, "rec.npz")
        self._proc = subprocess.Popen(
            [sys.executable, str(RECORDER), str(self._out), "--device", device, "--rate",
             str(rate)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line.strip() != "READY":
            self._proc.kill()
            raise RuntimeError(f"monitor recorder did not start: {line!r}")

    def stop(self) -> Recording:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)
        with np.load(self._out) as data:
            rec = Recording(data["samples"], data["ends"], data["times"], self.rate)
        self._dir.cleanup()
        return rec


class Recording:
    """Samples plus the (sample index → monotonic time) mapping from the recorder's blocks."""

    def __init__(self, samples: np.ndarray, ends: np.ndarray, times: np.ndarray,
                 rate: int) -> None:
        self.samples, self.ends, self.times, self.rate = samples, ends, times, rate

    def time_of(self, index: int, window_s: float = 1.0) -> float:
        """When sample ``index`` reached the monitor. Blocks arrive late by a varying delay,
        never early, so the least-delayed block near ``index`` gives the tightest estimate."""
        near = np.abs(self.ends - index) <= window_s * self.rate
        offsets = self.times[near] - self.ends[near] / self.rate
        return index / self.rate + float(offsets.min())

    def index_at(self, t: float, window_s: float = 1.0) -> int:
        guess = int(np.searchsorted(self.times, t))
        guess = self.ends[min(guess, len(self.ends) - 1)]
        return guess - round((self.time_of(int(guess), window_s) - t) * self.rate)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency of ``samples`` (Hann window, zero-padded FFT)."""
    x = np.asarray(samples, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    return float(np.argmax(spectrum) * rate / (8 * len(x)))


def last_loud_index(samples: np.ndarray, start: int, stop: int, threshold: float = 1e-3) -> int:
    """Index after the last sample in [start, stop) with |x| > threshold (-60 dBFS)."""
    loud = np.flatnonzero(np.abs(samples[start:stop]) > threshold)
    return start + int(loud[-1]) + 1 if loud.size else start


def first_loud_index(samples: np.ndarray, start: int = 0, threshold: float = 1e-3) -> int | None:
    loud = np.flatnonzero(np.abs(samples[start:]) > threshold)
    return start + int(loud[0]) if loud.size else None


def feed_mic(pcm16: bytes, env: dict[str, str], rate: int = 16000,
             latency_ms: int = 20) -> subprocess.Popen[bytes]:
    """Start playing PCM16 mono into the virtual mic (sink vmic_in) with pacat, paced in real
    time by PulseAudio; returns the process (wait() returns when it has been played). pacat's
    buffer is ``latency_ms``: a test of what the mic captured, not of when, gives it more, since a
    pacat starved of CPU for longer than its buffer leaves a gap in what the mic hears."""
    with tempfile.NamedTemporaryFile(prefix="va-feed-", suffix=".raw", delete=False) as f:
        f.write(pcm16)
    return subprocess.Popen(["sh", "-c", 'pacat -p -d vmic_in --format=s16le --rate="$1" '
                             '--channels=1 --latency-msec="$3" "$2"; rc=$?; rm -f "$2"; exit $rc',
                             "feed", str(rate), f.name, str(latency_ms)], env=env)



@contextlib.contextmanager
def private_daemon() -> Iterator[dict[str, str]]:
    """A second, throw-away daemon (own VA_DIR) for tests that kill the sound server."""
    path = tempfile.mkdtemp(prefix="va-private-")
    env = {**os.environ, "VA_DIR": path}
    scripts = ROOT / "scripts"
    subprocess.run([str(scripts / "va-up.sh")], env=env, check=True, capture_output=True,
                   timeout=120)
    try:
        yield read_env(env, Path(path))
    finally:
        subprocess.run([str(scripts / "va-down.sh")], env=env, capture_output=True, timeout=30)


def stop_daemon(env: dict[str, str]) -> None:
    subprocess.run([str(ROOT / "scripts" / "va-down.sh")], env=env, capture_output=True,
                   timeout=30)
