"""The CLI function in-process (typer CliRunner), on the embedded local engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.speechgen import write_wav
from tests.transcribe.audio import spoken
from voicecli.cli.transcribe_cmd import transcribe
from voicecli.errors import InputFileError

MODEL = ["--backend", "local", "--model", "gemini-3.5-transcribe-live"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    for name in list(__import__("os").environ):
        if name.startswith(("VOICECLI_", "GEMINI", "GOOGLE")) and name != "VOICECLI_BRAIN_PROBE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    app = typer.Typer()
    app.command()(transcribe)
    return app


def test_bad_inputs_one_line(cli: typer.Typer, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not audio\n")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path in (tmp_path / "missing.wav", text, empty):
        result = CliRunner().invoke(cli, [str(path), *MODEL])
        assert isinstance(result.exception, InputFileError), result.output
        message = str(result.exception)
        assert str(path) in message and "\n" not in message


def test_stdin_and_partial_failure(cli: typer.Typer,
                                   tmp_path: Path) -> None:
    wav = tmp_path / "one.wav"
    write_wav(wav, spoken(["please open the window"]).pcm)
    result = CliRunner().invoke(cli, ["-", "--format", "srt", *MODEL], input=wav.read_bytes())
    assert result.exit_code == 0, result.output
    assert "00:00:00," in result.output and "window" in result.output
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, [str(wav), str(tmp_path / "nope.wav"), "--output-dir", str(out), "-f", "vtt", *MODEL]
    )
    assert result.exit_code == 2
    assert (out / "one.vtt").read_text().startswith("WEBVTT\n\n")
