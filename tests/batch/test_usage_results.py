"""Batch results carry token usage by modality (§4.7), and the summary adds them up."""

from __future__ import annotations

from pathlib import Path

from tests.batch.test_run import records, settings_for
from tests.speechgen import speech_pcm16
from voicecli.audio.pcm import write_wav_atomic
from voicecli.batch import run_batch
from voicecli.cli.batch_cmd import summary_lines
from voicecli.server import RunningServer


async def test_each_result_has_usage_by_modality(
    tmp_path: Path, local_server: RunningServer
) -> None:
    write_wav_atomic(tmp_path / "q.wav", speech_pcm16("what time is it"), 16000)
    (tmp_path / "jobs.jsonl").write_text(
        '{"id": "spoken", "audio": "q.wav", "response": "audio"}\n'
        '{"id": "typed", "text": "Say hello"}\n')
    out = tmp_path / "out"
    summary = await run_batch(settings_for(local_server), tmp_path / "jobs.jsonl", out)
    usage = {r["id"]: r["usage"] for r in records(out)}
    assert usage["spoken"]["prompt_by_modality"]["audio"] > 0
    assert usage["spoken"]["response_by_modality"] == {"audio": usage["spoken"][
        "response_tokens"]}
    assert usage["typed"]["response_by_modality"] == {"text": usage["typed"]["response_tokens"]}
    rows = dict(summary_lines(summary, out))
    total = usage["spoken"]["total_tokens"] + usage["typed"]["total_tokens"]
    assert rows["tokens"].endswith(f"total {total}") and "audio" in rows["tokens"]
