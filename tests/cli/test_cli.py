"""The real `voicecli` entry point, run as a subprocess: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.speechgen import speech_pcm16
from tests.wer import normalize

SECRET = "AIzaSy-test-SECRET-do-not-print-0123456789"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    private = ("VOICECLI_", "GEMINI", "GOOGLE")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(private) or k == "VOICECLI_BRAIN_PROBE"}  # tests/conftest.py
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")  # no user config leaks in
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def voicecli(
    *args: str, env: dict[str, str], timeout: float = 90, stdin: bytes | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecli", *args],
        env=env,
        cwd=cwd,
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("voicecli: error:")]
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def default_sigint() -> None:
    """Children of a background job inherit an ignored SIGINT; give them the terminal default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`voicecli serve` as a real subprocess; yields (url, process)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "serve", "--port", str(port), "--pace", "0",
         "--require-key", SECRET],
        env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert f"ws://127.0.0.1:{port}" in line, line
    yield f"http://127.0.0.1:{port}", proc
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)


def test_version_help_and_module_entry(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    proc = voicecli("--version", env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("voicecli 0.")
    helped = voicecli("--help", env=env)
    assert helped.returncode == 0 and "ask" in helped.stdout and "serve" in helped.stdout
    script = Path(sys.executable).with_name("voicecli")
    assert subprocess.run([str(script), "--version"], capture_output=True, text=True,
                          env=env).stdout == proc.stdout


def test_ask_text_on_embedded_local_engine(tmp_path: Path) -> None:
    proc = voicecli("ask", "what is the capital of France", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "capital of france" in proc.stdout.lower()
    notes = proc.stderr.strip().splitlines()
    assert len(notes) == 1 and "no API key configured; using the local engine" in notes[0]
    assert "\x1b[" not in proc.stdout + proc.stderr  # not a terminal: no colour, no spinner


def test_ask_json_is_ndjson_event_stream(tmp_path: Path) -> None:
    proc = voicecli("ask", "--json", "hello there", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "setup_complete" and types[-1] == "turn_complete"
    assert "text" in types or "output_transcript" in types
    final = events[-1]
    assert final["usage"]["total_tokens"] > 0 and final["latency_ms"] >= 0


def test_ask_audio_question_and_audio_out(tmp_path: Path) -> None:
    pcm = np.frombuffer(speech_pcm16("what is the weather like in london today", 44100), np.int16)
    stereo24 = np.stack([pcm, pcm], axis=1).astype(np.float64) / 32768
    question = tmp_path / "question.wav"
    sf.write(question, stereo24, 44100, subtype="PCM_24")
    reply = tmp_path / "reply.wav"
    proc = voicecli("ask", "--audio", str(question), "--audio-out", str(reply),
                    env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "weather" in proc.stdout.lower()
    info = sf.info(reply)
    assert (info.samplerate, info.channels) == (24000, 1) and info.duration > 0.5
    assert not reply.with_name("reply.wav.part").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ask", "--audio", "/nonexistent/q.wav"], "/nonexistent/q.wav"),
        (["ask"], "missing question"),
        (["ask", "--backend", "cloud", "hi"], "--backend must be one of"),
        (["ask", "--bogus-flag", "hi"], "No such option"),
        (["ask", "--model", "gemini-3.8-live", "--response", "text", "hi"], "gemini-3.8-live"),
        (["serve", "--fault", "explode=1"], "--fault"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    assert_one_line_error(voicecli(*args, env=clean_env(tmp_path)), 2, fragment)


def test_corrupt_audio_file_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt ")  # truncated header
    proc = voicecli("ask", "--audio", str(bad), env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "bad.wav")


def test_connection_refused_exit_3(tmp_path: Path) -> None:
    env = clean_env(tmp_path, VOICECLI_BASE_URL=f"http://127.0.0.1:{free_port()}")
    assert_one_line_error(voicecli("ask", "hi", env=env), 3, "cannot connect")
    as_json = voicecli("ask", "--json", "hi", env=env)
    assert_one_line_error(as_json, 3, "cannot connect")
    last = json.loads(as_json.stdout.splitlines()[-1])
    assert (last["type"], last["code"]) == ("error", "network")
    assert "cannot connect" in last["message"]


def test_served_key_checks_and_never_printed(tmp_path: Path, served) -> None:  # type: ignore[no-untyped-def]
    url, _ = served
    ok = voicecli("ask", "hello", "--debug",
                  env=clean_env(tmp_path, VOICECLI_BASE_URL=url, GEMINI_API_KEY=SECRET))
    assert ok.returncode == 0, ok.stderr
    assert "hello" in ok.stdout.lower()
    assert SECRET not in ok.stdout + ok.stderr
    wrong = voicecli("ask", "hello", env=clean_env(tmp_path, VOICECLI_BASE_URL=url,
                                                   GEMINI_API_KEY="AIza-wrong-key"))
    assert_one_line_error(wrong, 4, "API key not valid")
    assert "AIza-wrong-key" not in wrong.stdout + wrong.stderr


def test_unknown_model_is_refused_exit_5(tmp_path: Path, served) -> None:  # type: ignore[no-untyped-def]
    url, _ = served
    env = clean_env(tmp_path, VOICECLI_BASE_URL=url, GEMINI_API_KEY=SECRET)
    proc = voicecli("ask", "--model", "gemini-9-imaginary", "hi", env=env)
    assert_one_line_error(proc, 5, "gemini-9-imaginary")


def test_broken_server_frame_is_one_line_exit_3(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "serve", "--port", str(port), "--pace", "0",
         "--fault", "malformed-every=3"],
        env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    assert server.stderr is not None and "listening" in server.stderr.readline()
    try:
        env = clean_env(tmp_path, VOICECLI_BASE_URL=f"http://127.0.0.1:{port}")
        proc = voicecli("ask", "hello there friend", env=env)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=15)
    assert_one_line_error(proc, 3, "sent a broken frame: not JSON")


def test_serve_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "voicecli", "serve", "--port", str(port)],
                            env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    assert proc.stderr is not None
    assert "listening on" in proc.stderr.readline()
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=15) in (0, 130)
    assert "Traceback" not in rest


def test_ctrl_c_mid_reply_keeps_the_audio_received(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "serve", "--port", str(port), "--pace", "1"],
        env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    assert server.stderr is not None and "listening" in server.stderr.readline()
    reply = tmp_path / "reply.wav"
    words = " ".join(["this is a long question that takes a while to say back"] * 4)
    client = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "ask", "--audio-out", str(reply), words],
        env=clean_env(tmp_path, VOICECLI_BASE_URL=f"http://127.0.0.1:{port}"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    part = reply.with_name("reply.wav.part")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _frames_so_far(part) < 24000:
        time.sleep(0.05)
    client.send_signal(signal.SIGINT)
    _, err = client.communicate(timeout=15)
    server.send_signal(signal.SIGINT)
    server.wait(timeout=15)
    assert client.returncode == 130, err
    assert "Traceback" not in err and err.strip().endswith("voicecli: error: interrupted")
    info = sf.info(reply)
    assert info.samplerate == 24000 and info.frames >= 24000  # at least the second we saw arrive
    assert not part.exists()


def _frames_so_far(part: Path) -> int:
    """Frames in a WAV being written; 0 before it exists or while its header is half-written."""
    try:
        return sf.info(part).frames
    except (sf.LibsndfileError, RuntimeError):
        return 0


def test_ask_audio_from_stdin(tmp_path: Path) -> None:
    wav = tmp_path / "q.wav"
    pcm = np.frombuffer(speech_pcm16("what is the weather like in london today"), np.int16)
    sf.write(wav, pcm, 16000, subtype="PCM_16")
    proc = subprocess.run(
        [sys.executable, "-m", "voicecli", "ask", "--audio", "-"],
        env=clean_env(tmp_path), input=wav.read_bytes(), capture_output=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"london" in proc.stdout.lower()


def test_batch_command_through_the_entry_point(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"id": "a", "text": "first question"}\n'
                    '{"id": "b", "text": "second question"}\n'
                    'not json\n')
    out = tmp_path / "out"
    proc = voicecli("batch", str(jobs), "--out", str(out), "--response", "text",
                    "--model", "gemini-live-2.5-flash-preview", env=clean_env(tmp_path))
    assert proc.returncode == 2, proc.stderr  # the bad line fails the run; the rest ran
    records = {r.get("id") or f"line{r['line']}": r
               for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert records["a"]["status"] == "ok" and "first question" in records["a"]["text"].lower()
    assert records["b"]["status"] == "ok"
    assert records["line3"]["status"] == "error" and records["line3"]["error"]["code"] == "bad_job"
    assert "Traceback" not in proc.stderr


def test_transcribe_command_srt_through_the_entry_point(tmp_path: Path) -> None:
    gap = np.zeros(16000, np.int16)
    said = ("what is the weather like in london today", "please turn on the kitchen lights")
    parts = [np.frombuffer(speech_pcm16(t), np.int16) for t in said]
    wav = tmp_path / "talk.wav"
    sf.write(wav, np.concatenate([gap, parts[0], gap, parts[1], gap]), 16000, subtype="PCM_16")
    out = tmp_path / "talk.srt"
    proc = voicecli("transcribe", str(wav), "--format", "srt", "--output", str(out),
                    "--model", "gemini-3.5-transcribe-live", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (note,) = proc.stderr.strip().splitlines()  # the engine it used, by what transcribes
    assert "using the local engine" in note and "recogniser: Whisper tiny.en" in note
    assert "echo assistant" not in note
    srt = out.read_text()
    assert srt.startswith("1\n00:00:0") and "\n2\n00:00:0" in srt and " --> " in srt
    cues = [block.splitlines()[2:] for block in srt.strip().split("\n\n")]
    heard = [" ".join(normalize(" ".join(lines))) for lines in cues]
    assert heard == list(said)  # word for word, one cue per sentence
    missing = voicecli("transcribe", str(tmp_path / "nope.wav"), env=clean_env(tmp_path))
    assert_one_line_error(missing, 2, "nope.wav")


def test_readable_config_with_a_key_warns_on_stderr(tmp_path: Path, served) -> None:  # type: ignore[no-untyped-def]
    url, _ = served
    config = tmp_path / "config.toml"
    config.write_text(f'api_key = "{SECRET}"\nbase_url = "{url}"\n')
    config.chmod(0o644)
    proc = voicecli("ask", "--config", str(config), "hello", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "readable by other users; run: chmod 600" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
