"""`voicecli batch JOBS.jsonl --out DIR`: many questions, N at a time, resumable.

Results go to `DIR/results.jsonl` (and `DIR/<id>.wav` for spoken replies); stderr gets a progress
bar (terminals only) and a summary. Exit 0 when every job is ok, else the exit code of the first
failed job in input order (2 bad job line, 3 network, 4 auth, 5 refused).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from voicecli.batch import BatchSummary, JobResult, run_batch
from voicecli.batch.runner import Progress as OnProgress
from voicecli.cli.options import QUESTION, SETTINGS, TOOLS_USE, with_settings
from voicecli.cli.output import check_output_dir, is_interactive, notice, one_line
from voicecli.client.usage import TokenTally
from voicecli.errors import ExitCode
from voicecli.settings import Settings
from voicecli.tools import ToolUse

MAX_LISTED_FAILURES = 10


@with_settings(*QUESTION, own={"response": "response", "reply_timeout_s": "timeout"})
def batch(
    source: Annotated[
        Path, typer.Argument(help="Jobs file (JSONL) or a directory of audio files.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory (results.jsonl, <id>.wav).")
    ],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Jobs at a time.")] = 4,
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", min=1, help="Tries per job (retryable errors).")
    ] = 3,
    response: Annotated[
        str | None, typer.Option("--response", help="auto | audio | text (jobs may override).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds to wait for each reply.")
    ] = None,
    settings: Settings = SETTINGS,
    tools: ToolUse = TOOLS_USE,
) -> None:
    """Ask every question of a jobs file; rerun the same command to finish what failed.

    SOURCE is a JSONL file with one job per line, each with an id (a file name: letters, digits,
    . _ -) and a text or an audio file (relative to the jobs file), or a directory of audio files
    (one job each, named after the file):

    \b
      {"id": "q1", "text": "What is the capital of France?"}
      {"id": "q2", "audio": "q2.wav", "response": "text"}
      {"id": "q3", "text": "Tell me a joke", "voice": "Kore", "temperature": 0.9}

    Optional keys: system, voice, model, response (text | audio | auto) and the model options
    under their config-file names (language, temperature, max_output_tokens, thinking_budget,
    thinking_level, show_thoughts, media_resolution, turn_coverage, affective_dialog,
    proactive_audio). OUT gets results.jsonl (one line per job: id, status, text, usage,
    latency_ms, attempts, error) and <id>.wav for each spoken reply. A bad line becomes an error
    record naming its line; the other jobs still run. Exit 0 only when every job succeeded.
    """
    check_output_dir(out, "--out")  # before anything connects
    summary = asyncio.run(_run(settings, source, out, jobs, max_attempts, tools))
    print_summary(summary, out)
    if summary.exit_code != ExitCode.OK:
        raise typer.Exit(summary.exit_code)


async def _run(
    settings: Settings, source: Path, out: Path, jobs: int, max_attempts: int, tools: ToolUse
) -> BatchSummary:
    with _progress() as on_progress:
        return await run_batch(settings, source, out, jobs=jobs, max_attempts=max_attempts,
                               on_progress=on_progress, notify=notice, tools=tools)


@contextmanager
def _progress() -> Iterator[OnProgress | None]:
    """A Rich progress bar with counts and ETA on stderr, only when stderr is a terminal."""
    if not is_interactive(sys.stderr):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("batch", total=None, status="")

        def update(summary: BatchSummary, _result: JobResult | None) -> None:
            status = f"ok {summary.ok} failed {summary.failed} skipped {summary.skipped}"
            bar.update(task, total=summary.total, completed=summary.done, status=status)

        yield update


def summary_lines(summary: BatchSummary, out: Path) -> list[tuple[str, str]]:
    rate = summary.ok / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    return [
        ("jobs", str(summary.total)), ("ok", str(summary.ok)), ("failed", str(summary.failed)),
        ("skipped (done before)", str(summary.skipped)), ("retried", str(summary.retried)),
        ("time", f"{summary.elapsed_s:.1f} s ({rate:.1f} jobs/s)"),
        *_token_rows(summary),
        ("results", str(out / "results.jsonl")),
    ]


def _token_rows(summary: BatchSummary) -> list[tuple[str, str]]:
    """This run's tokens by modality (§4.7), summed over the jobs' usage."""
    tally = TokenTally()
    for result in summary.results:
        if result.usage:
            tally.add_json(result.usage)
    return [("tokens", tally.summary())] if tally.reports else []


def print_summary(summary: BatchSummary, out: Path) -> None:
    rows = summary_lines(summary, out)
    failures = [r for r in summary.results if not r.ok][:MAX_LISTED_FAILURES]
    if is_interactive(sys.stderr):
        _rich_summary(rows, failures)
        return
    for name, value in rows:
        print(f"{name}: {value}", file=sys.stderr)
    for r in failures:
        print(f"failed: {_job_name(r)} [{r.error_code}] {one_line(r.error_message or '')}",
              file=sys.stderr)
    sys.stderr.flush()


def _rich_summary(rows: list[tuple[str, str]], failures: list[JobResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="voicecli batch", show_header=False)
    for name, value in rows:
        table.add_row(name, value)
    console = Console(stderr=True)
    console.print(table)
    if failures:
        errors = Table("job", "code", "message", title="failures")
        for r in failures:
            errors.add_row(_job_name(r), r.error_code or "", one_line(r.error_message or ""))
        console.print(errors)


def _job_name(result: JobResult) -> str:
    where = f" (line {result.line})" if result.line is not None else ""
    return f"{result.id or '?'}{where}"
