"""End-to-end tooling for `voicecli talk`: virtual audio, speak, record, private tmux, a server.

Everything here is real: a PulseAudio daemon with a virtual mic and speaker (scripts/va-up.sh,
../shared/audio-testing.md), `paplay`/`parec` subprocesses, a private tmux server, and
`voicecli serve` as a subprocess. Typical use (see tests/e2e/test_harness.py)::

    def test_talk(virtual_audio, local_server, tmp_path):
        env = {**client_env(tmp_path, virtual_audio), **local_server.env()}
        talk = [sys.executable, "-m", "voicecli", "talk"]
        with SpeakerRecorder(tmp_path / "spk.wav", env) as rec, \\
             TmuxApp(talk, env, workdir=tmp_path) as app:
            app.wait_for("Listening")                 # never speak before the app listens
            said = time.monotonic()
            speak(question_wav, env)                  # returns when it has been played
            app.wait_for(re.compile(r"weather"), timeout=20)
            app.send_keys("C-c")
            status = app.wait_exit()                  # exit code, or -N for signal N
        reply = rec.first_sound_after(said)           # Region(start, end) in the recording
        latency = reply.start - rec.offset_of(said)
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
VA_UP = ROOT / "scripts" / "va-up.sh"
VA_DOWN = ROOT / "scripts" / "va-down.sh"
#: + the test process id: the tests' own daemon, never a developer's /tmp/va nor another run's.
PRIVATE_VA_PREFIX = "/tmp/voicecli-va-"
MIC_RATE = 16000
SPEAKER_RATE = 24000
POLL_S = 0.02


def default_sigint() -> None:
    """preexec_fn: a child of a background job inherits an ignored SIGINT; restore the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# ---- the virtual audio daemon ----------------------------------------------------------------


@dataclass
class VirtualAudio:
    """A running va-up.sh daemon: `env` has its five variables; `started` if we started it."""

    va_dir: Path
    env: dict[str, str]
    started: bool

    def full_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """`base` (default os.environ) plus the audio variables: pass as env= to the app."""
        return {**(os.environ if base is None else base), **self.env}

    def down(self) -> None:
        """Stop the daemon if this object started it (va-down.sh checks pid and cmdline)."""
        if self.started:
            _run_script(VA_DOWN, self.va_dir)
            self.started = False


def va_dir_for_this_process() -> Path:
    """$VOICECLI_TEST_VA_DIR (shared, e.g. brought up by .ci/run), else a private directory per
    test process: two test runs on one machine must not hear each other's audio."""
    shared = os.environ.get("VOICECLI_TEST_VA_DIR")
    return Path(shared) if shared else Path(f"{PRIVATE_VA_PREFIX}{os.getpid()}")


def virtual_audio_up(va_dir: Path | None = None) -> VirtualAudio:
    """Run va-up.sh (idempotent: ~0.1 s if running, ~0.5 s to start) and read its env file."""
    va_dir = va_dir or va_dir_for_this_process()
    _stop_orphans()
    was_running = _daemon_answers(va_dir)
    _run_script(VA_UP, va_dir)
    return VirtualAudio(va_dir, read_env_file(va_dir / "env"), started=not was_running)


def _stop_orphans() -> None:
    """Private daemons left by test processes that were killed before their teardown."""
    for va_dir in Path(PRIVATE_VA_PREFIX).parent.glob(Path(PRIVATE_VA_PREFIX).name + "*"):
        owner = va_dir.name.removeprefix(Path(PRIVATE_VA_PREFIX).name)
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            _run_script(VA_DOWN, va_dir)


def read_env_file(path: Path) -> dict[str, str]:
    """The `export K=V` lines va-up.sh writes."""
    pairs = (line.removeprefix("export ").split("=", 1) for line in path.read_text().splitlines()
             if line.startswith("export "))
    return {k: v for k, v in pairs}


def _daemon_answers(va_dir: Path) -> bool:
    env_file = va_dir / "env"
    if not env_file.exists():
        return False
    env = {**os.environ, **read_env_file(env_file)}
    done = subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=10,
                          check=False)
    return done.returncode == 0


