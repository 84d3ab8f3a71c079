"""The talk screen for token usage by modality, video, and the translate view."""

from __future__ import annotations

import io

from rich.console import Console

from tests.ui.test_render import text_of
from voicecli.protocol.messages import ModalityTokenCount, UsageMetadata
from voicecli.ui.live import LiveView
from voicecli.ui.render import render
from voicecli.ui.state import Status, TurnView, ViewState


def report(audio_in: int, image_in: int, audio_out: int) -> UsageMetadata:
    prompt = [ModalityTokenCount("AUDIO", audio_in)]
    if image_in:
        prompt.append(ModalityTokenCount("IMAGE", image_in))
    return UsageMetadata(prompt_token_count=audio_in + image_in, response_token_count=audio_out,
                         total_token_count=audio_in + image_in + audio_out,
                         prompt_tokens_details=prompt,
                         response_tokens_details=[ModalityTokenCount("AUDIO", audio_out)])


def test_tokens_by_modality_and_video_frames_in_the_status_bar() -> None:
    state = ViewState(status=Status.LISTENING, video="camera 0", video_frames=12)
    state.usage.add(report(100, 0, 50))
    state.usage.add(report(120, 256, 70))
    out = text_of(render(state), width=140)
    assert "tokens 596 (in audio 220 image 256 · out audio 120)" in out
    assert "video camera 0: 12 frames" in out


def test_a_finished_turn_shows_its_own_tokens() -> None:
    state = ViewState()
    turn = TurnView(user="hi", model="Hello.", latency_ms=300.0)
    turn.usage.add(report(40, 0, 24))
    state.finished.append(turn)
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None,
                      _environ={})
    with LiveView(console) as view:
        view.draw(state)
    assert "Gemini: Hello.  [300 ms · 64 tokens]" in console.file.getvalue()  # type: ignore[attr-defined]


def test_the_translate_view_names_both_languages_and_has_no_typing() -> None:
    state = ViewState(status=Status.SPEAKING, labels=("en", "es"), typing_allowed=False)
    state.turn = TurnView(user="good morning", model="[es] good morning")
    out = text_of(render(state))
    assert "en: good morning" in out and "es: [es] good morning" in out
    assert "You:" not in out and "t type" not in out and "m mute" in out
