"""Issue 13 §7/§8 through the real CLI: bad input is one line and exit 2, also with --debug."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import assert_one_line_error, clean_env, free_port, voicecli


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
