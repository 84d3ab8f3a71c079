"""The e2e harness itself, exercised for real: PulseAudio virtual devices, paplay/parec, tmux."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.harness import (
    LocalServer,
    MicRecorder,
    Region,
    SpeakerRecorder,
    TmuxApp,
    client_env,
    load_wav,
    play,
    sound_regions,
    speak,
    speak_async,
)
from tests.speechgen import silence, speech_pcm16, tone, write_wav
from voicecli.speech.tts import RATE as TTS_RATE

PHRASE = "what is the weather like in london today"


def _correlation(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of `b` inside `a`, and its lag in samples."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    n = len(a64) + len(b64)
    spectrum = np.fft.rfft(a64, n) * np.conj(np.fft.rfft(b64, n))
    corr = np.fft.irfft(spectrum, n)[: len(a64) - len(b64) + 1]
    lag = int(np.argmax(corr))
    window = a64[lag : lag + len(b64)]
    return float(corr[lag] / (np.linalg.norm(window) * np.linalg.norm(b64) + 1e-12)), lag


def _pcm_float(pcm16: bytes) -> np.ndarray:
    return np.frombuffer(pcm16, dtype=np.int16).astype(np.float32) / 32768


# ---- regions (pure) ---------------------------------------------------------------------------


def test_sound_regions_bridge_short_gaps_and_drop_clicks() -> None:
    rate = 16000
    pcm = (silence(500) + tone(440, 300) + silence(100) + tone(440, 200) + silence(600)
           + tone(880, 20) + silence(400) + tone(660, 250) + silence(300))
    regions = sound_regions(_pcm_float(pcm), rate)
    assert regions == [Region(0.5, 1.1), Region(2.12, 2.37)]  # 20 ms click dropped
    split = sound_regions(_pcm_float(pcm), rate, min_gap_ms=50)
    assert [r.start for r in split] == [0.5, 0.9, 2.12]
    quiet = sound_regions(_pcm_float(tone(440, 300, dbfs=-60)), rate)
    assert quiet == []  # below the -45 dBFS default threshold


# ---- the virtual mic ------------------------------------------------------------------------


def test_speak_wav_reaches_the_virtual_mic(virtual_audio: dict[str, str], tmp_path: Path) -> None:
    speech = speech_pcm16(PHRASE, TTS_RATE)  # espeak-ng at its own rate: PulseAudio resamples
    wav = tmp_path / "question.wav"
    write_wav(wav, speech, TTS_RATE)
    spoken_s = len(speech) / 2 / TTS_RATE
    with MicRecorder(tmp_path / "mic.wav", virtual_audio) as mic:
        before = time.monotonic()
        speak(wav, virtual_audio)
        took = time.monotonic() - before
    assert spoken_s - 0.05 < took < spoken_s + 1.0  # real-time paced, returns when played
    regions = mic.regions()
    assert len(regions) == 1, regions
    heard = regions[0]
    assert abs(heard.duration - spoken_s) < 0.1, (heard, spoken_s)
    assert -0.03 <= heard.start - mic.offset_of(before) < 0.4, (heard, mic.offset_of(before))
    corr, _ = _correlation(mic.samples(), _pcm_float(speech_pcm16(PHRASE, 16000)))
    assert corr > 0.95, corr


def test_speak_pcm_bytes_is_bit_exact_and_async(virtual_audio: dict[str, str],
                                               tmp_path: Path) -> None:
    speech = speech_pcm16(PHRASE, 16000)
    with MicRecorder(tmp_path / "mic.wav", virtual_audio) as mic:
        t0 = time.monotonic()
        playing = speak_async(speech, virtual_audio)
        returned_after = time.monotonic() - t0
        assert playing.proc.poll() is None  # still playing
        playing.wait()
    assert returned_after < 0.2
    recorded = np.rint(mic.samples() * 32768).astype(np.int16)
    expected = np.frombuffer(speech, dtype=np.int16)
    corr, lag = _correlation(recorded.astype(np.float32), expected.astype(np.float32))
    assert corr > 0.999, corr
    assert np.array_equal(recorded[lag : lag + len(expected)], expected)  # same rate: bit-exact


# ---- the virtual speaker --------------------------------------------------------------------


def test_speaker_recorder_hears_playback_with_correct_timing(virtual_audio: dict[str, str],
                                                             tmp_path: Path) -> None:
    beep = tone(1000, 300, rate=24000)
    with SpeakerRecorder(tmp_path / "spk.wav", virtual_audio) as rec:
        first = play(beep, virtual_audio, "vspeaker", rate=24000)
        first.wait()
        time.sleep(0.6)
        second = play(beep, virtual_audio, "vspeaker", rate=24000)
        second.wait()
    regions = rec.regions()
    assert len(regions) == 2, regions
    for region, playback in zip(regions, (first, second), strict=True):
        assert abs(region.duration - 0.3) < 0.03, region
        delay = region.start - rec.offset_of(playback.started_at)
        assert -0.03 <= delay < 0.15, (region, delay)  # measured -5…+20 ms
    spacing = regions[1].start - regions[0].start
    wall = second.started_at - first.started_at
    assert abs(spacing - wall) < 0.08, (spacing, wall)
    assert rec.first_sound_after(second.started_at) == regions[1]
    samples, rate = load_wav(rec.path)
    assert rate == 24000 and len(samples) / rate > 1.2


def test_speaker_recorder_records_silence_when_nothing_plays(virtual_audio: dict[str, str],
                                                             tmp_path: Path) -> None:
    with SpeakerRecorder(tmp_path / "quiet.wav", virtual_audio) as rec:
        time.sleep(0.5)
    samples = rec.samples()
    assert len(samples) / rec.rate > 0.6  # clocked: ~0.5 s + settle
    assert rec.regions() == []


# ---- tmux -----------------------------------------------------------------------------------

RICH_APP = r'''
import os, sys, termios, tty
from rich.console import Console
from rich.live import Live
from rich.panel import Panel

console = Console()
state = {"status": "IDLE", "typed": "", "lines": []}

def view():
    w, h = console.size
    body = "\n".join([f"Status: {state['status']}", f"size {w}x{h} mark={os.environ['E2E_MARK']}",
                      *state["lines"], "> " + state["typed"]])
    return Panel(body, title="demo")

old = termios.tcgetattr(0)
tty.setcbreak(0)
code = 0
try:
    with Live(view(), console=console, auto_refresh=False) as live:
        live.refresh()
        while True:
            ch = os.read(0, 1).decode()
            if ch == "q":
                code = 3
                break
            if ch == "\t":
                state["status"] = "LISTENING" if state["status"] == "IDLE" else "IDLE"
            elif ch in "\r\n":
                state["lines"].append("You: " + state["typed"])
                state["typed"] = ""
            else:
                state["typed"] += ch
            live.update(view(), refresh=True)
except KeyboardInterrupt:
    code = 130
finally:
    termios.tcsetattr(0, termios.TCSADRAIN, old)
print("stderr line from the app", file=sys.stderr)
sys.exit(code)
'''


@pytest.fixture
def rich_app(tmp_path: Path) -> Path:
    script = tmp_path / "rich_app.py"
    script.write_text(RICH_APP)
    return script


def test_tmux_app_screen_keys_and_exit_status(rich_app: Path, tmp_path: Path) -> None:
    env = {**client_env(tmp_path), "E2E_MARK": "m-42"}
    with TmuxApp([sys.executable, str(rich_app)], env, workdir=tmp_path) as app:
        app.wait_for("Status: IDLE")
        assert "size 120x40 mark=m-42" in app.screen()  # pane size and env reach the app
        app.send_literal("hello tmux")
        app.send_keys("Enter")
        app.wait_for(re.compile(r"You: hello tmux\s"))
        app.send_keys("Tab")
        app.wait_for("Status: LISTENING")
        assert app.exit_status() is None
        app.send_keys("q")
        assert app.wait_exit(timeout=5) == 3
        assert "You: hello tmux" in app.screen()  # the last screen stays readable
        assert "stderr line from the app" in app.stderr()
        assert "stderr line from the app" not in app.screen()
    assert _tmux_server_gone(app.socket)
    assert not app.scratch.exists() and "stderr line from the app" in app.stderr()


def test_tmux_app_ctrl_c_and_timeout_report(rich_app: Path, tmp_path: Path) -> None:
    env = {**client_env(tmp_path), "E2E_MARK": "x"}
    with TmuxApp([sys.executable, str(rich_app)], env, workdir=tmp_path) as app:
        app.wait_for("Status: IDLE")
        with pytest.raises(TimeoutError) as caught:
            app.wait_for(re.compile("never shown"), timeout=0.2)
        assert "Status: IDLE" in str(caught.value)  # the screen is in the report
        app.send_keys("C-c")
        assert app.wait_exit(timeout=5) == 130


def test_tmux_app_reports_death_by_signal(tmp_path: Path) -> None:
    suicide = "import os, signal; print('going'); os.kill(os.getpid(), signal.SIGKILL)"
    with TmuxApp([sys.executable, "-c", suicide], client_env(tmp_path), workdir=tmp_path) as app:
        assert app.wait_exit(timeout=10) == -9
        assert "going" in app.screen()


def test_tmux_app_close_kills_a_running_app(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    app = TmuxApp(f"sleep 30; touch {marker}", client_env(tmp_path), workdir=tmp_path).start()
    try:
        assert app.exit_status() is None
    finally:
        app.close()
    assert _tmux_server_gone(app.socket)
    assert subprocess.run(["pgrep", "-f", f"touch {marker}"], capture_output=True).returncode == 1


def _tmux_server_gone(socket: str) -> bool:
    done = subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", "has-session"],
                          capture_output=True, check=False)
    return done.returncode != 0


# ---- the local server -----------------------------------------------------------------------


def test_local_server_fixture_serves_the_cli(local_server: LocalServer, tmp_path: Path) -> None:
    assert re.fullmatch(r"ws://127\.0\.0\.1:\d+", local_server.url), local_server.url
    env = {**client_env(tmp_path), **local_server.env()}
    done = subprocess.run([sys.executable, "-m", "voicecli", "ask", "hello there"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "hello there" in done.stdout.lower()
    assert local_server.process.poll() is None
    assert "listening on" in local_server.log()
