"""The Gemini Live protocol, sans I/O: wire objects, codec, events, sessions, model table.

Imports only the standard library and ``voicecli.errors`` (tests/protocol/test_no_io_imports.py).
Wire reference: ../shared/live-protocol.md (cited as §N throughout).
"""

from voicecli.protocol import events
from voicecli.protocol.closecodes import classify_close, is_retryable
from voicecli.protocol.codec import (
    decode_client,
    decode_server,
    encode,
    encode_pretty,
    envelope,
    from_wire,
    to_wire,
)
from voicecli.protocol.events import Event, events_from
from voicecli.protocol.messages import (
    ActivityEnd,
    ActivityStart,
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Blob,
    ClientContent,
    ClientMessage,
    CodeExecutionResult,
    Content,
    ContextWindowCompression,
    ExecutableCode,
    FileData,
    FunctionCall,
    FunctionDeclaration,
    FunctionResponse,
    FunctionResponsePart,
    GenerationConfig,
    GoAway,
    HistoryConfig,
    ModalityTokenCount,
    Part,
    PrebuiltVoiceConfig,
    ProactivityConfig,
    RealtimeInput,
    RealtimeInputConfig,
    SafetySetting,
    ServerContent,
    ServerMessage,
    SessionResumptionConfig,
    SessionResumptionUpdate,
    Setup,
    SetupComplete,
    SlidingWindow,
    SpeechConfig,
    ThinkingConfig,
    Tool,
    ToolCall,
    ToolCallCancellation,
    ToolResponse,
    Transcription,
    TranslationConfig,
    UsageMetadata,
    VoiceActivity,
    VoiceActivityDetectionSignal,
    VoiceConfig,
)
from voicecli.protocol.models import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    ModelInfo,
    check_function_responses,
    check_setup,
    model_info,
)
from voicecli.protocol.session import ClientSession, ServerSession
from voicecli.protocol.state import State

__all__ = [
    "DEFAULT_MODEL", "KNOWN_MODELS", "ActivityEnd", "ActivityStart", "AudioTranscriptionConfig",
    "AutomaticActivityDetection", "Blob", "ClientContent", "ClientMessage", "ClientSession",
    "CodeExecutionResult", "Content", "ContextWindowCompression", "Event", "ExecutableCode",
    "FileData", "FunctionCall", "FunctionDeclaration", "FunctionResponse", "FunctionResponsePart",
    "GenerationConfig", "GoAway", "HistoryConfig", "ModalityTokenCount", "ModelInfo", "Part",
    "PrebuiltVoiceConfig", "ProactivityConfig", "RealtimeInput", "RealtimeInputConfig",
    "SafetySetting", "ServerContent", "ServerMessage", "ServerSession", "SessionResumptionConfig",
    "SessionResumptionUpdate", "Setup", "SetupComplete", "SlidingWindow", "SpeechConfig", "State",
    "ThinkingConfig", "Tool", "ToolCall", "ToolCallCancellation", "ToolResponse", "Transcription",
    "TranslationConfig", "UsageMetadata", "VoiceActivity", "VoiceActivityDetectionSignal",
    "VoiceConfig", "check_function_responses", "check_setup", "classify_close", "decode_client",
    "decode_server", "encode", "encode_pretty", "envelope", "events", "events_from", "from_wire",
    "is_retryable", "model_info", "to_wire",
]
