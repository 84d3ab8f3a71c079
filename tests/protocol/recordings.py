"""Reader for the real Live recordings in tests/fixtures/live-recordings (format: its README).

    >N {json}     client → server, one line
    <N {json}     server → client, pretty-printed over several lines, ended by the next entry
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ENTRY = re.compile(r"^([<>])(\d+) (.*)$")


def recordings_dir() -> Path:
    """The in-repo copy (Apache-2.0 data from googleapis/js-genai; provenance in its README)."""
    return Path(__file__).resolve().parents[1] / "fixtures" / "live-recordings"


@dataclass(frozen=True)
class Frame:
    from_client: bool
    size: int  # the byte count written in the log
    text: str


@dataclass(frozen=True)
class Recording:
    name: str
    frames: tuple[Frame, ...]

    @property
    def client_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.from_client]

    @property
    def server_frames(self) -> list[Frame]:
        return [f for f in self.frames if not f.from_client]

    @property
    def is_vertex(self) -> bool:
        return self.name.startswith("live_Vertex_")


def parse_recording(text: str) -> list[Frame]:
    frames: list[Frame] = []
    current: tuple[str, int, list[str]] | None = None
    for line in text.split("\n"):
        match = _ENTRY.match(line)
        if match:
            if current is not None:
                frames.append(_frame(*current))
            current = (match[1], int(match[2]), [match[3]])
        elif current is not None:
            current[2].append(line)
    if current is not None:
        frames.append(_frame(*current))
    return frames


def _frame(direction: str, size: int, lines: list[str]) -> Frame:
    return Frame(direction == ">", size, "\n".join(lines).strip("\n"))


def load_recordings() -> list[Recording]:
    paths = sorted(recordings_dir().glob("*.websocket.log"))
    return [load(p.name.removesuffix(".websocket.log")) for p in paths]


def load(name: str) -> Recording:
    path = recordings_dir() / f"{name}.websocket.log"
    return Recording(name, tuple(parse_recording(path.read_text("utf-8"))))
