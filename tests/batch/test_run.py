"""run_batch against the real local server: faults and retries, audio jobs, resume, exit codes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import soundfile as sf

from tests.speechgen import speech_pcm16
from voicecli.audio.pcm import write_wav_atomic
from voicecli.batch import BatchSummary, is_retryable, read_records, run_batch
from voicecli.errors import ExitCode
from voicecli.protocol.closecodes import classify_close
from voicecli.server import FaultPlan, RunningServer, ServerConfig, start_server
from voicecli.settings import Secret, Settings

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05}


def settings_for(server: RunningServer, **changes: object) -> Settings:
    values: dict[str, object] = {"backend": "gemini", "base_url": server.url,
                                 "response": "text", "reply_timeout_s": 20.0,
                                 "model": "gemini-live-2.5-flash-preview"}
    values.update(changes)
    return Settings.of(**values)


async def fault_server(spec: str, **config: object) -> RunningServer:
    return await start_server(
        ServerConfig(host="127.0.0.1", port=0, pace=0.0, faults=FaultPlan.parse(spec), **config)
    )


@pytest.fixture
async def flaky_server() -> AsyncIterator[RunningServer]:
    server = await fault_server("fail-first=30:1011")
    try:
        yield server
    finally:
        await server.close()


def text_jobs(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "jobs.jsonl"
    lines = [json.dumps({"id": f"q{i:03d}", "text": f"question number {i}"}) for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def records(out: Path) -> list[dict[str, object]]:
    return read_records(out / "results.jsonl")


async def test_hundred_jobs_with_injected_failures_all_complete_once(
    tmp_path: Path, flaky_server: RunningServer
) -> None:
    seen: list[int] = []
    summary = await run_batch(
        settings_for(flaky_server), text_jobs(tmp_path, 100), tmp_path / "out", jobs=8,
        max_attempts=10, on_progress=lambda s, _r: seen.append(s.done), **FAST,
    )
    assert (summary.ok, summary.failed, summary.exit_code) == (100, 0, ExitCode.OK)
    got = records(tmp_path / "out")
    assert Counter(r["id"] for r in got) == {f"q{i:03d}": 1 for i in range(100)}
    assert all(r["status"] == "ok" and r["error"] is None for r in got)
    attempts = [int(r["attempts"]) for r in got]  # type: ignore[call-overload]
    assert sum(a - 1 for a in attempts) == 30  # every injected failure was retried exactly once
    assert summary.retried == sum(a > 1 for a in attempts) > 0
    assert all("question number" in str(r["text"]) for r in got)
    assert all(r["usage"] and r["latency_ms"] is not None for r in got)
    assert seen[0] == 0 and seen[-1] == 100


async def test_rerun_skips_done_jobs_and_redoes_failed_ones(tmp_path: Path) -> None:
    jobs, out = text_jobs(tmp_path, 6), tmp_path / "out"
    server = await fault_server("fail-first=3:1011")
    try:
        first = await run_batch(settings_for(server), jobs, out, jobs=1, max_attempts=1, **FAST)
        assert (first.ok, first.failed, first.exit_code) == (3, 3, ExitCode.NETWORK)
        assert {r.error_code for r in first.results if not r.ok} == {"service_unavailable"}
        second = await run_batch(settings_for(server), jobs, out, jobs=2, **FAST)
    finally:
        await server.close()
    assert (second.skipped, second.ok, second.failed, second.exit_code) == (3, 3, 0, 0)
    got = records(out)
    assert len(got) == 6 and {r["status"] for r in got} == {"ok"}  # old error lines are gone
    third = await run_batch(Settings.of(backend="gemini", base_url="ws://127.0.0.1:9"), jobs, out)
    assert (third.skipped, third.ok, third.failed) == (6, 0, 0)  # nothing left: no connection


async def test_all_attempts_fail_gives_error_records_and_network_exit(tmp_path: Path) -> None:
    server = await fault_server("close-after=1:1011")  # every connection fails after setup
    try:
        summary = await run_batch(settings_for(server), text_jobs(tmp_path, 3), tmp_path / "out",
                                  max_attempts=2, **FAST)
    finally:
        await server.close()
    assert (summary.ok, summary.failed, summary.exit_code) == (0, 3, ExitCode.NETWORK)
    for r in records(tmp_path / "out"):
        assert r["status"] == "error" and r["attempts"] == 2
        assert isinstance(r["error"], dict) and r["error"]["code"] and r["error"]["message"]


async def test_auth_failure_is_not_retried(tmp_path: Path) -> None:
    server = await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0.0,
                                             require_key="the-right-key"))
    try:
        settings = settings_for(server, api_key=Secret("a-wrong-key"))
        summary = await run_batch(settings, text_jobs(tmp_path, 2), tmp_path / "out",
                                  max_attempts=5, **FAST)
    finally:
        await server.close()
    assert summary.exit_code == ExitCode.AUTH
    assert [r.attempts for r in summary.results] == [1, 1]
    assert "a-wrong-key" not in (tmp_path / "out" / "results.jsonl").read_text()


def test_retry_policy_per_error() -> None:
    assert is_retryable(classify_close(1011, "Internal error occurred."))
    assert is_retryable(classify_close(1006, ""))
    assert is_retryable(classify_close(1011, "RESOURCE_EXHAUSTED: You exceeded your quota"))
    assert not is_retryable(classify_close(1007, "API key not valid. Please pass a valid key."))
    assert not is_retryable(classify_close(1007, "Request contains an invalid argument."))
    assert not is_retryable(classify_close(1008, "models/nope is not found for API version"))


async def test_audio_jobs_bad_jobs_and_exit_code(
    tmp_path: Path, local_server: RunningServer
) -> None:
    speech = speech_pcm16("what is the weather like in london today")
    write_wav_atomic(tmp_path / "weather.wav", speech, 16000)
    (tmp_path / "jobs.jsonl").write_text("\n".join([
        '{"id": "spoken", "audio": "weather.wav", "response": "audio"}',
        '{"id": "typed", "text": "Say hello", "response": "audio", "voice": "Kore"}',
        '{"id": "plain", "text": "Say hello", "system": "Be brief."}',
        '{"id": "gone", "audio": "missing.wav"}',
        '{"id": "spoken", "text": "duplicate"}',
    ]) + "\n")
    out = tmp_path / "out"
    summary = await run_batch(settings_for(local_server), tmp_path / "jobs.jsonl", out)
    assert (summary.ok, summary.failed, summary.exit_code) == (3, 2, ExitCode.USAGE)
    by_line = {r["line"]: r for r in records(out)}
    assert "weather" in str(by_line[1]["input_transcript"])
    for line, name in ((1, "spoken"), (2, "typed")):
        assert by_line[line]["audio"] == f"{name}.wav"
        info = sf.info(str(out / f"{name}.wav"))
        assert (info.samplerate, info.channels) == (24000, 1) and info.frames > 2400
    assert by_line[3]["audio"] is None and not (out / "plain.wav").exists()
    assert "missing.wav" in by_line[4]["error"]["message"]  # type: ignore[index]
    assert "duplicate id" in by_line[5]["error"]["message"]  # type: ignore[index]
    assert not list(out.glob(".*part"))


def test_summary_exit_code_is_first_failure_in_input_order() -> None:
    from voicecli.batch import JobResult

    summary = BatchSummary(results=[
        JobResult("a", 1, "ok"),
        JobResult("b", 2, "error", exit_code=ExitCode.REFUSED),
        JobResult("c", 3, "error", exit_code=ExitCode.NETWORK),
    ])
    assert summary.exit_code == ExitCode.REFUSED
    assert BatchSummary(results=[JobResult("a", 1, "ok")]).exit_code == ExitCode.OK
