"""`voicecli talk` end to end: a real terminal (tmux), real audio devices (PulseAudio virtual
mic and speaker), the real local server in a subprocess, and espeak speech spoken into the mic.

Each test reads the screen as a user would, and records the virtual speaker to hear the replies.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from tests.e2e.harness import (
    SpeakerRecorder,
    TmuxApp,
    client_env,
    default_sigint,
    speak,
    speak_async,
)
from tests.speechgen import speech_pcm16
from tests.wer import normalize

TALK = [sys.executable, "-m", "voicecli", "talk"]
QUESTION = "what is the weather like in london today"
LONG_QUESTION = ("please tell me about the weather in london and paris and berlin "
                 "and rome today")


def talk_env(tmp_path: Path, virtual_audio: dict[str, str], server: Any) -> dict[str, str]:
    return {**client_env(tmp_path, virtual_audio), **server.env()}


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_spoken_conversation_on_real_devices(virtual_audio, local_server, tmp_path) -> None:
    env = talk_env(tmp_path, virtual_audio, local_server)
    rec_dir = tmp_path / "rec"
    with SpeakerRecorder(tmp_path / "speaker.wav", env) as speaker, \
            TmuxApp([*TALK, "--record", str(rec_dir)], env, workdir=tmp_path) as app:
        app.wait_for("● listening", timeout=20)
        said = time.monotonic()
        speak(speech_pcm16(QUESTION), env)
        screen = app.wait_for(re.compile(r"Gemini: You said: What is the weather like in London "
                                         r"today\."), timeout=30)
        app.wait_for(re.compile(r"\[\d+ ms\]"), timeout=10)  # the turn's latency is shown
        time.sleep(1.0)  # let the reply finish playing
        app.send_keys("C-c")
        status = app.wait_exit(timeout=15)
    assert "You: What is the weather like in London today?" in screen  # word for word
    assert status == 130, app.stderr()
    assert "Traceback" not in app.stderr()
    heard = [r for r in speaker.regions() if r.start > speaker.offset_of(said)]
    assert sum(r.duration for r in heard) > 1.5, f"the reply was not heard: {heard}"
    # --record: complete files after Ctrl-C
    with wave.open(str(rec_dir / "mic.wav")) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000 * 2
        mic = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.abs(mic).max() > 3000, "the spoken question is in mic.wav"
    with wave.open(str(rec_dir / "speaker.wav")) as w:
        assert w.getframerate() == 24000 and w.getnframes() > 24000
    transcript = (rec_dir / "transcript.md").read_text()
    assert "**You:**" in transcript and "**Gemini:** You said:" in transcript
    kinds = [e["type"] for e in events(rec_dir / "events.jsonl")]
    assert kinds[0] == "recording" and "turn" in kinds and "latency" in kinds


def test_speaking_over_the_reply_silences_the_speaker(virtual_audio, local_server,
                                                      tmp_path) -> None:
    env = talk_env(tmp_path, virtual_audio, local_server)
    rec_dir = tmp_path / "rec"
    # the virtual devices are a headset: nothing played reaches the mic (tests/e2e/test_echo.py
    # adds that path and barges in through the echo handling)
    with SpeakerRecorder(tmp_path / "speaker.wav", env) as speaker, \
            TmuxApp([*TALK, "--echo", "off", "--record", str(rec_dir)], env,
                    workdir=tmp_path) as app:
        app.wait_for("● listening", timeout=20)
        speak(speech_pcm16(LONG_QUESTION), env)
        app.wait_for("● speaking", timeout=30)
        time.sleep(1.0)
        barge = speak_async(speech_pcm16("stop"), env)
        screen = app.wait_for("⟂ interrupted", timeout=15)
        barge.wait()
        app.wait_for(re.compile(r"You: Stop\W"), timeout=20)
        app.send_keys("q")
        assert app.wait_exit(timeout=15) == 0
    assert "(unheard:" in screen
    log = events(rec_dir / "events.jsonl")
    origin = log[0]["monotonic"]
    cut = origin + next(e["t"] for e in log if e["type"] == "interrupted")
    # the reply stops at the speaker within the target after `interrupted` reached the client
    # (device latency 30 ms + one block; benchmarks/bench_bargein.py measures it precisely),
    # and long before the reply would have ended
    cut_at = speaker.offset_of(cut)
    before_cut = [r for r in speaker.regions() if r.start <= cut_at + 0.02]
    assert before_cut, "the reply was heard before the cut"
    stopped_after_ms = (max(r.end for r in before_cut) - cut_at) * 1000
    assert stopped_after_ms < 150, f"speaker still sounding {stopped_after_ms:.0f} ms after the cut"


def test_mute_and_push_to_talk(virtual_audio, local_server, tmp_path) -> None:
    env = talk_env(tmp_path, virtual_audio, local_server)
    with TmuxApp([*TALK, "--ptt"], env, workdir=tmp_path) as app:
        app.wait_for("space talk", timeout=20)
        speak(speech_pcm16(QUESTION), env)  # the key is not held: nothing is sent
        time.sleep(2.0)
        assert "You:" not in app.screen()
        app.send_keys("Space")
        app.wait_for("space stop talking", timeout=5)
        speak(speech_pcm16(QUESTION), env)
        app.send_keys("Space")
        app.wait_for(re.compile(r"You: .*weather"), timeout=20)
        app.wait_for(re.compile(r"Gemini: You said: .*weather"), timeout=20)
        app.send_keys("m")
        app.wait_for("mic muted", timeout=5)
        app.send_keys("Space")
        speak(speech_pcm16("hello there"), env)
        app.send_keys("Space")
        time.sleep(3.0)
        assert "hello" not in app.screen().lower(), "a muted mic must not reach the service"
        app.send_keys("m")
        app.wait_for("m mute", timeout=5)
        app.send_keys("q")
        assert app.wait_exit(timeout=15) == 0


def test_typing_a_message(virtual_audio, local_server, tmp_path) -> None:
    env = talk_env(tmp_path, virtual_audio, local_server)
    transcript = tmp_path / "notes.md"
    with TmuxApp([*TALK, "--transcript", str(transcript)], env, workdir=tmp_path) as app:
        app.wait_for("● listening", timeout=20)
        app.send_keys("t")
        app.send_literal("hello from the keyboard")
        app.wait_for("type> hello from the keyboard", timeout=5)
        app.send_keys("Enter")
        app.wait_for("Gemini: You said: hello from the keyboard", timeout=20)
        app.send_keys("q")
        assert app.wait_exit(timeout=15) == 0
    text = transcript.read_text()
    assert "**You (typed):** hello from the keyboard" in text


def test_json_mode_without_a_terminal(virtual_audio, local_server, tmp_path) -> None:
    env = talk_env(tmp_path, virtual_audio, local_server)
    proc = subprocess.Popen([*TALK], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, preexec_fn=default_sigint, text=True)
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "setup_complete"
        speak(speech_pcm16(QUESTION), env)
        turn = _read_until(proc, "turn", within_s=30)
        assert normalize(turn["user"]) == QUESTION.split(), turn["user"]
        assert turn["model"].startswith("You said: What is the weather like in London today.")
    finally:
        proc.send_signal(2)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    for line in out.splitlines():  # every line is whole JSON, also the last after Ctrl-C
        json.loads(line)
    assert "Traceback" not in err


def _read_until(proc: subprocess.Popen[str], kind: str, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        event = json.loads(line)
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind!r} event")


def test_device_errors_are_one_line(virtual_audio, local_server, tmp_path) -> None:
    env = talk_env(tmp_path, virtual_audio, local_server)
    done = subprocess.run([*TALK, "--input-device", "no-such-mic"], env=env, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 6
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-mic" in lines[0] and "voicecli devices" in lines[0]
