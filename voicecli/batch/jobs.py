"""Reading the jobs: a JSONL file (one job per line) or a directory of audio files.

A job line is `{"id": "...", "text": "..."}` or `{"id": "...", "audio": "question.wav"}` (relative
to the jobs file), with optional `system`, `voice`, `model` and `response` (`text` | `audio`),
and any of the model options under their config-file names (`language`, `temperature`,
`max_output_tokens`, `thinking_budget`, `thinking_level`, `show_thoughts`, `media_resolution`,
`turn_coverage`, `affective_dialog`, `proactive_audio`), checked when the job runs.
A line that cannot become a job becomes a `BadJob` naming its line number; the rest still run.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.errors import InputFileError
from voicecli.model_options import ModelOptions

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3"})
OPTIONAL_KEYS = ("system", "voice", "model", "response")
MODEL_OPTION_KEYS = tuple(item.name for item in dataclasses.fields(ModelOptions)
                          if item.name not in OPTIONAL_KEYS)  # response is one of both
KNOWN_KEYS = frozenset({"id", "text", "audio", *OPTIONAL_KEYS, *MODEL_OPTION_KEYS})
RESPONSES = ("text", "audio", "auto")
#: Ids name the reply WAV (`<id>.wav`), so they must be safe file names.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Job:
    id: str
    line: int | None  # 1-based line in the jobs file; None for a directory input
    text: str | None = None
    audio: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # system, voice, … model options


@dataclass(frozen=True)
class BadJob:
    """A job that cannot run; it becomes an error record (code `bad_job`, exit code 2)."""

    id: str | None
    line: int | None
    message: str


@dataclass
class JobList:
    jobs: list[Job] = field(default_factory=list)
    bad: list[BadJob] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.jobs) + len(self.bad)


def load_jobs(source: Path) -> JobList:
    """The jobs in a JSONL file or a directory of audio files (one audio job per file)."""
    if source.is_dir():
        return _dedupe(_directory_jobs(source))
    try:
        text = source.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is no job
    except FileNotFoundError:
        raise InputFileError(f"{source}: no such jobs file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{source}: cannot read the jobs file ({exc})") from None
    base = source.resolve().parent
    items = [_parse_line(raw, number, base) for number, raw in enumerate(text.splitlines(), 1)]
    return _dedupe([item for item in items if item is not None])


def _directory_jobs(folder: Path) -> list[Job | BadJob]:
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    )
    if not files:
        raise InputFileError(f"{folder}: no audio files (.wav, .flac, .ogg, .mp3) in it")
    return [_check_id(p.stem, None) or Job(id=p.stem, line=None, audio=p) for p in files]


def _parse_line(raw: str, number: int, base: Path) -> Job | BadJob | None:
    if not raw.strip() or raw.lstrip().startswith("#"):
        return None
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return BadJob(None, number, f"line {number}: not valid JSON ({exc.msg})")
    if not isinstance(obj, dict):
        return BadJob(None, number, f"line {number}: a job must be a JSON object")
    return _job_from(obj, number, base)


def _job_from(obj: dict[str, Any], number: int, base: Path) -> Job | BadJob:
    raw_id = obj.get("id")
    job_id = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
    if job_id is None:
        return BadJob(None, number, f"line {number}: missing \"id\" (a string)")
    problem = _check_id(job_id, number) or _check_fields(obj, job_id, number)
    if problem is not None:
        return problem
    overrides: dict[str, Any] = {k: str(obj[k]) for k in OPTIONAL_KEYS if obj.get(k) is not None}
    overrides.update({k: obj[k] for k in MODEL_OPTION_KEYS if obj.get(k) is not None})
    audio = obj.get("audio")
    path = (base / audio) if isinstance(audio, str) else None
    if path is not None and not path.is_file():
        return BadJob(job_id, number, f"line {number}: audio file not found: {audio}")
    return Job(id=job_id, line=number, text=obj.get("text"), audio=path, overrides=overrides)


def _check_id(job_id: str, number: int | None) -> BadJob | None:
    if _ID_RE.fullmatch(job_id):
        return None
    return BadJob(job_id, number, f"{_where(number)}id {job_id!r} is not a safe file name "
                  "(letters, digits, '.', '_', '-'; at most 128)")


def _check_fields(obj: dict[str, Any], job_id: str, number: int) -> BadJob | None:
    unknown = sorted(set(obj) - KNOWN_KEYS)
    has_text, has_audio = obj.get("text") is not None, obj.get("audio") is not None
    message = None
    if unknown:
        message = f"unknown key(s) {', '.join(unknown)}"
    elif has_text == has_audio:
        message = "a job needs exactly one of \"text\" and \"audio\""
    elif has_text and (not isinstance(obj["text"], str) or not obj["text"].strip()):
        message = "\"text\" must be a non-empty string"
    elif has_audio and (not isinstance(obj["audio"], str) or not obj["audio"]):
        message = "\"audio\" must be a file name"
    elif obj.get("response") is not None and obj["response"] not in RESPONSES:
        message = f"\"response\" must be text or audio, not {obj['response']!r}"
    elif any(obj.get(k) is not None and not isinstance(obj[k], str) for k in OPTIONAL_KEYS):
        message = "system, voice, model and response must be strings"
    elif any(isinstance(obj.get(k), dict | list) for k in MODEL_OPTION_KEYS):
        message = "model options must be strings, numbers or true/false"
    return None if message is None else BadJob(job_id, number, f"line {number}: {message}")


def _dedupe(items: list[Job | BadJob]) -> JobList:
    """Later jobs reusing an id become bad jobs; the first one with the id runs."""
    out = JobList()
    first_line: dict[str, int | None] = {}
    for item in items:
        if isinstance(item, BadJob):
            out.bad.append(item)
        elif item.id in first_line:
            seen = first_line[item.id]
            where = f"line {seen}" if seen is not None else "another file"
            message = f"{_where(item.line)}duplicate id {item.id!r} (first at {where})"
            out.bad.append(BadJob(item.id, item.line, message))
        else:
            first_line[item.id] = item.line
            out.jobs.append(item)
    return out


def _where(number: int | None) -> str:
    return f"line {number}: " if number is not None else ""
