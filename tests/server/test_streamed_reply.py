"""An engine that streams its reply token by token is heard sentence by sentence (§5.2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from voicecli.server import ServerConfig, start_server
from voicecli.server.engines.interface import Dialogue, Prompt, ReplyEvent, Say

from .helpers import AUDIO_MODEL, audio_of, session, setup_msg, text_of

REPLY = "The first sentence is short. The second one comes a while later. And the third."
TOKEN_DELAY_S = 0.08


class SlowTokens:
    """Yields the reply a word at a time, like an LLM streaming tokens."""

    def __init__(self) -> None:
        self.finished_at: float | None = None

    async def respond(
        self, conversation: Dialogue, prompt: Prompt
    ) -> AsyncIterator[ReplyEvent]:
        for i, word in enumerate(REPLY.split(" ")):
            await asyncio.sleep(TOKEN_DELAY_S)
            yield Say(word if i == 0 else " " + word)
        self.finished_at = time.monotonic()


async def test_first_sentence_is_spoken_before_the_engine_finishes() -> None:
    engine = SlowTokens()
    setup = setup_msg(AUDIO_MODEL, "AUDIO", outputAudioTranscription={})
    async with await start_server(ServerConfig(port=0, pace=0), engine=engine) as server:
        async with session(server, setup) as c:
            await c.send({"realtimeInput": {"text": "talk to me"}})
            frames = await c.turn()
    first_audio = next(f.at for f in frames if f.kind() == "audio")
    assert engine.finished_at is not None
    assert engine.finished_at - first_audio > 5 * TOKEN_DELAY_S  # heard while still generating
    assert text_of(frames, "outputTranscription") == REPLY  # each word once, in order
    assert len(audio_of(frames)) > 48000 * 3  # ~4 s of speech


async def test_text_sessions_get_the_tokens_as_they_come() -> None:
    engine = SlowTokens()
    async with await start_server(ServerConfig(port=0, pace=0), engine=engine) as server:
        async with session(server, setup_msg()) as c:
            await c.send({"realtimeInput": {"text": "talk to me"}})
            frames = await c.turn()
    texts = [f for f in frames if f.kind() == "text"]
    assert len(texts) >= 10
    assert engine.finished_at is not None and engine.finished_at - texts[0].at > 1.0
    assert text_of(frames) == REPLY


class Tokens:
    """Sub-word pieces as an LLM's tokenizer cuts them."""

    async def respond(
        self, conversation: Dialogue, prompt: Prompt
    ) -> AsyncIterator[ReplyEvent]:
        for piece in ("Par", "is", ",", " France", ". It", " is", " lovely", "."):
            yield Say(piece)


async def test_pieces_are_joined_verbatim_in_text_and_speech() -> None:
    async with await start_server(ServerConfig(port=0, pace=0), engine=Tokens()) as server:
        async with session(server, setup_msg()) as c:
            await c.send({"realtimeInput": {"text": "where"}})
            written = text_of(await c.turn())
        setup = setup_msg(AUDIO_MODEL, "AUDIO", outputAudioTranscription={})
        async with session(server, setup) as c:
            await c.send({"realtimeInput": {"text": "where"}})
            spoken = text_of(await c.turn(), "outputTranscription")
    assert written == "Paris, France. It is lovely."
    assert spoken == "Paris, France. It is lovely."
