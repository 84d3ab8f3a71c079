"""One model turn on the wire (live-protocol.md §4.2, §5.2, §5.3, §5.5).

`Reply.run` drives the engine and turns what it says into frames: text deltas (TEXT modality) or
paced 24 kHz audio plus `outputTranscription` (AUDIO), `toolCall`s, then `generationComplete`,
the playback wait, and `turnComplete` with `usageMetadata`. `Reply.interrupt` is the barge-in
path: it stops synthesis and sending at once and reports `interrupted` → `toolCallCancellation`
→ `turnComplete` synchronously, so nothing of the old turn can follow.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import uuid
from contextlib import aclosing
from typing import Protocol

from voicecli.protocol.messages import FunctionCall
from voicecli.protocol.session import ServerSession
from voicecli.server.engines.interface import (
    CallTools,
    Dialogue,
    Engine,
    Grounded,
    Prompt,
    RanCode,
    Say,
    Think,
    ToolResults,
    Turn,
    UserText,
)
from voicecli.server.session.pacing import PlaybackClock
from voicecli.server.session.plan import SessionPlan, SessionSettings
from voicecli.server.session.speech_io import split_sentences, synthesize
from voicecli.server.session.usage import PCM16_BYTES_PER_S_24K, UsageEstimate

OUTPUT_RATE = 24000
WORDS_PER_TEXT_DELTA = 3
SPOKEN_CHARS_PER_S = 14.0  # espeak at 175 words per minute, for spreading the transcript


def new_call_id(backend: str = "gemini") -> str:
    """Gemini API style: `function-call-` and 19 digits; Vertex uses UUIDs (§4.3, §8)."""
    if backend == "vertex":
        return str(uuid.uuid4())
    return "function-call-" + str(secrets.randbelow(9 * 10**18) + 10**18)


def word_groups(text: str, size: int = WORDS_PER_TEXT_DELTA) -> list[str]:
    """Deltas of `size` words whose concatenation is exactly `text`."""
    tokens = re.findall(r"\s*\S+", text)
    groups = ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]
    if groups and text[len("".join(groups)) :]:
        groups[-1] += text[len("".join(groups)) :]
    return groups


class TranscriptFeeder:
    """Releases the words of a sentence in step with its audio (estimated speaking rate)."""

    def __init__(self, text: str) -> None:
        self._tokens = re.findall(r"\s*\S+", text)
        self._total = max(1, len(text))
        self._done = 0
        self._chars = 0

    def advance(self, audio_s: float) -> str:
        """Words due after `audio_s` seconds of this sentence were sent."""
        due_chars = audio_s * SPOKEN_CHARS_PER_S
        out = []
        while self._done < len(self._tokens):
            token = self._tokens[self._done]
            if self._chars + len(token) > due_chars:
                break
            out.append(token)
            self._chars += len(token)
            self._done += 1
        return "".join(out)

    def rest(self) -> str:
        out, self._done = "".join(self._tokens[self._done :]), len(self._tokens)
        return out


class Frames(Protocol):
    """Sends what the protocol side has queued (session/outbox.py)."""

    def push(self) -> None: ...

    async def drain(self) -> None: ...


class ReplySink(Protocol):
    """What a `Reply` uses of its session (session/live.py implements it): where its frames go,
    what it answers with, and the bookkeeping it reports back."""

    @property
    def proto(self) -> ServerSession: ...  # the sans-I/O side the frames are written to

    @property
    def outbox(self) -> Frames: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def conversation(self) -> Dialogue: ...

    @property
    def plan(self) -> SessionPlan: ...

    @property
    def config(self) -> SessionSettings: ...

    @property
    def voice(self) -> str: ...

    @property
    def output_transcription(self) -> bool: ...

    def take_images(self) -> int: ...

    def prompt_text(self) -> str: ...

    def checkpoint(self, resumable: bool) -> None: ...

    def expect_results(self, request: CallTools) -> None: ...

    def cancel_calls(self, ids: list[str]) -> None: ...

    def turn_ended(self) -> None: ...


class Reply:
    """A model turn answering `prompt`; created and scheduled by its session (`ReplySink`)."""

    def __init__(self, session: ReplySink, prompt: Prompt, heard_s: float = 0.0) -> None:
        self.session = session
        self.prompt = prompt
        self.stop = threading.Event()
        self.clock = PlaybackClock(session.config.pace)
        self.usage = UsageEstimate()
        self.said = ""  # what actually reached the client (text deltas / transcript)
        self.pending = ""  # text of the reply not yet spoken (an incomplete sentence)
        self.audio_s = 0.0
        self.call_ids: list[str] = []  # blocking calls of this turn still unanswered
        self.ended = False
        self.task: asyncio.Task[None] | None = None
        self.usage.prompt_audio(heard_s)
        self.usage.prompt_images(session.take_images(), session.plan.media_resolution)
        session.proto.request_turn()  # whatever ended the user's turn (VAD, activityEnd, text)

    async def run(self) -> None:
        s = self.session
        self.usage.prompt_text(s.prompt_text())
        s.checkpoint(resumable=False)
        async with aclosing(s.engine.respond(s.conversation, self.prompt)) as events:
            async for event in events:
                if isinstance(event, Say):
                    await self._say(event.text)
                elif isinstance(event, Think):
                    await self._speak_pending()
                    await self._think(event.text)
                elif isinstance(event, Grounded | RanCode):
                    await self._speak_pending()
                    await self._service_tool(event)
                else:
                    await self._speak_pending()
                    await self._call(event)
        await self._speak_pending()
        s.proto.send_generation_complete()
        s.outbox.push()
        await asyncio.sleep(self.clock.remaining_s())  # §5.2: turnComplete after playback
        self._end(interrupted=False)

    def interrupt(self) -> bool:
        """Barge-in (§5.3). Returns False when the turn had already ended."""
        if self.ended:
            return False
        self.stop.set()
        if self.task is not None:
            self.task.cancel()
        self._end(interrupted=True)
        return True

    def _end(self, interrupted: bool) -> None:
        s = self.session
        self.ended = True
        if interrupted:
            s.proto.send_interrupted()
            if self.call_ids:
                s.cancel_calls(self.call_ids)
        self.usage.response_audio(self.audio_s)
        s.proto.send_turn_complete(usage=self.usage.to_usage(vertex=s.plan.backend == "vertex"))
        if self.said.strip():
            s.conversation.history.append(Turn("model", self.said.strip()))
        s.outbox.push()
        s.turn_ended()

    # ---- output ---------------------------------------------------------------------------

    async def _say(self, text: str) -> None:
        """A text delta of the reply: written at once, or spoken sentence by sentence as each
        one is complete (an engine streaming tokens is heard before it has finished)."""
        if self.session.conversation.modality == "TEXT":
            await self._write(text)  # deltas verbatim: tokens carry their own spaces
            return
        self.pending += text
        *complete, self.pending = split_sentences(self.pending, keep_tail=True)
        for sentence in complete:
            await self._speak(self._joined(sentence.strip()))

    async def _speak_pending(self) -> None:
        """Speak what is left of the reply's text (its end, or before a tool call)."""
        text, self.pending = self.pending, ""
        for sentence in split_sentences(text):
            await self._speak(self._joined(sentence.strip()))

    def _joined(self, text: str) -> str:
        """Separate consecutive pieces of the reply by one space."""
        if self.said and not self.said[-1].isspace() and not text[:1].isspace():
            return " " + text
        return text

    async def _think(self, text: str) -> None:
        """§4.2: a thought summary is a text part with `thought: true`, in either modality."""
        s = self.session
        s.proto.send_model_text(text, thought=True)
        self.usage.thoughts(text)
        await s.outbox.drain()

    async def _service_tool(self, event: Grounded | RanCode) -> None:
        """§4.2: what the service's own tools add to the turn (server/engines/standins.py)."""
        s = self.session
        if isinstance(event, Grounded):
            s.proto.send_grounding(event.metadata)
        else:
            s.proto.send_executable_code(event.language, event.code)
            s.proto.send_code_execution_result(event.outcome, event.output)
        await s.outbox.drain()

    async def _write(self, text: str) -> None:
        s = self.session
        for delta in word_groups(text):
            s.proto.send_model_text(delta)
            self.said += delta
            self.usage.response_text(delta)
            await s.outbox.drain()

    async def _speak(self, sentence: str) -> None:
        s = self.session
        feeder = TranscriptFeeder(sentence)
        sentence_s = 0.0
        async with aclosing(synthesize(sentence.strip(), s.voice, self.stop)) as chunks:
            async for chunk in chunks:
                await self.clock.wait_turn()
                seconds = len(chunk) / PCM16_BYTES_PER_S_24K
                s.proto.send_model_audio(chunk, rate=OUTPUT_RATE)
                self.clock.sent(seconds)
                self.audio_s += seconds
                sentence_s += seconds
                self._transcribe(feeder.advance(sentence_s))
                await s.outbox.drain()
        self._transcribe(feeder.rest())
        await s.outbox.drain()

    def _transcribe(self, delta: str) -> None:
        """§4.2: outputTranscription deltas of exactly what is spoken."""
        if not delta:
            return
        self.said += delta
        if self.session.output_transcription:
            self.session.proto.send_output_transcription(delta)
            self.session.outbox.push()

    async def _call(self, request: CallTools) -> None:
        s = self.session
        request.ids = [new_call_id(s.plan.backend) for _ in request.calls]
        calls = [
            FunctionCall(id=i, name=c.name, args=c.args)
            for i, c in zip(request.ids, request.calls, strict=True)
        ]
        s.proto.send_tool_call(calls)
        s.expect_results(request)
        if request.blocking:
            self.call_ids.extend(request.ids)
        await s.outbox.drain()


def prompt_words(prompt: Prompt) -> str:
    """The text of a prompt, for the history and usage estimates."""
    if isinstance(prompt, UserText):
        return prompt.text
    assert isinstance(prompt, ToolResults)
    return " ".join(r.name for r in prompt.results)
