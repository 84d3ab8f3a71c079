"""`voicecli talk` on "laptop speakers": the virtual speaker is routed back into the virtual
microphone (a PulseAudio loopback with a delay and an attenuation), so the reply is heard by the
mic as a laptop's built-in microphone hears its speakers. The local server's voice detection takes
that echo for the user unless talk removes it (issue: talk on laptop speakers).

Each test reads the screen and the NDJSON events of `--record`, and records the speaker.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.harness import SpeakerRecorder, TmuxApp, speak, speak_async
from tests.e2e.test_talk import TALK, events, talk_env
from tests.speechgen import speech_pcm16

ECHO_DELAY_MS = 120  # speaker → mic, on top of the devices' own latency
ECHO_GAIN = 0.32  # -10 dB: a laptop's speakers heard by its own microphone
LOOPBACK_SETTLE_S = 2.0  # a new PulseAudio loopback first drifts towards its latency
QUESTION = ("please tell me about the weather in london and paris and berlin and rome and "
            "madrid today")


@contextlib.contextmanager
def echo_loopback(env: dict[str, str], latency_ms: int = ECHO_DELAY_MS,
                  gain: float = ECHO_GAIN) -> Iterator[int]:
    """A loopback vspeaker.monitor → vmic_in while in the block; yields its module index."""
    module = _pactl(env, "load-module", "module-loopback", "source=vspeaker.monitor",
                    "sink=vmic_in", f"latency_msec={latency_ms}", "source_dont_move=1",
                    "sink_dont_move=1").strip()
    try:
        inputs = json.loads(_pactl(env, "-f", "json", "list", "sink-inputs"))
        ours = next(i["index"] for i in inputs if str(i.get("owner_module")) == module)
        _pactl(env, "set-sink-input-volume", str(ours), str(gain))
        time.sleep(LOOPBACK_SETTLE_S)
        yield int(module)
    finally:
        _pactl(env, "unload-module", module)


@pytest.fixture
def acoustic_echo(virtual_audio: dict[str, str]) -> Iterator[int]:
    with echo_loopback(virtual_audio) as module:
        yield module


def _pactl(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, check=True,
                          timeout=10).stdout


def _ask_and_hear_reply(app: TmuxApp, env: dict[str, str]) -> None:
    app.wait_for("● listening", timeout=20)
    speak(speech_pcm16(QUESTION), env)
    app.wait_for("● speaking", timeout=30)


@contextlib.contextmanager
def _talk_over_echo(mode: str, tmp_path: Path, virtual_audio: dict[str, str], server: Any,
                    ) -> Iterator[tuple[TmuxApp, SpeakerRecorder, dict[str, str]]]:
    """`talk --echo MODE --record tmp_path/rec` in tmux, the speaker recorded, the question
    asked; yields once the reply is playing."""
    env = talk_env(tmp_path, virtual_audio, server)
    with SpeakerRecorder(tmp_path / "speaker.wav", env) as speaker, \
            TmuxApp([*TALK, "--echo", mode, "--record", str(tmp_path / "rec")], env,
                    workdir=tmp_path) as app:
        _ask_and_hear_reply(app, env)
        yield app, speaker, env


def _reply_events(rec_dir: Path) -> list[dict[str, Any]]:
    return events(rec_dir / "events.jsonl")


@pytest.mark.parametrize("mode", ["aec", "gate"])
def test_a_long_reply_plays_to_the_end_through_its_own_echo(
        mode: str, virtual_audio, local_server, acoustic_echo, tmp_path) -> None:
    rec_dir = tmp_path / "rec"
    with _talk_over_echo(mode, tmp_path, virtual_audio, local_server) as (app, speaker, env):
        assert f"echo {mode}" in app.screen()
        app.wait_for(re.compile(r"Gemini: You said: .*\[\d+ ms\]", re.S), timeout=30)
        _wait_turn_done(rec_dir, timeout=30)
        app.send_keys("q")
        assert app.wait_exit(timeout=15) == 0
    log = _reply_events(rec_dir)
    assert {"type": "echo", "mode": mode} in [{k: e.get(k) for k in ("type", "mode")}
                                              for e in log if e["type"] == "echo"]
    assert not [e for e in log if e["type"] == "interrupted"], "the reply cut itself off"
    turns = [e for e in log if e["type"] == "turn" and e["model"]]
    assert len(turns) == 1, f"the echo was taken for a new question: {turns}"
    assert not turns[0]["interrupted"] and turns[0]["model"].startswith("You said:")
    regions = speaker.regions(min_gap_ms=400)
    heard = regions[-1].end - regions[0].start if regions else 0.0  # Piper pauses at commas
    # the whole reply's audio, from the server's usage (32 audio tokens a second)
    reply_s = turns[0]["usage"]["response_by_modality"]["audio"] / 32
    assert reply_s > 4.0 and heard > 0.9 * reply_s, \
        f"the reply should play to its end: heard {heard:.1f} s of {reply_s:.1f} s"


def test_without_echo_handling_the_reply_interrupts_itself(
        virtual_audio, local_server, acoustic_echo, tmp_path) -> None:
    """The baseline the test above is measured against: the failure users report (peers.md §3)."""
    env = talk_env(tmp_path, virtual_audio, local_server)
    rec_dir = tmp_path / "rec"
    with TmuxApp([*TALK, "--echo", "off", "--record", str(rec_dir)], env,
                 workdir=tmp_path) as app:
        _ask_and_hear_reply(app, env)
        app.wait_for("⟂ interrupted", timeout=20)
        app.send_keys("q")
        assert app.wait_exit(timeout=15) == 0


@pytest.mark.parametrize("mode", ["aec", "gate"])
def test_the_user_still_barges_in_over_the_echo(
        mode: str, virtual_audio, local_server, acoustic_echo, tmp_path) -> None:
    rec_dir = tmp_path / "rec"
    with _talk_over_echo(mode, tmp_path, virtual_audio, local_server) as (app, speaker, env):
        time.sleep(2.5)  # the canceller has heard a good stretch of the reply
        barge = speak_async(speech_pcm16("stop stop"), env)
        app.wait_for("⟂ interrupted", timeout=15)
        barge.wait()
        app.send_keys("q")
        assert app.wait_exit(timeout=15) == 0
    log = _reply_events(rec_dir)
    origin = log[0]["monotonic"]
    cut = origin + next(e["t"] for e in log if e["type"] == "interrupted")
    cut_at = speaker.offset_of(cut)
    assert barge.started_at < cut < barge.started_at + 3.0, "interrupted by the user's words"
    before_cut = [r for r in speaker.regions() if r.start <= cut_at + 0.02]
    assert before_cut, "the reply was heard before the cut"
    stopped_after_ms = (max(r.end for r in before_cut) - cut_at) * 1000
    assert stopped_after_ms < 150, f"speaker still sounding {stopped_after_ms:.0f} ms after the cut"


def _wait_turn_done(rec_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["type"] == "turn" and e["model"] for e in _reply_events(rec_dir)):
            return
        time.sleep(0.2)
    raise AssertionError("the reply's turn never completed")


DOCTOR = [*TALK[:-1], "doctor", "--json"]


def _doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DOCTOR, *args], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_doctor_measures_the_echo_path(virtual_audio, tmp_path) -> None:
    """The probe finds the loopback's attenuation and its delay: 120 ms measured as ~110 at any mic
    block size (the mic's timestamps do not count its block twice), a 100 ms longer path as 100 ms
    later."""
    with echo_loopback(virtual_audio, ECHO_DELAY_MS):
        done = _doctor(virtual_audio)
    with echo_loopback(virtual_audio, ECHO_DELAY_MS + 100, gain=0.1):
        longer = json.loads(_doctor(virtual_audio).stdout)["echo"]
    assert done.returncode == 0, done.stderr
    echo = json.loads(done.stdout)["echo"]
    assert echo["echo_heard"]
    assert abs(echo["delay_ms"] - ECHO_DELAY_MS) <= 30, echo
    assert abs(longer["delay_ms"] - echo["delay_ms"] - 100) <= 20, (echo, longer)
    assert abs(echo["echo_db"] - 20 * np.log10(ECHO_GAIN)) <= 3, echo  # its attenuation
    assert abs(longer["echo_db"] - 20 * np.log10(0.1)) <= 3, longer
    assert echo["erle_db"]["gate"] >= 30, echo
    # aec converges within the first second; a fresh PulseAudio loopback may then drift by tens of
    # ms during the probe, which costs AEC3 some of it later (measured 4-28 dB over the whole probe)
    assert echo["erle_first_s_db"]["aec"] >= 15, echo
    assert "--echo aec" in echo["advice"]


def room_noise(seconds: float, dbfs: float, rate: int = 16000) -> bytes:
    """White noise at `dbfs` RMS, PCM16: what a headset's mic hears of a quiet room."""
    noise = np.random.default_rng(3).standard_normal(int(seconds * rate))
    return np.rint(noise * 32768 * 10 ** (dbfs / 20)).astype(np.int16).tobytes()


def test_doctor_hears_no_echo_on_a_headset(virtual_audio, tmp_path) -> None:
    # the mic hears its own room (-55 dBFS noise, louder than NO_ECHO_DB below the probe), never
    # the speaker: no echo, however loud the noise
    room = speak_async(room_noise(12.0, -55.0), virtual_audio)
    try:
        done = _doctor(virtual_audio)
    finally:
        room.stop()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [c["ok"] for c in report["checks"]] == [True, True, True]
    assert -60 < report["echo"]["noise_dbfs"] < -50, report["echo"]
    assert not report["echo"]["echo_heard"] and "--echo off" in report["echo"]["advice"]


def test_doctor_flags_a_digitally_silent_mic(virtual_audio, tmp_path) -> None:
    # nothing plays into the virtual mic: zeros, as from a muted mic or one without permission
    for args in ((), ("--no-probe",)):
        done = _doctor(virtual_audio, *args)
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        mic, speaker, _ = report["checks"]
        assert mic["name"] == "microphone" and mic["ok"] is False and speaker["ok"] is True
        assert "only digital silence" in mic["detail"] and "muted" in mic["detail"], mic
        assert "echo" not in report  # nothing measured, so no advice about --echo
    shown = subprocess.run([*DOCTOR[:-1], "--no-probe"], env=virtual_audio, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert shown.returncode == 1
    assert re.search(r"^✗ microphone: .* only digital silence", shown.stdout, re.M), shown.stdout
    assert re.search(r"^✓ speaker: ", shown.stdout, re.M), shown.stdout


def test_doctor_with_a_missing_device_is_one_line(virtual_audio, tmp_path) -> None:
    done = _doctor(virtual_audio, "--output-device", "no-such-speaker")
    assert done.returncode == 6
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-speaker" in lines[0]
