"""A corpus of awkward and broken inputs through the `voicecli transcribe` process.

Unusual but valid audio (8-bit, float, 96 kHz, six channels) is transcribed (exit 0); inputs
that hold no readable audio end with exit 2 and exactly one line on stderr, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import clean_env
from tests.speechgen import silence, speech_pcm16, write_wav
from tests.transcribe.procs import Run, python, serve, voicecli
from tests.wer import normalize

MODEL = ("--model", "gemini-3.5-transcribe-live")
PHRASE = "what is the weather like in london today"

#: A launcher that gives up root's power to read any file (CAP_DAC_OVERRIDE = 1 and
#: CAP_DAC_READ_SEARCH = 2, dropped from the bounding set with prctl(PR_CAPBSET_DROP = 24))
#: before it runs the CLI: a file with mode 000 is then unreadable, as for any other user.
WITHOUT_DAC = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "for cap in (1, 2):\n"
    "    if libc.prctl(24, cap, 0, 0, 0) != 0:\n"
    "        sys.exit(f'cannot drop capability {cap}: errno {ctypes.get_errno()}')\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)


def speech(rate: int = 16000) -> bytes:
    return silence(300, rate) + speech_pcm16(PHRASE, rate) + silence(300, rate)


VALID: dict[str, Callable[[Path], None]] = {
    "8-bit": lambda p: write_wav(p, speech(), subtype="PCM_U8"),
    "float32": lambda p: write_wav(p, speech(), subtype="FLOAT"),
    "96 kHz": lambda p: write_wav(p, speech(96000), rate=96000),
    "six channels": lambda p: write_wav(p, speech(), channels=6),
}


def _good_wav(path: Path) -> bytes:
    write_wav(path, speech())
    return path.read_bytes()


def _truncated(p: Path) -> None:
    p.write_bytes(_good_wav(p)[:30])  # cut inside the header: no 'data' chunk


def _wrong_header(p: Path) -> None:
    data = bytearray(_good_wav(p))
    data[20:22] = (0x7777).to_bytes(2, "little")  # 'fmt ' audio format: no such encoding
    p.write_bytes(bytes(data))


def _unreadable(p: Path) -> None:
    _good_wav(p)
    p.chmod(0)


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty": (lambda p: p.write_bytes(b""), "file is empty"),
    "truncated": (_truncated, "truncated or corrupt"),
    "wrong header": (_wrong_header, "truncated or corrupt"),
    "text": (lambda p: p.write_text("hello, this is not audio\n"), "looks like a text file"),
    "directory": (lambda p: p.mkdir(), "is a directory"),
    "no read permission": (_unreadable, "permission denied"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(env=clean_env(tmp_path_factory.mktemp("serve"))) as url:
        yield url


def one_error_line(run: Run, path: Path, fragment: str) -> None:
    assert run.code == 2, run
    assert run.stdout == "" and "Traceback" not in run.stderr, run
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"voicecli: error: {path}: ") and fragment in lines[0], lines[0]


@pytest.mark.parametrize("kind", VALID)
def test_unusual_formats_are_transcribed(kind: str, server: str, tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    VALID[kind](path)
    run = voicecli("transcribe", str(path), "--base-url", server, *MODEL, env=clean_env(tmp_path))
    assert run.code == 0, run
    assert normalize(run.stdout) == PHRASE.split() and run.stderr == "", run


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_is_one_line_and_exit_2(kind: str, tmp_path: Path) -> None:
    make, fragment = BAD[kind]
    path = tmp_path / "in.wav"
    make(path)
    args = ("transcribe", str(path), "--backend", "local", *MODEL)
    if kind == "no read permission" and os.geteuid() == 0:
        args = ("-c", WITHOUT_DAC, "-m", "voicecli", *args)  # root reads mode 000 files
        run = python(*args, env=clean_env(tmp_path))
    else:
        run = voicecli(*args, env=clean_env(tmp_path))
    one_error_line(run, path, fragment)  # no local engine started: its notice would be a line


def test_path_through_a_file_is_unreadable(tmp_path: Path) -> None:
    parent = tmp_path / "song.wav"
    _good_wav(parent)
    path = parent / "take2.wav"  # the parent is a file, so this cannot be opened, even by root
    run = voicecli("transcribe", str(path), "--backend", "local", *MODEL, env=clean_env(tmp_path))
    one_error_line(run, path, "cannot read (Not a directory)")


def test_bad_and_good_inputs_together(server: str, tmp_path: Path) -> None:
    good, text = tmp_path / "good.wav", tmp_path / "notes.wav"
    VALID["8-bit"](good)
    text.write_text("not audio\n")
    run = voicecli("transcribe", str(text), str(good), "--base-url", server, *MODEL,
                   env=clean_env(tmp_path))
    assert run.code == 2 and run.stdout.splitlines()[0] == f"==> {good} <==", run
    assert normalize("\n".join(run.stdout.splitlines()[1:])) == PHRASE.split(), run
    assert run.stderr.splitlines() == [
        f"voicecli: error: {text}: looks like a text file, not audio"
    ]
