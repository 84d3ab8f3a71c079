"""Every command's --help, as drawn at the widths people use: no type tags after flags, no line
broken in the middle of a sentence, every line within the terminal; and what some must say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.cli.test_cli import clean_env, voicecli
from voicecli.batch.jobs import load_jobs
from voicecli.cli.app import app
from voicecli.cli.help_format import reflow

WIDTHS = (80, 120)
UNWRAPPED = 1000  # wide enough that nothing wraps: every line break left is in the text itself


def command_paths() -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []

    def walk(command: typer.core.TyperCommand, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


PATHS = command_paths()


def render_help(path: tuple[str, ...], width: int) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(width)},
                                terminal_width=width)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p in PATHS}
    assert {"", "talk", "ask", "serve", "transcribe", "translate", "batch", "devices", "doctor",
            "token", "token create"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "voicecli")
def test_help_has_no_type_tags_on_flags_and_fits(path: tuple[str, ...]) -> None:
    for width in WIDTHS:
        text = render_help(path, width)
        assert "<bool>" not in text
        too_long = [line for line in text.splitlines() if len(line) > width]
        assert not too_long, too_long


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "voicecli")
def test_help_breaks_lines_only_where_the_terminal_ends(path: tuple[str, ...]) -> None:
    lines = render_help(path, UNWRAPPED).splitlines()
    assert hard_breaks(lines) == [], "\n".join(lines)


def hard_breaks(lines: list[str]) -> list[str]:
    """Lines that continue a sentence of the line before although the width left room for it:
    in the prose, a non-blank line after another that is not an indented example; in a panel, a
    row with nothing in its option columns that is not a [default: …] / [required] note."""
    found: list[str] = []
    previous = ""
    for line in lines:
        if line.startswith("│"):
            cells = re.split(r"\s{2,}", line.strip("│ ").strip())
            continuation = line[1:].startswith("      ") and not cells[0].startswith("-")
            if continuation and cells[0] and not cells[0].startswith("["):
                found.append(line)
        elif not line.startswith(("╭", "╰")):
            prose = line.removeprefix(" ")
            if prose.strip() and previous.strip() and not prose.startswith("  ") \
                    and not previous.startswith("Usage:"):
                found.append(line)
            previous = prose
            continue
        previous = ""
    return found


def test_the_rule_finds_a_sentence_broken_in_the_middle() -> None:
    broken = [" Check the microphone and speaker, then measure the echo path", " (delay, level).",
              "│ --probe   Play a 2.5 s sound to measure the │", "│           echo path.  │"]
    assert hard_breaks(broken) == broken[1::2]
    assert hard_breaks([" One paragraph.", "", "   {\"an\": \"example\"}", "   {\"b\": 2}",
                        "│ --out  -o  Output directory.  │", "│            [required]   │"]) == []


def test_reflow_joins_lines_but_keeps_verbatim_paragraphs() -> None:
    assert reflow("One sentence\n    wrapped in the source.\n\nTwo.") == (
        "One sentence wrapped in the source.\n\nTwo.")
    verbatim = 'Jobs:\n\n\b\n  {"id": 1}\n  {"id": 2}'
    assert reflow(verbatim) == 'Jobs:\n\n  {"id": 1}\n  {"id": 2}'


def test_batch_help_shows_a_jobs_file_that_runs(tmp_path: Path) -> None:
    text = render_help(("batch",), 100)
    examples = [line.strip() for line in text.splitlines() if line.strip().startswith("{")]
    assert len(examples) >= 3
    (tmp_path / "q2.wav").write_bytes(b"")  # audio paths are relative to the jobs file
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text("\n".join(examples) + "\n")
    jobs = load_jobs(jobs_file)
    assert jobs.bad == []
    assert [json.loads(e)["id"] for e in examples] == [job.id for job in jobs.jobs]
    for key in ("system", "voice", "response", "temperature", "results.jsonl", "<id>.wav"):
        assert key in text


def test_transcribe_help_says_what_transcribes() -> None:
    text = render_help(("transcribe",), 120)
    assert "echo assistant" not in text and "Transcribe audio files" in text


def test_shell_completion_is_offered() -> None:
    text = render_help((), 120)
    assert "--install-completion" in text and "--show-completion" in text


def test_install_completion_makes_bash_complete_commands(tmp_path: Path) -> None:
    env = {**clean_env(tmp_path), "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    installed = voicecli("--install-completion", "bash", env=env)
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "voicecli.sh"
    assert str(script) in (tmp_path / ".bashrc").read_text()
    entry = Path(sys.executable).with_name("voicecli")  # what the script runs, found on PATH
    env["PATH"] = f"{entry.parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", f'source {script}; COMP_WORDS=(voicecli tr); COMP_CWORD=1;'
         ' _voicecli_completion voicecli; echo "${COMPREPLY[*]}"'],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.split() == ["transcribe", "translate"], done.stderr
