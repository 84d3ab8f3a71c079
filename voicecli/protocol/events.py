"""What a client reacts to: one small immutable event per meaningful field of a server frame.

§2: a frame may carry several top-level fields, and one ``serverContent`` several sub-fields
(pipecat: "server_content fields are NOT mutually exclusive"). ``events_from`` emits them all, in
the order usage → content/tool → control, and within ``serverContent`` the content (input
transcript, model parts in order, output transcript, grounding) before interrupted /
generationComplete / turnComplete (§4.2: the last transcript precedes those).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from voicecli.protocol.messages import (
    Content,
    FunctionCall,
    Part,
    ServerContent,
    ServerMessage,
    Transcription,
    UsageMetadata,
)

DEFAULT_OUTPUT_RATE = 24000  # §6: output audio is always 24 kHz; Vertex omits the rate
#: Rates a reply may declare (telephone to studio); outside it the rate is unreadable: a
#: hostile "rate=1" would otherwise make each byte of audio 24,000 after resampling.
OUTPUT_RATES = range(4000, 192_001)


@dataclass(frozen=True, slots=True)
class Usage:
    usage: UsageMetadata


@dataclass(frozen=True, slots=True)
class SetupComplete:
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputTranscript:
    text: str
    finished: bool | None = None


@dataclass(frozen=True, slots=True)
class InterimInputTranscript:
    """§4.2 interimInputTranscription: a provisional transcript while the user still speaks."""

    text: str
    finished: bool | None = None


@dataclass(frozen=True, slots=True)
class ModelText:
    text: str


@dataclass(frozen=True, slots=True)
class Thought:
    text: str


@dataclass(frozen=True, slots=True)
class ModelAudio:
    data: bytes = field(repr=False)
    rate: int = DEFAULT_OUTPUT_RATE


@dataclass(frozen=True, slots=True)
class ModelInlineData:
    """Non-audio inline data in a model turn (e.g. avatar video, §6)."""

    mime_type: str | None
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ExecutableCode:
    language: str | int | None
    code: str | None


@dataclass(frozen=True, slots=True)
class CodeExecutionResult:
    outcome: str | int | None
    output: str | None


@dataclass(frozen=True, slots=True)
class OutputTranscript:
    text: str
    finished: bool | None = None


@dataclass(frozen=True, slots=True)
class Grounding:
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UrlContext:
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Interrupted:
    pass


@dataclass(frozen=True, slots=True)
class GenerationComplete:
    pass


@dataclass(frozen=True, slots=True)
class TurnComplete:
    reason: str | int | None = None
    waiting_for_input: bool | None = None
    interaction_status: str | int | None = None


@dataclass(frozen=True, slots=True)
class ToolCallRequested:
    calls: tuple[FunctionCall, ...]


@dataclass(frozen=True, slots=True)
class ToolCallCancelled:
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResumptionUpdate:
    handle: str | None
    resumable: bool
    last_consumed_index: int | None = None


@dataclass(frozen=True, slots=True)
class GoAway:
    time_left_s: float | None


@dataclass(frozen=True, slots=True)
class VoiceActivity:
    kind: str | int | None
    offset_s: float | None = None


@dataclass(frozen=True, slots=True)
class VadSignal:
    kind: str | int | None


@dataclass(frozen=True, slots=True)
class ServerErrorPayload:
    """§4.8: a frame with none of the known keys — the service may report an error this way."""

    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UnknownField:
    name: str
    value: Any


Event: TypeAlias = (
    Usage | SetupComplete | InputTranscript | InterimInputTranscript | ModelText | Thought
    | ModelAudio | ModelInlineData | ExecutableCode | CodeExecutionResult | OutputTranscript
    | Grounding | UrlContext | Interrupted | GenerationComplete | TurnComplete
    | ToolCallRequested | ToolCallCancelled | ResumptionUpdate | GoAway | VoiceActivity
    | VadSignal | ServerErrorPayload | UnknownField
)


def events_from(msg: ServerMessage) -> list[Event]:
    """Every event in one server frame, in §2 order: usage → content/tool → control."""
    return list(_events(msg))


def _events(msg: ServerMessage) -> Iterator[Event]:
    if msg.usage_metadata is not None:
        yield Usage(msg.usage_metadata)
    if msg.setup_complete is not None:
        yield SetupComplete(msg.setup_complete.session_id)
    if msg.server_content is not None:
        yield from _content_events(msg.server_content)
    if msg.tool_call is not None:
        yield ToolCallRequested(tuple(msg.tool_call.function_calls or ()))
    if msg.tool_call_cancellation is not None:
        yield ToolCallCancelled(tuple(msg.tool_call_cancellation.ids or ()))
    yield from _control_events(msg)
    yield from _unknown_events(msg)


def _content_events(content: ServerContent) -> Iterator[Event]:
    if _has_text(content.input_transcription):
        yield InputTranscript(*_transcript(content.input_transcription))
    if _has_text(content.interim_input_transcription):
        yield InterimInputTranscript(*_transcript(content.interim_input_transcription))
    yield from _model_turn_events(content.model_turn)
    if _has_text(content.output_transcription):
        yield OutputTranscript(*_transcript(content.output_transcription))
    if content.grounding_metadata is not None:
        yield Grounding(content.grounding_metadata)
    if content.url_context_metadata is not None:
        yield UrlContext(content.url_context_metadata)
    if content.interrupted:
        yield Interrupted()
    if content.generation_complete:
        yield GenerationComplete()
    if content.turn_complete:
        yield TurnComplete(
            content.turn_complete_reason, content.waiting_for_input, content.interaction_status
        )


def _has_text(transcription: Transcription | None) -> bool:
    # An empty {"outputTranscription": {}} opens some turns on Vertex (§4.2): nothing to show.
    return transcription is not None and (bool(transcription.text) or bool(transcription.finished))


def _transcript(transcription: Transcription | None) -> tuple[str, bool | None]:
    assert transcription is not None
    return transcription.text or "", transcription.finished


def _model_turn_events(turn: Content | None) -> Iterator[Event]:
    for part in (turn.parts or []) if turn is not None else []:
        yield from _part_events(part)


def _part_events(part: Part) -> Iterator[Event]:
    if part.text:
        yield Thought(part.text) if part.thought else ModelText(part.text)
    blob = part.inline_data
    if blob is not None and blob.data is not None:
        mime = blob.mime_type or ""
        if mime.startswith("audio/") or not mime:
            yield ModelAudio(blob.data, audio_rate(mime))
        else:
            yield ModelInlineData(blob.mime_type, blob.data)
    if part.executable_code is not None:
        yield ExecutableCode(part.executable_code.language, part.executable_code.code)
    if part.code_execution_result is not None:
        result = part.code_execution_result
        yield CodeExecutionResult(result.outcome, result.output)


def audio_rate(mime_type: str | None, default: int = DEFAULT_OUTPUT_RATE) -> int:
    """The sample rate in ``audio/pcm;rate=24000``; ``default`` when absent or unreadable."""
    for param in (mime_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        digits = value.strip()
        if name.strip().lower() == "rate" and digits.isascii() and digits.isdigit():
            rate = int(digits[:7])  # isdigit() alone takes "²", which int() refuses
            return rate if rate in OUTPUT_RATES else default
    return default


def _control_events(msg: ServerMessage) -> Iterator[Event]:
    update = msg.session_resumption_update
    if update is not None:
        yield ResumptionUpdate(
            update.new_handle, bool(update.resumable), update.last_consumed_client_message_index
        )
    if msg.go_away is not None:
        yield GoAway(msg.go_away.time_left)
    if msg.voice_activity is not None:
        yield VoiceActivity(msg.voice_activity.type, msg.voice_activity.audio_offset)
    if msg.voice_activity_detection_signal is not None:
        yield VadSignal(msg.voice_activity_detection_signal.vad_signal_type)


_KNOWN_FIELDS = (
    "setup_complete", "server_content", "tool_call", "tool_call_cancellation", "go_away",
    "session_resumption_update", "usage_metadata", "voice_activity",
    "voice_activity_detection_signal",
)


def _unknown_events(msg: ServerMessage) -> Iterator[Event]:
    if not msg.extra:
        return
    if all(getattr(msg, name) is None for name in _KNOWN_FIELDS):
        yield ServerErrorPayload(dict(msg.extra))  # §4.8: the SDK raises APIError on these
        return
    for name, value in msg.extra.items():
        yield UnknownField(name, value)
