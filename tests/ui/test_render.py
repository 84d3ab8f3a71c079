"""The talk screen, rendered from a ViewState into a captured Console (style-guide §12)."""

from __future__ import annotations

import io
import math

from rich.console import Console

from voicecli.ui.live import LiveView
from voicecli.ui.render import render, render_turn
from voicecli.ui.state import Status, ToolCallView, TurnView, ViewState


def text_of(renderable: object, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None,
                      _environ={})
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_status_bar_shows_each_state_by_name() -> None:
    for status in Status:
        assert f"● {status.value}" in text_of(render(ViewState(status=status)))


def test_live_turn_shows_both_sides_and_latency() -> None:
    state = ViewState(status=Status.SPEAKING)
    state.turn = TurnView(user="what time is it", model="It is noon.", latency_ms=412.4)
    out = text_of(render(state))
    assert "You: what time is it" in out
    assert "Gemini: It is noon.  [412 ms]" in out


def test_interrupted_reply_is_marked_where_it_was_cut() -> None:
    turn = TurnView(user="tell me a story", model="Once upon a time there was a fox",
                    interrupted=True, cut_at=len("Once upon a time"))
    out = text_of(render_turn(turn))
    assert "Gemini: Once upon a time ⟂ interrupted (unheard: there was a fox)" in out


def test_mic_meter_tracks_level_and_mute() -> None:
    loud = text_of(render(ViewState(status=Status.USER_SPEAKING, mic_dbfs=-6.0)))
    quiet = text_of(render(ViewState(status=Status.LISTENING, mic_dbfs=-54.0)))
    silent = text_of(render(ViewState(status=Status.LISTENING, mic_dbfs=-math.inf)))
    assert loud.count("█") > quiet.count("█") > 0
    assert silent.count("█") == 0
    assert "mic muted" in text_of(render(ViewState(muted=True)))
    assert "m unmute" in text_of(render(ViewState(muted=True)))


def test_push_to_talk_hint_follows_the_key_state() -> None:
    idle = text_of(render(ViewState(ptt=True)))
    talking = text_of(render(ViewState(ptt=True, ptt_talking=True)))
    assert "space talk" in idle and "mic ▷ space" in idle
    assert "space stop talking" in talking


def test_counters_appear_only_when_something_happened() -> None:
    state = ViewState(status=Status.LISTENING)
    assert "underruns" not in text_of(render(state))
    state.counters.underruns, state.counters.reconnects = 3, 1
    state.counters.mic_dropped_ms, state.counters.mic_overflows = 40.0, 2
    state.usage.total, state.last_latency_ms = 1234, 380.0
    out = text_of(render(state))
    for part in ("underruns 3", "reconnects 1", "mic drops 40 ms/2", "tokens 1234",
                 "latency 380 ms"):
        assert part in out


def test_tool_calls_and_typing_line() -> None:
    state = ViewState()
    state.turn = TurnView(user="lights on", tools=[ToolCallView("set_light", "on=True")])
    state.typing = "hello"
    out = text_of(render(state))
    assert "⚙ set_light(on=True) → …" in out
    assert "type> hello" in out


def test_finished_turns_go_to_scrollback_once() -> None:
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None,
                      _environ={})
    state = ViewState(status=Status.LISTENING)
    state.turn = TurnView(user="first question", model="first answer")
    state.finish_turn()
    state.turn = TurnView(user="second question")
    with LiveView(console) as view:
        view.draw(state)
        view.draw(state)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert out.count("You: first question") == 1
    assert "Gemini: first answer" in out
    assert "You: second question" in out
    assert state.turns_done == 1 and state.finished == []


def test_state_without_scrollback_keeps_nothing() -> None:
    state = ViewState(scrollback=False)
    state.turn = TurnView(user="a", model="b")
    state.finish_turn()
    state.finish_turn()  # an empty turn is not counted
    assert state.finished == [] and state.turns_done == 1


def test_provisional_words_show_dimmed_while_you_speak() -> None:
    turn = TurnView(user_interim="what is the whether")
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="standard",
                      _environ={})
    console.print(render_turn(turn, live=True))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[2mwhat is the whether" in out  # dim: it may still change
    assert "You: what is the whether" in text_of(render_turn(turn, live=True))
    final = text_of(render_turn(TurnView(user="what is the weather"), live=True))
    assert "You: what is the weather" in final and "whether" not in final
