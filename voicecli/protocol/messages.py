"""Typed wire objects of the Live protocol (live-protocol.md §3 client→server, §4 server→client).

Conventions, shared by every class here (the codec in ``codec.py`` walks these definitions):

* attribute names are the snake_case proto names; on the wire they are lowerCamelCase (§2);
* every field is optional: ``None`` means "absent on the wire";
* ``extra`` keeps unknown keys verbatim and the codec re-emits them as they came (forward
  compatibility: a newer service may add fields at any depth; they are never fatal);
* ``dict[str, Any]`` / ``Any`` fields are opaque JSON (function args, JSON schemas, grounding
  metadata, …): stored and re-encoded verbatim, their key casing is never touched;
* ``bytes`` fields travel as base64; ``DURATION`` fields are float seconds (wire ``"50s"``);
* ``EnumValue`` fields are enum names as strings (``"AUDIO"``); an integer enum value, which
  protobuf JSON also accepts (§2), is kept as the int it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

EnumValue: TypeAlias = str | int
#: field metadata marking a protobuf Duration (float seconds in Python, ``"30.5s"`` on the wire)
DURATION: dict[str, Any] = {"duration": True}


def _duration() -> Any:
    return field(default=None, metadata=DURATION)


def _extra() -> Any:
    return field(default_factory=dict)


# ---- shared content types (§3.2, §4.2) ---------------------------------------------------------


@dataclass(slots=True)
class Blob:
    mime_type: str | None = None
    data: bytes | None = None
    display_name: str | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class FileData:
    mime_type: str | None = None
    file_uri: str | None = None
    display_name: str | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ExecutableCode:
    language: EnumValue | None = None
    code: str | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class CodeExecutionResult:
    outcome: EnumValue | None = None
    output: str | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class FunctionCall:
    # field order = proto field numbers, as the service prints them [REC]
    name: str | None = None
    args: dict[str, Any] | None = None  # opaque user data (§4.3)
    id: str | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class FunctionResponsePart:
    inline_data: Blob | None = None
    file_data: FileData | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class FunctionResponse:
    id: str | None = None
    name: str | None = None
    response: dict[str, Any] | None = None  # opaque user data (§3.4)
    scheduling: EnumValue | None = None  # SILENT | WHEN_IDLE | INTERRUPT
    will_continue: bool | None = None
    parts: list[FunctionResponsePart] | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class Part:
    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    thought: bool | None = None
    thought_signature: bytes | None = None
    executable_code: ExecutableCode | None = None
    code_execution_result: CodeExecutionResult | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class Content:
    role: str | None = None
    parts: list[Part] | None = None
    extra: dict[str, Any] = _extra()


# ---- setup (§3.1) -------------------------------------------------------------------------------


@dataclass(slots=True)
class PrebuiltVoiceConfig:
    voice_name: str | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class VoiceConfig:
    prebuilt_voice_config: PrebuiltVoiceConfig | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class SpeechConfig:
    voice_config: VoiceConfig | None = None
    language_code: str | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ThinkingConfig:
    thinking_budget: int | None = None  # 2.5 models (§7)
    thinking_level: EnumValue | None = None  # 3.1 and 3.8-extended-thinking (§7)
    include_thoughts: bool | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class TranslationConfig:
    target_language_code: str | None = None
    echo_target_language: bool | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class GenerationConfig:
    response_modalities: list[EnumValue] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    candidate_count: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    media_resolution: EnumValue | None = None
    speech_config: SpeechConfig | None = None
    thinking_config: ThinkingConfig | None = None
    enable_affective_dialog: bool | None = None  # §3.1.10: inside generationConfig
    translation_config: TranslationConfig | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class FunctionDeclaration:
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None  # opaque OpenAPI-subset schema
    parameters_json_schema: Any = None  # opaque JSON Schema
    response: dict[str, Any] | None = None
    response_json_schema: Any = None
    behavior: EnumValue | None = None  # BLOCKING | NON_BLOCKING (§3.1.4)
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class Tool:
    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None
    code_execution: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None
    google_maps: dict[str, Any] | None = None
    google_search_retrieval: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class AutomaticActivityDetection:
    disabled: bool | None = None
    start_of_speech_sensitivity: EnumValue | None = None
    end_of_speech_sensitivity: EnumValue | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class RealtimeInputConfig:
    automatic_activity_detection: AutomaticActivityDetection | None = None
    activity_handling: EnumValue | None = None
    turn_coverage: EnumValue | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class SessionResumptionConfig:
    handle: str | None = None
    transparent: bool | None = None  # Vertex only (§3.1.7)
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class SlidingWindow:
    target_tokens: int | None = None  # int64
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ContextWindowCompression:
    trigger_tokens: int | None = None  # int64
    sliding_window: SlidingWindow | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class AudioTranscriptionConfig:
    language_codes: list[str] | None = None
    custom_vocabulary: list[str] | None = None
    word_timestamp: bool | None = None
    diarization: bool | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ProactivityConfig:
    proactive_audio: bool | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class HistoryConfig:
    initial_history_in_client_content: bool | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class SafetySetting:
    category: EnumValue | None = None
    threshold: EnumValue | None = None
    method: EnumValue | None = None  # Vertex only
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class Setup:
    model: str | None = None
    generation_config: GenerationConfig | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    session_resumption: SessionResumptionConfig | None = None
    context_window_compression: ContextWindowCompression | None = None
    input_audio_transcription: AudioTranscriptionConfig | None = None
    output_audio_transcription: AudioTranscriptionConfig | None = None
    proactivity: ProactivityConfig | None = None
    history_config: HistoryConfig | None = None
    safety_settings: list[SafetySetting] | None = None
    avatar_config: dict[str, Any] | None = None  # opaque (Vertex Live Avatar, §3.1.12)
    explicit_vad_signal: bool | None = None  # Vertex only
    extra: dict[str, Any] = _extra()


# ---- the other client messages (§3.2–3.4) -------------------------------------------------------


@dataclass(slots=True)
class ClientContent:
    turns: list[Content] | None = None
    turn_complete: bool | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ActivityStart:
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ActivityEnd:
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class RealtimeInput:
    audio: Blob | None = None
    video: Blob | None = None
    text: str | None = None
    activity_start: ActivityStart | None = None
    activity_end: ActivityEnd | None = None
    audio_stream_end: bool | None = None
    media_chunks: list[Blob] | None = None  # deprecated, still accepted (§3.3)
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ToolResponse:
    function_responses: list[FunctionResponse] | None = None
    extra: dict[str, Any] = _extra()


ClientMessage: TypeAlias = Setup | ClientContent | RealtimeInput | ToolResponse

# ---- server → client (§4) -----------------------------------------------------------------------


@dataclass(slots=True)
class SetupComplete:
    session_id: str | None = None  # Vertex only (§4.1)
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class Transcription:
    text: str | None = None
    finished: bool | None = None
    language_code: str | None = None
    speaker_label: str | None = None
    words: list[Any] | None = None  # opaque WordInfo objects
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ServerContent:
    model_turn: Content | None = None
    generation_complete: bool | None = None
    turn_complete: bool | None = None
    interrupted: bool | None = None
    grounding_metadata: dict[str, Any] | None = None  # opaque
    input_transcription: Transcription | None = None
    output_transcription: Transcription | None = None
    url_context_metadata: dict[str, Any] | None = None  # opaque
    turn_complete_reason: EnumValue | None = None
    waiting_for_input: bool | None = None
    interim_input_transcription: Transcription | None = None
    interaction_status: EnumValue | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ToolCall:
    function_calls: list[FunctionCall] | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ToolCallCancellation:
    ids: list[str] | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class GoAway:
    time_left: float | None = _duration()  # seconds; wire "50s" (§4.5)
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class SessionResumptionUpdate:
    new_handle: str | None = None
    resumable: bool | None = None
    last_consumed_client_message_index: int | None = None  # int64
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ModalityTokenCount:
    modality: EnumValue | None = None
    token_count: int | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class UsageMetadata:
    prompt_token_count: int | None = None
    cached_content_token_count: int | None = None
    response_token_count: int | None = None
    candidates_token_count: int | None = None  # Vertex's name for responseTokenCount (§4.7)
    tool_use_prompt_token_count: int | None = None
    thoughts_token_count: int | None = None
    total_token_count: int | None = None
    prompt_tokens_details: list[ModalityTokenCount] | None = None
    cache_tokens_details: list[ModalityTokenCount] | None = None
    response_tokens_details: list[ModalityTokenCount] | None = None
    candidates_tokens_details: list[ModalityTokenCount] | None = None  # Vertex
    tool_use_prompt_tokens_details: list[ModalityTokenCount] | None = None
    traffic_type: EnumValue | None = None
    service_tier: EnumValue | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class VoiceActivity:
    type: EnumValue | None = None  # ACTIVITY_START | ACTIVITY_END (§4.8; wire key is "type")
    audio_offset: float | None = _duration()
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class VoiceActivityDetectionSignal:
    vad_signal_type: EnumValue | None = None
    extra: dict[str, Any] = _extra()


@dataclass(slots=True)
class ServerMessage:
    """One server frame. §2: several top-level fields may share a frame; process them all."""

    setup_complete: SetupComplete | None = None
    server_content: ServerContent | None = None
    tool_call: ToolCall | None = None
    tool_call_cancellation: ToolCallCancellation | None = None
    go_away: GoAway | None = None
    session_resumption_update: SessionResumptionUpdate | None = None
    usage_metadata: UsageMetadata | None = None
    voice_activity: VoiceActivity | None = None
    voice_activity_detection_signal: VoiceActivityDetectionSignal | None = None
    extra: dict[str, Any] = _extra()