def _run_script(script: Path, va_dir: Path) -> None:
    done = subprocess.run([str(script)], env={**os.environ, "VA_DIR": str(va_dir)},
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} failed ({done.returncode}):\n{done.stderr}")


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[dict[str, str]]:
    """The env (os.environ + PULSE_SERVER, ALSA_CONFIG_PATH, …) every audio subprocess needs.

    Brings the daemon up with scripts/va-up.sh in its own VA_DIR (/tmp/voicecli-va-<pid>, or
    $VOICECLI_TEST_VA_DIR); stops it at the end only if this session started it.
    """
    audio = virtual_audio_up()
    try:
        yield audio.full_env()
    finally:
        audio.down()


# ---- speaking into the mic / playing to the speaker ------------------------------------------


Sound = str | os.PathLike[str] | bytes


class Playback:
    """A running `paplay`; `wait()` returns when the sound has been played."""

    def __init__(self, proc: subprocess.Popen[bytes], temp: Path | None, started_at: float) -> None:
        self.proc = proc
        self.started_at = started_at  # time.monotonic() just before paplay started
        self._temp = temp

    def wait(self, timeout: float = 60.0) -> None:
        try:
            _, err = self.proc.communicate(timeout=timeout)
        finally:
            self._cleanup()
        if self.proc.returncode != 0:
            raise RuntimeError(f"paplay failed ({self.proc.returncode}): {err.decode().strip()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None


def play(sound: Sound, env: Mapping[str, str], sink: str, rate: int = MIC_RATE) -> Playback:
    """Start playing a WAV file (any rate; PulseAudio resamples) or PCM16 mono bytes at `rate`
    into PulseAudio sink `sink`; returns at once."""
    temp = _temp_wav(sound, rate) if isinstance(sound, bytes) else None
    path = temp if temp is not None else Path(os.fspath(sound))  # type: ignore[arg-type]
    started_at = time.monotonic()
    proc = subprocess.Popen(["paplay", "-d", sink, str(path)], env=dict(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Playback(proc, temp, started_at)


def speak_async(sound: Sound, env: Mapping[str, str], rate: int = MIC_RATE) -> Playback:
    """Start saying `sound` into the virtual mic (sink vmic_in → source vmic); returns at once."""
    return play(sound, env, "vmic_in", rate)


def speak(sound: Sound, env: Mapping[str, str], rate: int = MIC_RATE) -> None:
    """Say `sound` into the virtual mic; returns when it has been played (real time)."""
    speak_async(sound, env, rate).wait()


def _temp_wav(pcm16: bytes, rate: int) -> Path:
    fd, name = tempfile.mkstemp(prefix="voicecli-e2e-", suffix=".wav")
    os.close(fd)
    sf.write(name, np.frombuffer(pcm16, dtype=np.int16), rate, subtype="PCM_16")
    return Path(name)


# ---- recording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A stretch of sound in a recording, in seconds from its first sample."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)


def load_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1) and the rate."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)


def window_dbfs(samples: np.ndarray, rate: int, window_ms: float = 10.0) -> np.ndarray:
    """RMS level in dBFS of consecutive `window_ms` windows (digital silence: -120)."""
    n = max(1, round(rate * window_ms / 1000))
    usable = len(samples) // n * n
    frames = samples[:usable].reshape(-1, n).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def sound_regions(samples: np.ndarray, rate: int, threshold_dbfs: float = -45.0,
                  min_gap_ms: float = 200.0, min_sound_ms: float = 30.0) -> list[Region]:
    """Where the 10 ms RMS is above `threshold_dbfs`; gaps under `min_gap_ms` (pauses between
    words) are bridged, regions under `min_sound_ms` (clicks) dropped."""
    loud = window_dbfs(samples, rate) > threshold_dbfs
    regions = _runs(loud, 0.01)
    merged: list[Region] = []
    for region in regions:
        if merged and region.start - merged[-1].end < min_gap_ms / 1000:
            merged[-1] = Region(merged[-1].start, region.end)
        else:
            merged.append(region)
    return [r for r in merged if r.duration >= min_sound_ms / 1000]


def _runs(mask: np.ndarray, step_s: float) -> list[Region]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [Region(round(float(a) * step_s, 3), round(float(b) * step_s, 3))
            for a, b in zip(edges[::2], edges[1::2], strict=True)]


class Recorder:
    """Records a PulseAudio source to a mono PCM16 WAV with `parec` (a subprocess).

    `start()` returns once audio is arriving and sets `t0`, the `time.monotonic()` of the first
    recorded sample (±10 ms), so `offset_of(t)` maps a moment to a position in the recording.
    `stop()` sends SIGINT so parec finalises the WAV header (SIGTERM / a pipe would lose the tail).
    """

    HEADER_BYTES = 44  # what parec (libsndfile) writes before the PCM16 mono data

    def __init__(self, wav_path: str | os.PathLike[str], env: Mapping[str, str], source: str,
                 rate: int) -> None:
        self.path = Path(wav_path)
        self.env = dict(env)
        self.source = source
        self.rate = rate
        self.t0: float | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.path.with_name(self.path.name + ".parec.log")

    def start(self, timeout: float = 5.0) -> Self:
        self.path.unlink(missing_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                ["parec", "-d", self.source, "--file-format=wav", "--format=s16le",
                 f"--rate={self.rate}", "--channels=1", "--latency-msec=10", str(self.path)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=default_sigint,
            )
        self.t0 = self._first_sample_time(timeout)
        return self

    def _first_sample_time(self, timeout: float) -> float:
        """The earliest moment consistent with every size observation over the first 100 ms."""
        deadline = time.monotonic() + timeout
        bounds: list[float] = []
        while time.monotonic() < deadline and (len(bounds) < 10):
            self._raise_if_exited()
            now, recorded = time.monotonic(), self._recorded_s()
            if recorded > 0:
                bounds.append(now - recorded)
            time.sleep(0.01)
        if not bounds:
            self.stop()
            raise RuntimeError(f"parec -d {self.source}: no audio after {timeout} s")
        return min(bounds)

    def _recorded_s(self) -> float:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0.0
        return max(0, size - self.HEADER_BYTES) / 2 / self.rate

    def _raise_if_exited(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            err = self.log_path.read_text(errors="replace").strip()
            raise RuntimeError(f"parec -d {self.source} exited {self.proc.returncode}: {err}")

    def stop(self, settle: float = 0.2) -> Path:
        """Let the last fragment land, then SIGINT; returns the WAV path."""
        if self.proc is None or self.proc.poll() is not None:
            return self.path
        time.sleep(settle)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        return self.path

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- reading the result (after stop) --

    def samples(self) -> np.ndarray:
        """The recording as mono float32 in [-1, 1) at `self.rate`."""
        samples, rate = load_wav(self.path)
        assert rate == self.rate, (rate, self.rate)
        return samples

    def regions(self, threshold_dbfs: float = -45.0, min_gap_ms: float = 200.0,
                min_sound_ms: float = 30.0) -> list[Region]:
        """Sound regions, in seconds from the first recorded sample (see `sound_regions`)."""
        return sound_regions(self.samples(), self.rate, threshold_dbfs, min_gap_ms, min_sound_ms)

    def offset_of(self, moment: float) -> float:
        """Where a `time.monotonic()` moment falls in the recording, in seconds."""
        assert self.t0 is not None, "start() first"
        return moment - self.t0

    def first_sound_after(self, moment: float, **kwargs: float) -> Region | None:
        """The first region that ends after `moment` (a time.monotonic()), or None."""
        offset = self.offset_of(moment)
        return next((r for r in self.regions(**kwargs) if r.end > offset), None)


class SpeakerRecorder(Recorder):
    """What the app played: the virtual speaker's monitor, 24 kHz."""

    def __init__(self, wav_path: str | os.PathLike[str], env: Mapping[str, str],
                 source: str = "vspeaker.monitor", rate: int = SPEAKER_RATE) -> None:
        super().__init__(wav_path, env, source, rate)


class MicRecorder(Recorder):
    """What the app's microphone hears: the virtual mic source, 16 kHz."""

    def __init__(self, wav_path: str | os.PathLike[str], env: Mapping[str, str],
                 source: str = "vmic", rate: int = MIC_RATE) -> None:
        super().__init__(wav_path, env, source, rate)


# ---- a terminal app in a private tmux server -------------------------------------------------


class TmuxApp:
    """Runs `command` in a private tmux server (`-L <unique>`, no user config) in a fixed-size pane.

    The app's stderr goes to `stderr_path` (default: a scratch directory; it would corrupt the
    screen); its TMPDIR and tmux's socket are in the scratch directory too. The pane stays after
    the app exits (remain-on-exit) so the last screen and the exit status can be read. `close()`
    kills only this private server and removes the scratch directory (`stderr()` still answers
    afterwards).
    """

    def __init__(self, command: str | Sequence[str], env: Mapping[str, str] | None = None, *,
                 workdir: str | os.PathLike[str] | None = None, width: int = 120,
                 height: int = 40, stderr_path: str | os.PathLike[str] | None = None) -> None:
        self.argv = None if isinstance(command, str) else list(command)
        self.command = command if isinstance(command, str) else shlex.join(command)
        self.env = {"LANG": "C.UTF-8", **(os.environ if env is None else env)}
        self.env.pop("TMUX", None)
        self.workdir = Path(workdir) if workdir else Path.cwd()
        self.size = (width, height)
        self.socket = f"voicecli-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{self.socket}-"))
        # tmux's socket (kill-server leaves it behind) and the app's temporary files (talk's
        # held-back stderr log) go in the scratch directory, removed by close()
        self.env["TMUX_TMPDIR"] = self.env["TMPDIR"] = str(self.scratch)
        self.stderr_path = Path(stderr_path) if stderr_path else self.scratch / "stderr.txt"
        self.status_path = self.scratch / "status"
        self.started = False
        self._final_stderr: str | None = None

    def tmux(self, *args: str, check: bool = True) -> str:
        """Run a tmux command against this app's private server; its stdout."""
        done = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                              env=self.env, capture_output=True, text=True, timeout=10,
                              check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> Self:
        shell_cmd = self._wrapped_command()
        env_args = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        width, height = self.size
        self.tmux("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
                  "new-session", "-d", "-s", "app", "-x", str(width), "-y", str(height),
                  "-c", str(self.workdir), *env_args, shell_cmd)
        self.started = True
        return self

    def _wrapped_command(self) -> str:
        """The pane runs a small Python runner that runs the app and writes its exit status.

        `#{pane_dead_status}` is not reliable with tmux 3.3a: the pane is marked dead when the pty
        closes, before the status is read, and in ~1 run of 3 here the app then stayed an unreaped
        zombie, so the status never came. A `sh -c 'trap : INT; app; echo $?'` wrapper reported
        0 for a Ctrl-C'd app once in ~6 runs. The runner catches SIGINT (a handler, which exec
        resets: the app still gets Ctrl-C) and records Popen's returncode.
        """
        argv = self.argv if self.argv is not None else ["/bin/sh", "-c", self.command]
        return "exec " + shlex.join([sys.executable, "-c", _RUNNER, str(self.status_path),
                                     str(self.stderr_path), *argv])

    def screen(self, escapes: bool = False, history: bool = True) -> str:
        """The pane as text (with the scroll-back unless history=False; SGR codes if escapes)."""
        args = ["capture-pane", "-p", "-t", "app"]
        if history:
            args += ["-S", "-"]
        if escapes:
            args.append("-e")
        return self.tmux(*args)

    def wait_for(self, what: str | re.Pattern[str], timeout: float = 5.0) -> str:
        """Poll the screen every 20 ms until it contains `what` (text, or a compiled regex);
        returns the matching screen. TimeoutError shows the screen and the app's stderr."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if _found(what, text):
                return text
            if time.monotonic() >= deadline:
                headline = f"{_describe(what)} not on screen after {timeout} s"
                raise TimeoutError(self._report(headline, text))
            time.sleep(POLL_S)

    def send_keys(self, *keys: str) -> None:
        """tmux key names: "Enter", "Tab", "C-c", "C-d", "Escape", "Up", "Space", "q"…"""
        self.tmux("send-keys", "-t", "app", *keys)

    def send_literal(self, text: str) -> None:
        """Type `text` as it is (no key-name lookup)."""
        self.tmux("send-keys", "-t", "app", "-l", text)

    def exit_status(self) -> int | None:
        """None while running; else the exit code, or -N when killed by signal N (like Popen)."""
        try:
            written = self.status_path.read_text().strip()
        except FileNotFoundError:
            return None
        return int(written) if written else None

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Wait for the app to end; its exit status (see `exit_status`)."""
        deadline = time.monotonic() + timeout
        while (status := self.exit_status()) is None:
            if time.monotonic() >= deadline:
                raise TimeoutError(self._report(f"still running after {timeout} s", self.screen()))
            time.sleep(POLL_S)
        return status

    def stderr(self) -> str:
        if self._final_stderr is not None:
            return self._final_stderr
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Kill this app's private tmux server (and with it the app, SIGHUP)."""
        if self.started:
            self.tmux("kill-server", check=False)
            self.started = False
        if self.scratch.exists():
            self._final_stderr = self.stderr()
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _report(self, headline: str, screen: str) -> str:
        return f"{headline}\n--- screen ---\n{screen.rstrip()}\n--- stderr ---\n{self.stderr()}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


_RUNNER = """
import os, signal, subprocess, sys
signal.signal(signal.SIGINT, lambda *_: None)
status, err, *argv = sys.argv[1:]
with open(err, "wb") as stderr:
    try:
        code = subprocess.Popen(argv, stderr=stderr).wait()
    except OSError as exc:
        stderr.write(f"cannot run {argv[0]}: {exc}\\n".encode())
        code = 127
with open(status + ".tmp", "w") as out:
    out.write(str(code))
os.replace(status + ".tmp", status)
"""


def _found(what: str | re.Pattern[str], text: str) -> bool:
    return bool(what.search(text)) if isinstance(what, re.Pattern) else what in text


def _describe(what: str | re.Pattern[str]) -> str:
    return f"/{what.pattern}/" if isinstance(what, re.Pattern) else repr(what)


# ---- the local Live server -------------------------------------------------------------------


def client_env(tmp_path: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) without the user's voicecli/Gemini settings and config."""
    private = ("VOICECLI_", "GEMINI", "GOOGLE")
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith(private) or k == "VOICECLI_BRAIN_PROBE"}  # tests/conftest.py
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env["PYTHONUNBUFFERED"] = "1"
    return env



@dataclass
class LocalServer:
    """`voicecli serve` in a subprocess. `url` is its ws:// URL (also a valid --base-url)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def env(self) -> dict[str, str]:
        """What a client process needs to use this server instead of Gemini."""
        return {"VOICECLI_BASE_URL": self.url}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def local_server_process(env: Mapping[str, str], log_path: Path, pace: float = 1.0,
                         extra_args: Sequence[str] = (), timeout: float = 30.0,
                         ) -> Iterator[LocalServer]:
    """Start `voicecli serve --port 0 --pace <pace>` and yield it once it listens; SIGINT after."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicecli", "serve", "--port", "0", "--pace", str(pace),
             *extra_args],
            env=dict(env), stdout=subprocess.DEVNULL, stderr=log, preexec_fn=default_sigint,
        )
    try:
        yield LocalServer(_wait_listening(proc, log_path, timeout), proc, log_path)
    finally:
        _stop(proc)


def _wait_listening(proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"listening on (ws://\S+)", log_path.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(POLL_S)
    _stop(proc)
    raise RuntimeError(f"voicecli serve did not start:\n{log_path.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
