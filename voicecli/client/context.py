"""`--context FILE`: earlier turns to start a session with (sent as clientContent, §3.2).

Three formats, chosen by the file's extension or, failing that, its first character:

- JSON (``.json``, or text starting with ``[`` / ``{``): a list of turns, or ``{"turns": [...]}``.
- JSONL (``.jsonl``, ``.ndjson``): one turn per line; blank lines skipped.
- Markdown-ish (anything else, e.g. the ``--transcript`` file `talk` writes): lines starting
  ``User:``/``You:`` or ``Model:``/``Gemini:`` (optionally bold, ``**You:**``) start a turn;
  following lines continue it. Headings (``#``), notes in ``*(…)*``, struck-out text
  (``~~…~~``, words an interrupted reply never said) and ``- tool`` lines are skipped.

A turn is ``{"role": "user"|"model", "text": "…"}``, a Live Content (``{"role", "parts":
[{"text"}]}``), or a `talk --json` ``{"type": "turn", "user": …, "model": …}`` event (other event
types are skipped, so a whole ``events.jsonl`` works). ``assistant`` means ``model``.
Every mistake is one line naming the file and the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from voicecli.errors import InputFileError
from voicecli.protocol.messages import Content, Part

MAX_CONTEXT_CHARS = 1_000_000  # ~250k tokens: beyond any Live model's window (§5.7)
_ROLES = {"user": "user", "you": "user", "model": "model", "gemini": "model",
          "assistant": "model"}
_SPEAKER = re.compile(r"^\s*(?:\*\*)?\s*(user|you|model|gemini|assistant)"
                      r"(?:\s*\(typed\))?\s*:\s*(?:\*\*)?\s*(.*)$", re.IGNORECASE)
_NOTE = re.compile(r"\*\([^)]*\)\*")
_STRUCK = re.compile(r"~~.*?~~")


def load_context(path: Path) -> list[Content]:
    """The turns in `path`, in order; raises InputFileError (one line) for anything wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputFileError(f"cannot read --context {path}: {reason}") from None
    if len(text) > MAX_CONTEXT_CHARS:
        raise InputFileError(f"--context {path} is too long ({len(text)} characters; at most "
                             f"{MAX_CONTEXT_CHARS})")
    turns = parse_context(text, _format(path, text), str(path))
    if not turns:
        raise InputFileError(f"--context {path} holds no turns (see README: --context formats)")
    return turns


def parse_context(text: str, fmt: str, name: str = "context") -> list[Content]:
    """`fmt` is json, jsonl or markdown."""
    if fmt == "json":
        return _from_json(text, name)
    if fmt == "jsonl":
        return _from_jsonl(text, name)
    return _from_markdown(text)


def _format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".md", ".markdown"):
        return "markdown"
    first = text.lstrip()[:1]
    if first == "[":
        return "json"
    if first == "{":
        return "json" if _is_one_document(text) else "jsonl"
    return "markdown"


def _is_one_document(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _from_json(text: str, name: str) -> list[Content]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"--context {name}: not valid JSON (line {exc.lineno}: "
                             f"{exc.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("turns"), list):
        data = data["turns"]
    if not isinstance(data, list):
        raise InputFileError(f"--context {name}: expected a list of turns or {{\"turns\": [...]}}")
    turns: list[Content] = []
    for index, item in enumerate(data, 1):
        turns += _turns_of(item, f"--context {name}: turn {index}")
    return turns


def _from_jsonl(text: str, name: str) -> list[Content]:
    turns: list[Content] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"--context {name}: line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{where}: not valid JSON ({exc.msg})") from None
        turns += _turns_of(item, where)
    return turns


def _turns_of(item: Any, where: str) -> list[Content]:
    """One JSON turn (three shapes, see the module docstring); [] for other NDJSON events."""
    if not isinstance(item, dict):
        raise InputFileError(f"{where}: a turn is an object with role and text")
    if "type" in item:
        if item["type"] != "turn":
            return []  # other talk --json events
        return [c for c in (_content("user", item.get("user"), where),
                            _content("model", item.get("model"), where)) if c is not None]
    role = _ROLES.get(str(item.get("role", "")).lower())
    if role is None:
        raise InputFileError(f"{where}: role must be user or model, not {item.get('role')!r}")
    text = _parts_text(item["parts"], where) if "parts" in item else item.get("text")
    content = _content(role, text, where)
    return [content] if content is not None else []


def _parts_text(parts: Any, where: str) -> str:
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise InputFileError(f"{where}: parts must be a list of {{\"text\": …}} objects")
    texts = [p["text"] for p in parts if isinstance(p.get("text"), str)]
    if len(texts) != len(parts):
        raise InputFileError(f"{where}: only text parts can seed a conversation")
    return "\n".join(texts)


def _content(role: str, text: Any, where: str) -> Content | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise InputFileError(f"{where}: text must be a string")
    return Content(role=role, parts=[Part(text=text.strip())])


def _from_markdown(text: str) -> list[Content]:
    turns: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("#", "- tool ")):
            continue
        match = _SPEAKER.match(line)
        if match:
            turns.append((_ROLES[match.group(1).lower()], [_clean(match.group(2))]))
        elif turns:
            turns[-1][1].append(_clean(line))
    out = []
    for role, lines in turns:
        body = "\n".join(lines).strip()
        body = re.sub(r"\n{3,}", "\n\n", body)
        if body:
            out.append(Content(role=role, parts=[Part(text=body)]))
    return out


def _clean(line: str) -> str:
    return _STRUCK.sub("", _NOTE.sub("", line)).rstrip()
