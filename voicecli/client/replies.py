"""What the service sends back, kept: the reply audio as a WAV that survives a crash, and the
text of a server error frame (ask, translate, talk, transcribe).
"""

from __future__ import annotations

import os
from pathlib import Path

from voicecli.audio.pcm import OUT_RATE, WavWriter
from voicecli.errors import UsageError
from voicecli.protocol import events as ev


def error_text(event: ev.ServerErrorPayload) -> str:
    """§4.8: a frame with none of the known keys may be an error object {code, message}."""
    payload = event.payload.get("error", event.payload)
    if isinstance(payload, dict):
        return " ".join(str(payload.get(k, "")) for k in ("code", "message")).strip() or "unknown"
    return str(payload)[:200]


class ReplyFile:
    """Write the reply to `<path>.part` as it arrives; rename into place when done or stopped.

    The WAV header is kept valid after every write, so even a killed process leaves a playable
    `.part` file with everything received.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")

    def __enter__(self) -> WavWriter:
        try:
            self.writer = WavWriter(self.part, OUT_RATE)
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        return self.writer

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.writer.close()
        if exc_type is not None and self.writer.frames_written == 0:
            self.part.unlink(missing_ok=True)  # nothing came: an earlier reply stays as it was
            return
        os.replace(self.part, self.path)
