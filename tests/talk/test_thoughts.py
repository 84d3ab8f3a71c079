"""`talk --show-thoughts`: thought summaries (§4.2) reach the screen dimmed and the NDJSON stream
as `thought` events, from the real local server, with device stand-ins (see test_conversation)."""

from __future__ import annotations

import io

from rich.console import Console

from tests.talk.test_conversation import SILENCE_1S, Talk, local_server, spoken
from voicecli.audio.fakes import ArrayMicrophone
from voicecli.settings import replace
from voicecli.talk.options import TalkOptions
from voicecli.ui.render import render_turn
from voicecli.ui.state import TurnView

X_THINKING = "gemini-3.8-live-extended-thinking"


async def test_a_spoken_question_with_thoughts() -> None:
    async with local_server() as url:
        mic = ArrayMicrophone(SILENCE_1S + spoken("what is the weather like today"))
        talk = Talk(url, TalkOptions(), mic)
        talk.settings = replace(talk.settings, model=X_THINKING, thinking_level="low",
                                show_thoughts=True)
        async with talk:
            turn = await talk.wait_for(lambda e: e["type"] == "turn")
    kinds = [e["type"] for e in talk.events]
    thought = next(e for e in talk.events if e["type"] == "thought")
    assert thought["text"].startswith("The user said ") and thought["text"].endswith(" back.")
    assert kinds.index("thought") < kinds.index("output_transcript")  # before the answer
    assert turn["model"].startswith("You said:") and "user said" not in turn["model"]
    assert turn["thoughts"] == thought["text"]


def test_thoughts_are_drawn_dimmed_before_the_reply() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="standard",
                      _environ={})
    console.print(render_turn(TurnView(user="hi", thoughts="The user typed one word.",
                                       model="You said: hi.")))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    plain = Console(file=io.StringIO(), width=100, color_system=None, _environ={})
    plain.print(render_turn(TurnView(thoughts="Planning.", model="Hello.")))
    lines = plain.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines == ["  thinking: Planning.", "Gemini: Hello."]
    assert "\x1b[2;3mThe user typed one word." in out  # dim italic
    assert not TurnView(thoughts="x").is_empty()
