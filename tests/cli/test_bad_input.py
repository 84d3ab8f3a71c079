"""Issue 13 §7/§8 through the real CLI: bad input is one line and exit 2, also with --debug."""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import assert_one_line_error, clean_env, free_port, voicecli
from tests.e2e.harness import virtual_audio as _virtual_audio


def _offline(tmp_path: Path) -> dict[str, str]:
    # nothing listens here: a check that ran after connecting would give exit 3, not 2
    return clean_env(tmp_path, VOICECLI_BASE_URL=f"http://127.0.0.1:{free_port()}")


@pytest.mark.parametrize(("args", "fragment"), [
    (["ask", "hi", "--timeout", "nan"], "--timeout must be a positive number"),
    (["ask", "hi", "--base-url", "http://127.0.0.1:99999"], "port out of range"),
    (["ask", "hi", "--base-url", "http://127.0.0.1:abc"], "port is not a number"),
    (["ask", "hi", "--audio-out", "/dev/null"], "not a regular file"),
])
def test_bad_flags_one_line_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    assert_one_line_error(voicecli(*args, env=_offline(tmp_path)), 2, fragment)


def test_audio_out_directory_refused_before_connecting(tmp_path: Path) -> None:
    target = tmp_path / "replies"
    target.mkdir()
    proc = voicecli("ask", "hi", "--audio-out", str(target), env=_offline(tmp_path))
    assert_one_line_error(proc, 2, "is a directory")
    assert list(target.iterdir()) == [] and not list(tmp_path.glob("*.part"))


