"""`run_batch`: every job of a jobs file, `jobs` at a time, retried, resumable.

    summary = asyncio.run(run_batch(load_settings(), Path("jobs.jsonl"), Path("out")))
    print(summary.ok, summary.failed, summary.exit_code)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voicecli.ask import Answer, Question
from voicecli.audio.pcm import load_audio
from voicecli.batch.attempt import attempt, job_settings, wants_audio
from voicecli.batch.jobs import BadJob, Job, load_jobs
from voicecli.batch.results import JobResult, ResultLog
from voicecli.batch.retry import error_code, is_retryable, retry_delay
from voicecli.client.backends import open_settings
from voicecli.client.ndjson import usage_json
from voicecli.errors import ExitCode, UsageError, VoicecliError
from voicecli.settings import Settings
from voicecli.tools import ToolUse, session_tools

Progress = Callable[["BatchSummary", JobResult | None], None]


@dataclass
class BatchSummary:
    total: int = 0  # jobs in the input, including bad ones and those already done
    skipped: int = 0  # already ok in results.jsonl from an earlier run
    ok: int = 0
    failed: int = 0
    retried: int = 0  # jobs that needed more than one attempt
    elapsed_s: float = 0.0
    results: list[JobResult] = field(default_factory=list)  # this run's outcomes, input order

    @property
    def done(self) -> int:
        return self.skipped + self.ok + self.failed

    @property
    def exit_code(self) -> int:
        """0 when every job is ok; else the exit code of the first failure in input order."""
        failures = [r for r in self.results if not r.ok]
        return failures[0].exit_code if failures else ExitCode.OK


@dataclass
class _Run:
    settings: Settings
    out_dir: Path
    log: ResultLog
    summary: BatchSummary
    max_attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    on_progress: Progress | None
    tools: ToolUse | None = None

    def record(self, result: JobResult) -> None:
        self.log.append(result)
        if result.ok:
            self.summary.ok += 1
        else:
            self.summary.failed += 1
        self.summary.retried += result.attempts > 1
        if self.on_progress is not None:
            self.on_progress(self.summary, result)


async def run_batch(
    settings: Settings,
    jobs_path: Path,
    out_dir: Path,
    *,
    jobs: int = 4,
    max_attempts: int = 3,
    on_progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    backoff_base_s: float = 0.5,
    backoff_cap_s: float = 8.0,
    tools: ToolUse | None = None,
) -> BatchSummary:
    """Run every job not already ok in `out_dir/results.jsonl`; never raises for a job's failure.
    `tools` are declared in every job; only allowed ones run (nobody is there to ask)."""
    if jobs < 1 or max_attempts < 1:
        raise UsageError("--jobs and --max-attempts must be at least 1")
    started = time.monotonic()
    job_list = load_jobs(jobs_path)
    summary = BatchSummary(total=job_list.total)
    with ResultLog(out_dir) as log:
        _remove_stale_parts(out_dir)
        todo = [job for job in job_list.jobs if job.id not in log.done]
        summary.skipped = len(job_list.jobs) - len(todo)
        async with contextlib.AsyncExitStack() as stack:
            if tools is not None and tools.mcp_servers and todo:  # started once for all jobs
                tools = await stack.enter_async_context(session_tools(tools, notify))
            base = await stack.enter_async_context(
                open_settings(settings, notify if todo else None, pace=0))
            run = _Run(base, out_dir, log, summary, max_attempts, backoff_base_s, backoff_cap_s,
                       on_progress, tools)
            if on_progress is not None:
                on_progress(summary, None)
            bad = [_bad_result(b) for b in job_list.bad]
            for result in bad:
                run.record(result)
            done = await _run_all(run, todo, jobs)
    summary.results = sorted([*bad, *done], key=_input_order)
    summary.elapsed_s = time.monotonic() - started
    return summary


def _remove_stale_parts(out_dir: Path) -> None:
    """Reply WAVs a killed run was still writing (`.<id>.wav.<pid>.part`); never read."""
    for part in out_dir.glob(".*.wav.*.part"):
        part.unlink(missing_ok=True)


def _input_order(result: JobResult) -> tuple[int, str]:
    return (result.line if result.line is not None else 0, result.id or "")


async def _run_all(run: _Run, todo: list[Job], jobs: int) -> list[JobResult]:
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for job in todo:
        queue.put_nowait(job)
    results: list[JobResult] = []

    async def worker() -> None:
        while not queue.empty():
            job = queue.get_nowait()
            result = await _run_job(run, job)
            run.record(result)
            results.append(result)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(jobs, len(todo))):
            group.create_task(worker())
    return results


async def _run_job(run: _Run, job: Job) -> JobResult:
    attempts = 0
    while True:
        attempts += 1
        try:
            answer, wav = await _attempt(run, job)
        except Exception as error:  # noqa: BLE001 - every failure becomes the job's record
            if attempts < run.max_attempts and is_retryable(error):
                await asyncio.sleep(retry_delay(attempts, run.backoff_base_s, run.backoff_cap_s))
                continue
            return _error_result(job, error, attempts)
        return _ok_result(job, answer, wav, attempts)


async def _attempt(run: _Run, job: Job) -> tuple[Answer, str | None]:
    settings = job_settings(run.settings, job)
    question = await _question(job)
    wav = f"{job.id}.wav" if wants_audio(settings) else None
    answer = await attempt(settings, question, run.out_dir / wav if wav else None, run.tools)
    return answer, wav


async def _question(job: Job) -> Question:
    if job.text is not None:
        return Question(text=job.text)
    assert job.audio is not None
    # one question: at most one audio-only session of audio (§5.7), refused from the header
    samples = await asyncio.to_thread(load_audio, str(job.audio), max_seconds=15 * 60,
                                      what="one question")
    return Question(audio_pcm16=samples.tobytes())


def _ok_result(job: Job, answer: Answer, wav: str | None, attempts: int) -> JobResult:
    return JobResult(
        id=job.id, line=job.line, status="ok", text=answer.text,
        input_transcript=answer.input_transcript, audio=wav, usage=usage_json(answer.usage),
        latency_ms=answer.latency_ms, attempts=attempts, tools=answer.tools,
        sources=[s.to_json() for s in answer.sources.sources], code=answer.code,
    )


def _error_result(job: Job, error: BaseException, attempts: int) -> JobResult:
    exit_code = error.exit_code if isinstance(error, VoicecliError) else ExitCode.UNEXPECTED
    message = str(error) or error.__class__.__name__
    if not isinstance(error, VoicecliError):
        message = f"unexpected {error.__class__.__name__}: {message}"
    return JobResult(
        id=job.id, line=job.line, status="error", attempts=attempts,
        error_code=error_code(error), error_message=message, exit_code=exit_code,
    )


def _bad_result(bad: BadJob) -> JobResult:
    return JobResult(
        id=bad.id, line=bad.line, status="error", attempts=0, error_code="bad_job",
        error_message=bad.message, exit_code=ExitCode.USAGE,
    )
