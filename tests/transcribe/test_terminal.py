"""The progress bar of `voicecli transcribe`: on a terminal for long files, never on a pipe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import clean_env
from tests.speechgen import write_wav
from tests.transcribe.audio import tiled
from tests.transcribe.procs import CSI, serve, voicecli, voicecli_on_terminal
from tests.wer import normalize
from voicecli.cli.transcribe_cmd import PROGRESS_MIN_S

MODEL = ("--model", "gemini-3.5-transcribe-live")


def terminal_env(tmp_path: Path) -> dict[str, str]:
    env = clean_env(tmp_path, TERM="xterm-256color")
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(env=clean_env(tmp_path_factory.mktemp("serve"))) as url:
        yield url


def long_wav(tmp_path: Path) -> tuple[Path, list[str]]:
    audio = tiled(2 * PROGRESS_MIN_S, 20.0)
    path = tmp_path / "long.wav"
    write_wav(path, audio.pcm)
    return path, audio.phrases


def heard(stdout: str) -> list[str]:
    """The transcript's lines as words (Whisper writes "Thank you." for "thank you")."""
    return [" ".join(normalize(line)) for line in stdout.splitlines()]


def test_long_file_shows_a_bar_on_a_terminal(server: str, tmp_path: Path) -> None:
    path, phrases = long_wav(tmp_path)
    run = voicecli_on_terminal("transcribe", str(path), "--base-url", server, *MODEL,
                               env=terminal_env(tmp_path))
    assert run.code == 0, run
    assert heard(run.stdout) == phrases  # the transcript alone, on the pipe
    assert CSI in run.stderr and "100%" in run.stderr and "━" in run.stderr, run.stderr
    assert str(path) in run.stderr


def test_no_bar_on_a_pipe_or_for_a_short_file(server: str, tmp_path: Path) -> None:
    path, phrases = long_wav(tmp_path)
    run = voicecli("transcribe", str(path), "--base-url", server, *MODEL,
                   env=terminal_env(tmp_path))
    assert run.code == 0 and heard(run.stdout) == phrases, run
    assert run.stderr == ""
    short = tmp_path / "short.wav"
    write_wav(short, tiled(PROGRESS_MIN_S / 2, 10.0).pcm)
    run = voicecli_on_terminal("transcribe", str(short), "--base-url", server, *MODEL,
                               env=terminal_env(tmp_path))
    assert run.code == 0 and run.stdout.strip(), run
    assert CSI not in run.stderr and "%" not in run.stderr, run.stderr
