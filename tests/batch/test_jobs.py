"""Reading jobs: every kind of bad job becomes a BadJob naming its line; the rest still run."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicecli.audio.pcm import write_wav_atomic
from voicecli.batch import load_jobs
from voicecli.errors import InputFileError


def write_jobs(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_good_jobs_with_overrides_and_relative_audio(tmp_path: Path) -> None:
    write_wav_atomic(tmp_path / "q.wav", b"\0\1" * 1600, 16000)
    path = write_jobs(
        tmp_path,
        '{"id": "t1", "text": "hello", "system": "be brief", "voice": "Kore"}',
        "",
        "# a comment",
        '{"id": "a1", "audio": "q.wav", "response": "audio", "model": "gemini-3.8-live"}',
        '{"id": 7, "text": "numbers are ids too"}',
    )
    jobs = load_jobs(path)
    assert jobs.bad == []
    assert [(j.id, j.line) for j in jobs.jobs] == [("t1", 1), ("a1", 4), ("7", 5)]
    assert jobs.jobs[0].overrides == {"system": "be brief", "voice": "Kore"}
    assert jobs.jobs[1].audio == (tmp_path / "q.wav").resolve()
    assert jobs.jobs[1].overrides == {"response": "audio", "model": "gemini-3.8-live"}


def test_every_bad_job_kind_names_its_line(tmp_path: Path) -> None:
    path = write_jobs(
        tmp_path,
        '{"id": "ok", "text": "fine"}',
        "{not json",
        '["a list"]',
        '{"text": "no id"}',
        '{"id": "both", "text": "x", "audio": "q.wav"}',
        '{"id": "neither"}',
        '{"id": "missing", "audio": "nowhere.wav"}',
        '{"id": "ok", "text": "duplicate"}',
        '{"id": "../evil", "text": "unsafe id"}',
        '{"id": "typo", "txt": "unknown key"}',
        '{"id": "resp", "text": "x", "response": "video"}',
        '{"id": "empty", "text": "  "}',
    )
    jobs = load_jobs(path)
    assert [j.id for j in jobs.jobs] == ["ok"]
    by_line = {b.line: b for b in jobs.bad}
    assert sorted(by_line) == list(range(2, 13))
    expected = {
        2: "not valid JSON", 3: "JSON object", 4: "missing \"id\"", 5: "exactly one",
        6: "exactly one", 7: "audio file not found", 8: "duplicate id 'ok' (first at line 1)",
        9: "safe file name", 10: "unknown key", 11: "\"response\"", 12: "non-empty",
    }
    for line, fragment in expected.items():
        assert by_line[line].message.startswith(f"line {line}: "), by_line[line]
        assert fragment in by_line[line].message, by_line[line]
    assert by_line[8].id == "ok" and by_line[4].id is None


def test_directory_is_one_audio_job_per_file(tmp_path: Path) -> None:
    for name in ("b.wav", "a.wav", "a.flac", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    jobs = load_jobs(tmp_path)
    assert [(j.id, j.audio.name if j.audio else None) for j in jobs.jobs] == [
        ("a", "a.flac"), ("b", "b.wav"),
    ]
    assert len(jobs.bad) == 1 and "duplicate id 'a'" in jobs.bad[0].message


def test_missing_jobs_file_and_empty_directory_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such jobs file"):
        load_jobs(tmp_path / "nope.jsonl")
    with pytest.raises(InputFileError, match="no audio files"):
        load_jobs(tmp_path)
