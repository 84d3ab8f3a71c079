"""kill -9 in the middle of a batch, then rerun: every job exactly once, no half line or WAV."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import soundfile as sf

from tests.cli.test_cli import clean_env
from voicecli.server import FaultPlan, ServerConfig, start_server

JOBS = 40


async def run_cli(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voicecli.batch", *args, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )


async def test_kill_9_mid_run_then_rerun_finishes_every_job_once(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(
        json.dumps({"id": f"j{i:02d}", "text": f"reply number {i}"}) + "\n" for i in range(JOBS)
    ))
    out = tmp_path / "out"
    server = await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0.0,
                                             faults=FaultPlan.parse("delay-ms=15")))
    args = (str(jobs), "--out", str(out), "--jobs", "4", "--response", "audio",
            "--base-url", server.url, "--backend", "gemini", "--model", "gemini-3.8-live")
    env = clean_env(tmp_path)
    try:
        victim = await run_cli(*args, env=env)
        results = out / "results.jsonl"
        while not results.exists() or results.read_bytes().count(b"\n") < 5:
            assert victim.returncode is None, await victim.stderr.read()  # type: ignore[union-attr]
            await asyncio.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        data = results.read_bytes()
        assert data.endswith(b"\n") and data.count(b"\n") < JOBS  # killed mid-run, whole lines
        rerun = await run_cli(*args, env=env)
        _, err = await rerun.communicate()
    finally:
        await server.close()
    assert rerun.returncode == 0, err.decode()
    lines = results.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert Counter(r["id"] for r in records) == {f"j{i:02d}": 1 for i in range(JOBS)}
    for r in records:
        assert r["status"] == "ok" and r["audio"] == f"{r['id']}.wav"
        info = sf.info(str(out / r["audio"]))
        assert info.samplerate == 24000 and info.frames > 0
    assert not [p for p in os.listdir(out) if p.endswith((".part", ".tmp"))]
