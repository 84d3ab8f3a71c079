"""`--context FILE`: the three formats, the talk transcript round trip, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicecli.client.context import load_context
from voicecli.errors import InputFileError
from voicecli.talk.record import format_turn
from voicecli.ui.state import TurnView


def turns(path: Path) -> list[tuple[str, str]]:
    return [(c.role or "", c.parts[0].text or "") for c in load_context(path) if c.parts]


def test_json_list_live_contents_and_turns_object(tmp_path: Path) -> None:
    plain = tmp_path / "c.json"
    plain.write_text(json.dumps([{"role": "user", "text": "my name is Bob"},
                                 {"role": "assistant", "text": "Hello Bob."}]))
    assert turns(plain) == [("user", "my name is Bob"), ("model", "Hello Bob.")]
    live = tmp_path / "live.txt"  # no extension: recognised by its first character
    live.write_text(json.dumps({"turns": [{"role": "user", "parts": [{"text": "a"},
                                                                     {"text": "b"}]}]}))
    assert turns(live) == [("user", "a\nb")]


def test_jsonl_takes_talk_json_turn_events_and_skips_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [
        {"type": "setup_complete", "session_id": None},
        {"type": "turn", "user": "what time is it", "model": "You said: what time is it."},
        {"type": "status", "status": "listening"},
        {"role": "user", "text": "and now?"}]) + "\n\n")
    assert turns(path) == [("user", "what time is it"), ("model", "You said: what time is it."),
                           ("user", "and now?")]


def test_a_talk_transcript_is_a_context_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    interrupted = TurnView(user="tell me a story", model="Once upon a time there was",
                           interrupted=True, cut_at=17)
    path.write_text("# voicecli talk · 2026-01-01 · gemini-3.8-live\n\n"
                    + format_turn(TurnView(user="my name is Bob", model="Hello Bob.")) + "\n"
                    + format_turn(TurnView(user="hi", typed=True, model="Hi.\nTwo lines."))
                    + "\n" + format_turn(interrupted))
    assert turns(path) == [
        ("user", "my name is Bob"), ("model", "Hello Bob."), ("user", "hi"),
        ("model", "Hi.\nTwo lines."), ("user", "tell me a story"),
        ("model", "Once upon a time")]  # the words never heard are not history


def test_plain_speaker_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    path.write_text("User: first question\nstill the question\n\nModel: the answer\n")
    assert turns(path) == [("user", "first question\nstill the question"),
                           ("model", "the answer")]


@pytest.mark.parametrize(("name", "body", "fragment"), [
    ("bad.json", "[{\"role\": \"user\"", "not valid JSON (line 1"),
    ("role.json", "[{\"role\": \"system\", \"text\": \"x\"}]", "turn 1: role must be user or"),
    ("img.json", "[{\"role\": \"user\", \"parts\": [{\"inlineData\": {}}]}]", "only text parts"),
    ("bad.jsonl", "{\"role\": \"user\", \"text\": \"a\"}\nnope\n", "line 2: not valid JSON"),
    ("empty.md", "# just a heading\n", "holds no turns"),
])
def test_mistakes_are_one_line_naming_the_place(tmp_path: Path, name: str, body: str,
                                                fragment: str) -> None:
    path = tmp_path / name
    path.write_text(body)
    with pytest.raises(InputFileError, match="--context") as info:
        load_context(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read --context .*nope.json"):
        load_context(tmp_path / "nope.json")
