"""Tool calls, code execution, search sources and the y/n prompt on the talk screen."""

from __future__ import annotations

from tests.ui.test_render import text_of
from voicecli.ui.render import render, render_turn
from voicecli.ui.state import Status, ToolCallView, TurnView, ViewState


def test_a_turn_shows_calls_code_and_numbered_sources_in_order() -> None:
    turn = TurnView(
        user="who wrote hamlet and what is 6 times 7",
        tools=[ToolCallView("lookup", 'title="Hamlet"', '{"author": "Shakespeare"}'),
               ToolCallView("slow_job", "", None)],
        code=[("code PYTHON", "print(6 * 7)\n"), ("result OUTCOME_OK", "42\n")],
        model="Shakespeare; and 42.",
        sources=[("Hamlet (example.org)", "https://example.org/hamlet"),
                 ("Hamlet (example.com)", "https://example.com/hamlet")],
    )
    lines = [line.strip() for line in text_of(render_turn(turn), width=120).splitlines()]
    assert lines == [
        "You: who wrote hamlet and what is 6 times 7",
        '⚙ lookup(title="Hamlet") → {"author": "Shakespeare"}',
        "⚙ slow_job() → …",
        "▸ code PYTHON: print(6 * 7)",
        "▸ result OUTCOME_OK: 42",
        "Gemini: Shakespeare; and 42.",
        "[1] Hamlet (example.org) — https://example.org/hamlet",
        "[2] Hamlet (example.com) — https://example.com/hamlet",
    ]


def test_a_pending_confirmation_asks_and_the_key_help_says_how_to_answer() -> None:
    state = ViewState(status=Status.LISTENING, confirm='git_log(count=3)')
    out = text_of(render(state))
    assert "Run the tool git_log(count=3)? y/n" in out
    assert "y run it  n refuse" in out and "q quit" not in out
