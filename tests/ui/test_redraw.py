"""The live view repaints only when what it shows changed (render.frame_key)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import pytest
from rich.console import Console

from voicecli.ui.live import LiveView
from voicecli.ui.render import frame_key, render
from voicecli.ui.state import Status, ToolCallView, TurnView, ViewState


def text_of(state: ViewState) -> str:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None,
                      _environ={})
    console.print(render(state))
    return console.file.getvalue()  # type: ignore[attr-defined]


def busy_state() -> ViewState:
    state = ViewState(status=Status.SPEAKING, where="model · local engine", mic_dbfs=-30.0)
    state.turn = TurnView(user="hi", model="Hello there.")
    return state


CHANGES: dict[str, Callable[[ViewState], None]] = {
    "status": lambda s: setattr(s, "status", Status.LISTENING),
    "meter": lambda s: setattr(s, "mic_dbfs", -10.0),
    "muted": lambda s: setattr(s, "muted", True),
    "typing": lambda s: setattr(s, "typing", "abc"),
    "confirm": lambda s: setattr(s, "confirm", "ls()"),
    "notice": lambda s: setattr(s, "notice", "reconnected"),
    "latency": lambda s: setattr(s, "last_latency_ms", 321.0),
    "underruns": lambda s: setattr(s.counters, "underruns", 2),
    "video frames": lambda s: (setattr(s, "video", "camera 0"), setattr(s, "video_frames", 3)),
    "reply words": lambda s: setattr(s.turn, "model", "Hello there, friend."),
    "interim words": lambda s: setattr(s.turn, "user_interim", "and"),
    "interrupted": lambda s: (setattr(s.turn, "interrupted", True),
                              setattr(s.turn, "cut_at", 5)),
    "tool result": lambda s: s.turn.tools.append(ToolCallView("ls", "", "3 files")),
    "sources": lambda s: s.turn.sources.append(("Docs", "https://example.org")),
    "turn latency": lambda s: setattr(s.turn, "latency_ms", 250.0),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_every_visible_change_changes_the_frame_key(name: str) -> None:
    before = busy_state()
    after = busy_state()
    CHANGES[name](after)
    assert text_of(after) != text_of(before)  # the change is on screen...
    assert frame_key(after) != frame_key(before)  # ...so the view repaints


def test_a_level_within_the_same_meter_cell_is_the_same_frame() -> None:
    a, b = busy_state(), busy_state()
    b.mic_dbfs = -30.4
    assert text_of(a) == text_of(b)
    assert frame_key(a) == frame_key(b)


async def test_a_still_screen_is_drawn_once_and_a_change_is_drawn_at_the_next_tick() -> None:
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None,
                      _environ={})
    state = busy_state()
    with LiveView(console, hz=50.0) as view:
        task = asyncio.create_task(view.run(state))
        await asyncio.sleep(0.3)  # ~15 ticks
        assert view.frames == 1
        state.turn.model += " More."
        await asyncio.sleep(0.1)
        assert view.frames == 2
        state.turn = TurnView(user="next")  # a finished turn goes to the scrollback
        state.finished.append(TurnView(user="hi", model="Hello there. More."))
        await asyncio.sleep(0.1)
        task.cancel()
    assert view.frames == 3
    assert "Hello there. More." in console.file.getvalue()  # type: ignore[attr-defined]
