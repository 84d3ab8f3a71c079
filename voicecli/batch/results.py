"""`results.jsonl`: one line per job outcome, written so that a crash never leaves half a line.

Every line is appended with a single `os.write` on an `O_APPEND` descriptor, then `fsync`ed.
On start the file is rewritten (temp file, fsync, `os.replace`) to keep only the `ok` records, so
after a rerun it holds the latest outcome of every job, and a trailing partial line (which this
writer never leaves, but a copy or another tool might) is dropped.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.errors import ExitCode

RESULTS_NAME = "results.jsonl"


@dataclass
class JobResult:
    id: str | None
    line: int | None
    status: str  # ok | error
    text: str = ""
    input_transcript: str = ""
    audio: str | None = None  # reply WAV, relative to the output directory
    usage: dict[str, Any] | None = None
    latency_ms: float | None = None
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    exit_code: int = ExitCode.OK  # not written: decides the batch's exit code
    extra: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)  # tool_result records
    sources: list[dict[str, str]] = field(default_factory=list)  # grounding: title, uri
    code: list[dict[str, Any]] = field(default_factory=list)  # executable_code, …_result

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        error = None
        if self.error_code is not None:
            error = {"code": self.error_code, "message": self.error_message or ""}
        latency = None if self.latency_ms is None else round(self.latency_ms, 1)
        record: dict[str, Any] = {
            "id": self.id, "line": self.line, "status": self.status, "text": self.text,
            "input_transcript": self.input_transcript, "audio": self.audio, "usage": self.usage,
            "latency_ms": latency, "attempts": self.attempts, "error": error,
        }
        for name in ("tools", "sources", "code"):  # only when the reply had them
            if getattr(self, name):
                record[name] = getattr(self, name)
        return record


def encode_line(result: JobResult) -> bytes:
    text = json.dumps(result.to_json(), ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


def read_records(path: Path) -> list[dict[str, Any]]:
    """The complete records in a results file; a trailing partial or broken line is ignored."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    records = []
    for raw in lines[:-1]:  # the piece after the last newline is partial (or empty)
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


class ResultLog:
    """The results file of one output directory: which jobs are done, and appending outcomes."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / RESULTS_NAME
        out_dir.mkdir(parents=True, exist_ok=True)
        kept = [r for r in read_records(self.path) if r.get("status") == "ok"]
        self.done: set[str] = {str(r["id"]) for r in kept if r.get("id") is not None}
        _rewrite_atomic(self.path, kept)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, result: JobResult) -> None:
        data = encode_line(result)
        written = os.write(self._fd, data)
        if written != len(data):  # regular files never write short unless the disk is full
            raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")
        os.fsync(self._fd)
        if result.ok and result.id is not None:
            self.done.add(result.id)

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _rewrite_atomic(path: Path, records: list[dict[str, Any]]) -> None:
    body = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(body.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
