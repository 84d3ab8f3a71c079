"""What a conversation leaves behind: `--record DIR` and `--transcript FILE`.

Everything is written as it happens and is complete after Ctrl-C, a crash or kill -9: the WAVs
have a valid header after every write (WavWriter), and the transcript and event log are appended
a whole turn or event at a time, flushed at once.

    DIR/mic.wav         16 kHz mono: what the microphone captured, on the session clock
    DIR/speaker.wav     24 kHz mono: the replies, placed on the session clock as they arrived
    DIR/transcript.md   the conversation, one turn at a time
    DIR/events.jsonl    the NDJSON event stream (README "NDJSON events"), each line with `t`:
                        seconds on the session clock; the first line gives the clock's origin
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from voicecli.audio.pcm import IN_RATE, OUT_RATE, WavWriter
from voicecli.client.ndjson import dumps
from voicecli.errors import UsageError
from voicecli.ui.state import TurnView

MAX_GAP_S = 3600.0  # never pad more than this much silence in one go


class TranscriptFile:
    """A Markdown transcript, appended one finished turn at a time."""

    def __init__(self, path: Path, title: str) -> None:
        self.path = path
        self._file = _open_append(path)
        self._write(f"# {title}\n\n")

    def add_turn(self, turn: TurnView, *, partial: bool = False) -> None:
        if turn.is_empty():
            return
        self._write(format_turn(turn, partial=partial) + "\n")

    def close(self) -> None:
        self._file.close()

    def _write(self, text: str) -> None:
        self._file.write(text)
        self._file.flush()
        os.fsync(self._file.fileno())


def format_turn(turn: TurnView, *, partial: bool = False) -> str:
    lines = []
    if turn.user:
        who = "You (typed)" if turn.typed else "You"
        lines.append(f"**{who}:** {turn.user}")
    for tool in turn.tools:
        lines.append(f"- tool `{tool.name}({tool.args})` → {tool.result or '(no result)'}")
    for label, body in turn.code:  # code the model ran on the service, and its result
        lines.append(f"{label}:\n\n```\n{body.rstrip()}\n```")
    if turn.model:
        lines.append(f"**Gemini:** {_model_text(turn)}")
    if turn.sources:  # Google Search grounding, numbered as on screen
        lines.append("\n".join(f"[{n}] {title} — <{uri}>"
                               for n, (title, uri) in enumerate(turn.sources, start=1)))
    if turn.connection_lost:
        lines.append("*(the connection was lost before the reply was complete)*")
    elif turn.reply_cut:
        lines.append("*(the connection was lost mid-reply; the question was asked again and "
                     "the reply above is the whole new one)*")
    if partial:
        lines.append("*(the conversation ended during this turn)*")
    return "\n\n".join(lines) + "\n"


def _model_text(turn: TurnView) -> str:
    if not turn.interrupted:
        return turn.model
    if turn.cut_at is None:
        return f"{turn.model} *(interrupted)*"
    heard, rest = turn.model[: turn.cut_at].rstrip(), turn.model[turn.cut_at :].strip()
    unheard = f" ~~{rest}~~" if rest else ""
    return f"{heard} *(interrupted)*{unheard}"


class Recording:
    """`--record DIR`: the two audio tracks, the transcript and the event log."""

    def __init__(self, directory: Path, title: str) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create --record {directory}: {exc.strerror}") from exc
        self.directory = directory
        self.t0 = time.monotonic()
        self.mic = WavWriter(directory / "mic.wav", IN_RATE)
        self.speaker = WavWriter(directory / "speaker.wav", OUT_RATE)
        self.transcript = TranscriptFile(directory / "transcript.md", title)
        self._events = _open_append(directory / "events.jsonl")
        self.add_event({"type": "recording", "started": datetime.now().astimezone().isoformat(),
                        "monotonic": round(self.t0, 6)})

    def add_mic(self, pcm16: bytes, at: float) -> None:
        # the mic is one continuous stream: pad only a real gap, not read-time jitter
        _place(self.mic, pcm16, at - self.t0, slack_s=0.5)

    def add_speaker(self, pcm16: bytes, at: float) -> None:
        _place(self.speaker, pcm16, at - self.t0)

    def add_event(self, obj: dict[str, Any]) -> None:
        timed = {**obj, "t": round(time.monotonic() - self.t0, 4)}
        self._events.write(dumps(timed) + "\n")
        self._events.flush()

    def close(self) -> None:
        self.mic.close()
        self.speaker.close()
        self.transcript.close()
        self._events.close()


def _place(writer: WavWriter, pcm16: bytes, at_s: float, slack_s: float = 0.0) -> None:
    """Write `pcm16` no earlier than `at_s` on the session clock: pad silence up to it.

    Audio that arrives faster than real time (replies come in bursts) is laid end to end after
    what is already there.
    """
    due = int(min(max(at_s, 0.0), MAX_GAP_S) * writer.rate)
    if due > writer.frames_written + slack_s * writer.rate:
        writer.write(bytes(2 * (due - writer.frames_written)))
    writer.write(pcm16)


def _open_append(path: Path) -> Any:
    try:
        return open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by the owner
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
