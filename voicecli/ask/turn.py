"""One question, one answer: the library behind `voicecli ask` (usable without typer).

    answer = asyncio.run(ask(load_settings(), Question(text="What is the capital of France?")))
    print(answer.text)
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecli.ask.tools import ReplyTracker, tool_reporter
from voicecli.audio.pcm import OUT_RATE, StreamResampler, WavWriter
from voicecli.client.backends import connect_options, open_endpoint
from voicecli.client.history import SessionStart, resume_refused, send_seed
from voicecli.client.live import LiveSession, Reconnected
from voicecli.client.ndjson import event_json, turn_complete_json
from voicecli.client.replies import ReplyFile, error_text
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.client.tool_calls import ToolCalls
from voicecli.errors import NetworkError, ServiceRefused, UsageError
from voicecli.protocol import events as ev
from voicecli.protocol.grounding import TurnSources
from voicecli.protocol.messages import UsageMetadata
from voicecli.settings import Settings
from voicecli.tools import ToolUse, session_tools
from voicecli.video.imaging import Image
from voicecli.video.question import as_client_content, image_turn

CHUNK_MS = 100  # audio question chunk size; §6: 20–100 ms chunks, any is accepted
JsonSink = Callable[[dict[str, Any]], None]


@dataclass
class Question:
    text: str | None = None
    audio_pcm16: bytes | None = None  # 16 kHz mono PCM16 (see voicecli.audio.pcm.load_audio)
    image: Image | None = None  # `--image`: goes with the question (voicecli/video/question.py)

    def __post_init__(self) -> None:
        if (self.text is None) == (self.audio_pcm16 is None):
            raise UsageError("ask needs either a question text or --audio, not both")
        if self.text is not None and not self.text.strip():
            raise UsageError("the question is empty")


@dataclass
class Answer:
    text: str = ""
    input_transcript: str = ""
    audio_ms: float = 0.0
    usage: UsageMetadata | None = None
    latency_ms: float | None = None
    interrupted: bool = False
    reconnects: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    replies_cut: int = 0  # replies a dropped connection cut off, asked again in full (§5.6)
    thoughts: str = ""  # thought summaries (--show-thoughts, §4.2), concatenated
    tools: list[dict[str, Any]] = field(default_factory=list)  # tool_result records
    sources: TurnSources = field(default_factory=TurnSources)  # Google Search grounding
    code: list[dict[str, Any]] = field(default_factory=list)  # executable_code, …_result events


async def ask(
    settings: Settings,
    question: Question,
    *,
    audio_out: Path | None = None,
    on_json: JsonSink | None = None,
    notify: Callable[[str], None] | None = None,
    tools: ToolUse | None = None,
    start: SessionStart | None = None,
) -> Answer:
    """Run one turn and return the answer. The reply audio goes to `audio_out` (24 kHz WAV).
    `tools` are declared and their calls answered (non-interactive: only allowed tools run).
    `start`: earlier turns to seed, or a session to resume (voicecli/client/history.py)."""
    start = start or SessionStart()
    options = SetupOptions(
        manual_activity=question.audio_pcm16 is not None,
        input_transcription=question.audio_pcm16 is not None,
        needs_audio_out=audio_out is not None,
        tools=tools.tools if tools else (),
    )
    # Built once, from the settings, so that bad settings fail before anything starts; the
    # endpoint only names the model its way.
    setup, seed = start.apply(build_setup(settings, settings.model, options))
    async with AsyncExitStack() as stack:
        if tools is not None and tools.mcp_servers:  # MCP servers start with the session
            tools = await stack.enter_async_context(session_tools(tools, notify))
            options = dataclasses.replace(options, tools=tools.tools)
            setup, seed = start.apply(build_setup(settings, settings.model, options))  # + theirs
        endpoint = await stack.enter_async_context(open_endpoint(settings, notify, pace=0))
        setup = endpoint.address(setup)
        writer = stack.enter_context(ReplyFile(audio_out)) if audio_out else None
        try:
            live = await stack.enter_async_context(
                LiveSession(endpoint, setup, connect_options(settings))
            )
        except ServiceRefused as exc:
            raise resume_refused(exc, start.resume) from None
        _emit(on_json, event_json(live.setup_complete))
        await send_seed(live, seed, on_json)
        await send_question(live, question, setup.model)
        return await answer_with_tools(live, settings, setup.model or "", writer, on_json,
                                       notify, tools)
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


async def answer_with_tools(
    live: LiveSession,
    settings: Settings,
    model: str,
    writer: WavWriter | None,
    on_json: JsonSink | None,
    notify: Callable[[str], None] | None,
    tools: ToolUse | None,
) -> Answer:
    """`collect_answer` with the model's tool calls answered (an undeclared one gets an error,
    so a blocking call never wedges the turn); calls still running at the end are stopped."""
    answer = Answer()
    calls = ToolCalls(live, tools or ToolUse(), model,
                      on_event=tool_reporter(answer.tools, on_json, notify))
    try:
        return await collect_answer(live, settings, writer, on_json, time.monotonic(),
                                    calls=calls, answer=answer)
    finally:
        await calls.aclose()


async def send_question(live: LiveSession, question: Question, model: str | None = None) -> None:
    """Send a text question, or a spoken one between activityStart and activityEnd; an image
    goes with it (voicecli/video/question.py says how)."""
    image = question.image
    if question.text is not None:
        if image is not None and as_client_content(model):
            await live.send_client_content([image_turn(image, question.text)], True)
            return
        if image is not None:
            await live.send_video(image.data, image.mime_type)
        await live.send_text(question.text)
        return
    pcm = question.audio_pcm16 or b""
    step = 16000 * 2 * CHUNK_MS // 1000
    await live.send_activity_start()  # manual activity: the turn is exactly this audio (§5.4)
    if image is not None:
        await live.send_video(image.data, image.mime_type)
    for start in range(0, len(pcm), step):
        await live.send_audio(pcm[start : start + step])
    await live.send_activity_end()


async def collect_answer(
    live: LiveSession,
    settings: Settings,
    writer: WavWriter | None,
    on_json: JsonSink | None,
    asked_at: float,
    *,
    calls: ToolCalls | None = None,
    answer: Answer | None = None,
) -> Answer:
    """Collect events up to turnComplete into an Answer (reply audio to `writer`); with
    `calls`, up to the turnComplete after which no tool result is still owed (ask_tools.py)."""
    answer = answer or Answer()
    tracker = ReplyTracker(calls)
    to_out_rate = _OutRate()
    texts: list[str] = []
    transcripts: list[str] = []
    first_reply_at: float | None = None
    deadline = asked_at + settings.connection.reply_timeout_s
    async for event in _until(live, deadline, settings.connection.reply_timeout_s, tracker):
        if event is CALLS_SETTLED:
            if tracker.whole():
                break
            continue
        if isinstance(event, Reconnected) and event.reply_cut and event.replayed:
            # the question went out again: its reply comes from the start (marked once: the
            # `reconnected` event says reply_cut, and Answer.replies_cut counts it)
            _restart_reply(answer, texts, transcripts, writer)
        if first_reply_at is None and _is_reply_content(event):
            first_reply_at = time.monotonic()
        tracker.saw(event)
        _on_tool_event(event, calls, answer)
        match event:
            case ev.ModelText():
                texts.append(event.text)
            case ev.Thought():
                answer.thoughts += event.text
            case ev.OutputTranscript():
                transcripts.append(event.text)
            case ev.InputTranscript():
                answer.input_transcript += event.text
            case ev.ModelAudio():
                answer.audio_ms += len(event.data) / 2 / event.rate * 1000
                if writer is not None:
                    writer.write(to_out_rate.process(event.data, event.rate))
            case ev.Usage():
                answer.usage = event.usage
            case ev.Interrupted():
                answer.interrupted = True
            case ev.ServerErrorPayload():
                raise ServiceRefused(f"the service answered with an error: {error_text(event)}")
        if isinstance(event, ev.TurnComplete):
            if first_reply_at is not None and answer.latency_ms is None:
                answer.latency_ms = (first_reply_at - asked_at) * 1000
            _emit(on_json, turn_complete_json(event, answer.usage, answer.latency_ms))
            if tracker.turn_complete():
                break
            for parts in (texts, transcripts):  # the next turn's words start on a new line
                if parts and not parts[-1].endswith("\n"):
                    parts.append("\n")
            continue
        _emit(on_json, event_json(event))
    for parts in (texts, transcripts):  # no separator for a next turn that never came
        if parts and parts[-1] == "\n":
            parts.pop()
    answer.text = "".join(texts) if texts else "".join(transcripts)
    answer.reconnects = live.reconnects
    return answer


def _restart_reply(answer: Answer, texts: list[str], transcripts: list[str],
                   writer: WavWriter | None) -> None:
    answer.replies_cut += 1
    texts.clear()
    transcripts.clear()
    answer.audio_ms = 0.0
    answer.thoughts = ""
    if writer is not None:
        writer.restart()


def _on_tool_event(event: object, calls: ToolCalls | None, answer: Answer) -> None:
    """Tool calls start (in tasks of their own), cancellations stop them; grounding and code
    execution are kept for the answer."""
    match event:
        case ev.ToolCallRequested() if calls is not None:
            calls.start(event.calls)
        case ev.ToolCallCancelled() if calls is not None:
            calls.withdraw(event.ids)
        case ev.Grounding():
            answer.sources.add(event.metadata)
        case ev.ExecutableCode() | ev.CodeExecutionResult():
            answer.code.append(event_json(event) or {})


class _CallsSettled:
    """Yielded by `_until` when the last running tool call was answered between turns."""


CALLS_SETTLED = _CallsSettled()


async def _until(
    live: LiveSession, deadline: float, timeout_s: float, tracker: ReplyTracker | None = None,
) -> AsyncIterator[object]:
    """Events until the caller stops; a NetworkError after `deadline`, and the end (no error)
    once the tracker's soft deadline (a time, when the reply may already be whole) has passed.
    While the model's turn has ended and only tool calls keep the reply open, their end is
    yielded too (`CALLS_SETTLED`): nothing else may come, and the reply may be whole then."""
    events = live.events()
    next_event: asyncio.Future[Any] | None = None
    try:
        while True:
            soft = tracker.soft_deadline() if tracker is not None else None
            remaining = min(deadline, soft if soft is not None else deadline) - time.monotonic()
            if remaining <= 0 and soft is not None and soft < deadline:
                return
            if remaining <= 0:
                raise NetworkError(f"no complete reply within {timeout_s:g} s (--timeout)")
            if next_event is None:
                # one pending read across waits: a timeout never cancels a read half-done
                next_event = asyncio.ensure_future(anext(events))
            settled = _settled_waiter(tracker)
            done, _ = await asyncio.wait({next_event, *settled}, timeout=remaining,
                                         return_when=asyncio.FIRST_COMPLETED)
            for waiter in settled:
                waiter.cancel()
            if next_event in done:
                finished, next_event = next_event, None
                try:
                    event = finished.result()
                except StopAsyncIteration:
                    raise NetworkError("the connection ended before the reply was complete"
                                       ) from None
                yield event
            elif done:
                yield CALLS_SETTLED
            elif soft is not None and soft < deadline:
                return
            else:
                raise NetworkError(f"no complete reply within {timeout_s:g} s (--timeout)")
    finally:
        if next_event is not None:
            next_event.cancel()


def _settled_waiter(tracker: ReplyTracker | None) -> set[asyncio.Future[object]]:
    if tracker is None or tracker.calls is None or not tracker.waiting_on_calls():
        return set()
    return {asyncio.ensure_future(tracker.calls.settled.wait())}


def _is_reply_content(event: object) -> bool:
    return isinstance(event, ev.ModelAudio | ev.ModelText | ev.OutputTranscript)


class _OutRate:
    """Reply audio at 24 kHz for the WAV; one stream resampler per rate (Vertex omits it, §8)."""

    def __init__(self) -> None:
        self._resamplers: dict[int, StreamResampler] = {}

    def process(self, pcm: bytes, rate: int) -> bytes:
        if rate == OUT_RATE:
            return pcm
        if rate not in self._resamplers:
            self._resamplers[rate] = StreamResampler(rate, OUT_RATE)
        return self._resamplers[rate].process(pcm)


def _emit(sink: JsonSink | None, obj: dict[str, Any] | None) -> None:
    if sink is not None and obj is not None:
        sink(obj)