def test_batch_out_naming_a_file_refused(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("hello\n")
    out = tmp_path / "out"
    out.write_text("not a folder")
    proc = voicecli("batch", str(jobs), "--out", str(out), env=_offline(tmp_path))
    assert_one_line_error(proc, 2, "is a file, not a folder")


def test_translate_to_validated_like_language(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"")
    proc = voicecli("translate", "--audio", str(wav), "--to", "xx-nope", env=_offline(tmp_path))
    assert_one_line_error(proc, 2, "--to 'xx-nope' is not a language")


def test_debug_keeps_exit_code_and_adds_traceback(tmp_path: Path) -> None:
    proc = voicecli("ask", "hi", "--timeout", "nan", "--debug", env=_offline(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" in proc.stderr
    assert "--timeout must be a positive number" in proc.stderr
    net = voicecli("ask", "hi", "--debug", env=_offline(tmp_path))
    assert net.returncode == 3, net.stderr
    assert "Traceback" in net.stderr


#: every numeric flag of every command (int flags included: "nan" is no integer either)
NUMERIC_FLAGS = [
    (["ask", "hi"], "--timeout"), (["ask", "hi"], "--temperature"),
    (["ask", "hi"], "--max-output-tokens"), (["ask", "hi"], "--thinking-budget"),
    (["batch", "jobs.txt", "--out", "out"], "--timeout"),
    (["batch", "jobs.txt", "--out", "out"], "--jobs"),
    (["batch", "jobs.txt", "--out", "out"], "--max-attempts"),
    (["transcribe", "a.wav"], "--timeout"), (["translate", "--to", "fr"], "--timeout"),
    (["talk"], "--latency"), (["talk"], "--chunk-ms"), (["talk"], "--vad-silence-ms"),
    (["serve"], "--pace"), (["serve"], "--lifetime"), (["serve"], "--idle-timeout"),
    (["serve"], "--max-sessions"), (["serve"], "--port"), (["token", "create"], "--uses"),
    (["token", "create"], "--expire"),
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(("command", "flag"), NUMERIC_FLAGS)
def test_nan_and_inf_for_every_numeric_flag_are_one_line_exit_2(
        tmp_path: Path, command: list[str], flag: str, value: str) -> None:
    (tmp_path / "jobs.txt").write_text("hello\n")
    env = {**_offline(tmp_path), "VOICECLI_API_KEY": "k"}
    proc = voicecli(*command, f"{flag}={value}", env=env, cwd=tmp_path, timeout=60)
    assert_one_line_error(proc, 2, "")
    assert flag in proc.stderr or value in proc.stderr, proc.stderr


def test_a_jobs_file_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    from tests.e2e.harness import local_server_process

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_bytes("\ufeff".encode() + b'{"id": "first", "text": "hello there"}\n'
                     b'{"id": "second", "text": "good night"}\n')
    env = clean_env(tmp_path)
    with local_server_process(env, tmp_path / "server.log", pace=0.0) as server:
        proc = voicecli("batch", str(jobs), "--out", str(tmp_path / "out"),
                        env={**env, **server.env()}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in
               (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in results) == ["first", "second"]  # not "\ufefffirst"
    assert {r["text"] for r in results} == {"You said: hello there.", "You said: good night."}


def test_token_create_against_a_server_that_does_not_speak_http(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_garbage() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff not http\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    env = clean_env(tmp_path, VOICECLI_API_KEY="test-key-1234")
    proc = voicecli("token", "create", "--base-url", f"http://127.0.0.1:{port}", env=env)
    thread.join(timeout=10)
    assert_one_line_error(proc, 2, "did not answer in HTTP")
    assert "test-key-1234" not in proc.stderr + proc.stdout


GIB = 1 << 30
_MEASURE = ("import resource, subprocess, sys\n"
            "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "sys.stdout.write(done.stderr)\n"
            "peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "print(f'PEAK {peak_kb} RC {done.returncode}')\n")


@pytest.mark.parametrize("backend", ["gemini", "local"])
def test_a_wav_header_declaring_1_gib_is_refused_without_allocating_it(
        tmp_path: Path, backend: str) -> None:
    wav = tmp_path / "huge.wav"
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    wav.write_bytes(b"RIFF" + struct.pack("<I", 36 + GIB) + b"WAVE" + b"fmt " + fmt + b"data"
                    + struct.pack("<I", GIB) + bytes(64000))
    env = {**_offline(tmp_path), "VOICECLI_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "voicecli",
                           "transcribe", str(wav)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    *stderr, last = done.stdout.splitlines()
    peak_kb, rc = (int(word) for word in last.split()[1::2])
    lines = [ln for ln in stderr if ln.startswith("voicecli: error:")]
    assert rc == 2 and len(lines) == 1 and "1073741824" in lines[0], done.stdout
    assert "Traceback" not in done.stdout
    assert peak_kb < 200_000, f"peak RSS {peak_kb} KB: the declared size was allocated"


# ---- §7: --debug adds the traceback and keeps every documented exit code --------------------

def _serve(tmp_path: Path, *args: str):  # noqa: ANN202 - a context manager
    from tests.e2e.harness import local_server_process

    return local_server_process(clean_env(tmp_path), tmp_path / "server.log", pace=0.0,
                                extra_args=args)


def _assert_debug_exit(proc: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" in proc.stderr, proc.stderr  # what --debug adds
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("voicecli: error:")]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr  # the same line as without


@pytest.mark.parametrize("debug", [False, True])
def test_debug_keeps_exit_4_for_refused_credentials(tmp_path: Path, debug: bool) -> None:
    with _serve(tmp_path, "--require-key", "the-right-key") as server:
        env = clean_env(tmp_path, VOICECLI_API_KEY="a-wrong-key", **server.env())
        proc = voicecli("ask", "hi", *(["--debug"] if debug else []), env=env)
    if debug:
        _assert_debug_exit(proc, 4, "rejected the API key")
    else:
        assert_one_line_error(proc, 4, "rejected the API key")
    assert "a-wrong-key" not in proc.stderr and "the-right-key" not in proc.stderr


def test_debug_keeps_exit_5_when_the_service_refuses(tmp_path: Path) -> None:
    # the server answers setup with 1008 "not implemented" (§5.9): refused, not retried
    with _serve(tmp_path, "--fault", "fail-first=1:1008") as server:
        env = clean_env(tmp_path, **server.env())
        proc = voicecli("ask", "hi", "--debug", env=env)
    _assert_debug_exit(proc, 5, "")


def test_debug_keeps_exit_130_when_interrupted(tmp_path: Path) -> None:
    from tests.cli.test_cli import default_sigint

    # setupComplete is held back 30 s: the client is waiting when Ctrl-C comes
    with _serve(tmp_path, "--fault", "delay-ms=30000") as server:
        env = clean_env(tmp_path, **server.env())
        proc = subprocess.Popen([sys.executable, "-m", "voicecli", "ask", "hi", "--debug"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=default_sigint)
        try:
            time.sleep(3.0)  # started and connecting
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err


virtual_audio = _virtual_audio  # the fixture (scripts/va-up.sh), for the device test


def test_debug_keeps_exit_6_for_a_missing_device(virtual_audio: dict[str, str],  # noqa: F811
                                                 tmp_path: Path) -> None:
    from tests.e2e.harness import client_env

    env = {**client_env(tmp_path, virtual_audio),
           "VOICECLI_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    proc = voicecli("talk", "--input-device", "no-such-mic", "--debug", env=env,
                    stdin=b"")
    _assert_debug_exit(proc, 6, "no-such-mic")
