"""`voicecli batch` on a terminal: a Rich progress with counts and ETA, then a summary table;
on a pipe: plain summary lines and no escape codes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import clean_env
from tests.transcribe.procs import CSI, serve, voicecli, voicecli_on_terminal
from tests.transcribe.test_terminal import terminal_env

JOBS = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve("--fault", "delay-ms=5", env=clean_env(tmp_path_factory.mktemp("serve"))) as url:
        yield url


def batch_args(tmp_path: Path, server: str) -> tuple[str, ...]:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(
        json.dumps({"id": f"j{i:02d}", "text": f"question {i}"}) + "\n" for i in range(JOBS)
    ) + '{"id": "broken"\n')
    return ("batch", str(jobs), "--out", str(tmp_path / "out"), "--jobs", "4",
            "--base-url", server, "--model", "gemini-live-2.5-flash-preview", "--response", "text")


def test_progress_and_summary_table_on_a_terminal(server: str, tmp_path: Path) -> None:
    run = voicecli_on_terminal(*batch_args(tmp_path, server), env=terminal_env(tmp_path))
    assert run.code == 2, run  # the broken line is a bad job
    assert CSI in run.stderr
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", run.stderr)  # the text, without styling
    assert f"{JOBS + 1}/{JOBS + 1}" in screen and "ETA" in screen, screen  # counts, then done
    assert f"ok {JOBS} failed 1 skipped 0" in screen, screen
    assert re.search(rf"│ ok +│ {JOBS} +│", screen) and re.search(r"│ failed +│ 1 +│", screen)
    assert re.search(r"┃ job +┃ code +┃ message", screen), screen  # the failures table
    assert "│ ? (line 21) │ bad_job │ line 21: not valid JSON" in screen, screen
    assert run.stdout == ""


def test_plain_summary_on_a_pipe(server: str, tmp_path: Path) -> None:
    run = voicecli(*batch_args(tmp_path, server), env=terminal_env(tmp_path))
    assert run.code == 2, run
    assert CSI not in run.stderr and "━" not in run.stderr
    lines = run.stderr.splitlines()
    assert f"jobs: {JOBS + 1}" in lines and f"ok: {JOBS}" in lines and "failed: 1" in lines
    assert any(line.startswith("failed: ? (line 21) [bad_job]") for line in lines), lines
