"""`--context` and `--resume` end to end: the client against the real local server (§3.2,
§3.1.11, §5.6), and how each model gets its history."""

from __future__ import annotations

import pytest

from tests.client.test_live import FAST, server, text_setup, turn
from voicecli.client.endpoints import build_endpoint
from voicecli.client.history import (
    SessionStart,
    plan_history,
    resume_refused,
    send_seed,
    with_resume,
)
from voicecli.client.live import LiveSession
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import CapabilityError, ServiceRefused, UsageError
from voicecli.protocol import events as ev
from voicecli.protocol.messages import Content, Part, Setup
from voicecli.settings import replace

HISTORY = [Content(role="user", parts=[Part(text="my name is bob")]),
           Content(role="model", parts=[Part(text="Hello Bob.")])]


def test_each_model_gets_its_history_its_way() -> None:
    for model in ("models/gemini-3.8-live", "models/gemini-2.5-flash-native-audio-preview-12-2025",
                  "models/some-future-live-model"):
        setup, seed = plan_history(Setup(model=model), HISTORY)
        assert setup.history_config is None and seed is not None
        assert seed.turn_complete is False  # appended, no reply asked for (§3.2)
    setup, seed = plan_history(Setup(model="models/gemini-3.1-flash-live-preview"), HISTORY)
    assert setup.history_config is not None  # §3.1.11: 3.1 seeds through historyConfig
    assert setup.history_config.initial_history_in_client_content is True
    assert seed is not None and seed.turn_complete is True
    with pytest.raises(CapabilityError, match="takes no conversation history"):
        plan_history(Setup(model="models/gemini-3.5-live-translate-preview"), HISTORY)
    assert plan_history(Setup(model="models/gemini-3.8-live"), []) == (
        Setup(model="models/gemini-3.8-live"), None)


def test_context_and_resume_do_not_mix_and_handles_are_checked() -> None:
    with pytest.raises(UsageError, match="either --context or --resume"):
        SessionStart(HISTORY, "H1").apply(Setup(model="models/gemini-3.8-live"))
    with pytest.raises(UsageError, match="--resume needs the handle"):
        with_resume(Setup(), "two words")
    resumed = with_resume(Setup(model="m"), " H1 ")
    assert resumed.session_resumption is not None and resumed.session_resumption.handle == "H1"


async def next_handle(live: LiveSession) -> str:
    async for event in live.events():
        if isinstance(event, ev.ResumptionUpdate) and event.resumable and event.handle:
            return event.handle
    raise AssertionError("no handle")


async def test_seeded_history_is_context_without_a_reply() -> None:
    async with server() as settings:
        endpoint, setup = text_setup(settings)
        setup, seed = plan_history(setup, HISTORY)
        async with LiveSession(endpoint, setup, FAST) as live:
            await send_seed(live, seed)
            reply, seen = await turn(live, "what is my name")
    assert sum(isinstance(e, ev.TurnComplete) for e in seen) == 1  # the seed asked for nothing
    assert "This is turn 2; before that you said: my name is bob." in reply


async def test_historyconfig_seeding_on_a_seed_only_model() -> None:
    async with server() as base:
        settings = replace(base, model="gemini-3.1-flash-live-preview", response="audio")
        endpoint = build_endpoint(settings)
        setup = build_setup(settings, endpoint.model, SetupOptions(conversation=True))
        setup, seed = plan_history(setup, HISTORY)
        async with LiveSession(endpoint, setup, FAST) as live:
            await send_seed(live, seed)
            handle = await next_handle(live)  # the server checkpoints the seeded history
            session = live._conn.session if live._conn else None
            assert session is not None and not session.reply_owed  # seeding asks for no reply
            reply, seen = await turn(live, "what is my name")
    assert handle and sum(isinstance(e, ev.TurnComplete) for e in seen) == 1
    assert "before that you said: my name is bob." in reply


async def test_resume_continues_the_conversation_on_a_new_connection() -> None:
    async with server() as settings:
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as first:
            await turn(first, "my name is alice")
            handle = await next_handle(first)
        async with LiveSession(endpoint, with_resume(setup, handle), FAST) as second:
            assert second.resumption_handle == handle  # until the server issues a newer one
            reply, _ = await turn(second, "what is my name")
    assert "This is turn 2; before that you said: my name is alice." in reply


async def test_an_unknown_handle_is_refused_in_one_clear_line() -> None:
    async with server() as settings:
        endpoint, setup = text_setup(settings)
        with pytest.raises(ServiceRefused) as info:
            async with LiveSession(endpoint, with_resume(setup, "not-a-handle"), FAST):
                pass
    error = resume_refused(info.value, "not-a-handle")
    assert isinstance(error, ServiceRefused) and "handles expire 2 h" in str(error)
