"""Building the `setup` message from settings (live-protocol.md §3.1), checked against §7."""

from __future__ import annotations

from dataclasses import dataclass

from voicecli.client.setup_tools import setup_tools
from voicecli.errors import CapabilityError
from voicecli.protocol.messages import (
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Content,
    ContextWindowCompression,
    GenerationConfig,
    Part,
    PrebuiltVoiceConfig,
    RealtimeInputConfig,
    SessionResumptionConfig,
    Setup,
    SlidingWindow,
    SpeechConfig,
    VoiceConfig,
)
from voicecli.protocol.models import check_setup, model_info
from voicecli.protocol.voices import canonical_voice
from voicecli.settings import Settings
from voicecli.tools.spec import ToolDef


@dataclass(frozen=True)
class SetupOptions:
    """What the command needs on top of the settings."""

    conversation: bool = False  # long-lived: context compression on (§3.1.8)
    manual_activity: bool = False  # client sends activityStart/activityEnd (§5.4)
    input_transcription: bool = False
    needs_audio_out: bool = False
    # server voice activity detection (§3.1.5); None leaves the service's default
    vad_silence_ms: int | None = None
    vad_start_sensitivity: str | None = None  # START_SENSITIVITY_LOW | START_SENSITIVITY_HIGH
    vad_end_sensitivity: str | None = None  # END_SENSITIVITY_LOW | END_SENSITIVITY_HIGH
    no_interruption: bool = False  # activityHandling NO_INTERRUPTION: speaking never cuts a reply
    tools: tuple[ToolDef, ...] = ()  # declared functions (voicecli.tools; setup_tools.py)


def response_modality(settings: Settings, needs_audio_out: bool) -> str:
    """AUDIO or TEXT: honour --response, else TEXT where the model can answer in text."""
    info = model_info(settings.model)
    response = settings.model_options.response
    if response == "audio" or needs_audio_out:
        if response == "text":
            raise CapabilityError("--response text cannot save spoken audio; drop --audio-out")
        return "AUDIO"
    if response == "text":
        return "TEXT"
    if info is not None and "TEXT" in info.response_modalities:
        return "TEXT"
    return "AUDIO"


def build_setup(settings: Settings, model_name: str, options: SetupOptions) -> Setup:
    """The setup message for these settings; raises CapabilityError before anything is sent."""
    modality = response_modality(settings, options.needs_audio_out)
    setup = Setup(
        model=model_name,
        generation_config=GenerationConfig(
            response_modalities=[modality], speech_config=_speech_config(settings)
        ),
        session_resumption=SessionResumptionConfig(),
    )
    if settings.system_instruction:
        setup.system_instruction = Content(parts=[Part(text=settings.system_instruction)])
    if modality == "AUDIO":
        setup.output_audio_transcription = AudioTranscriptionConfig()
    if options.input_transcription:
        setup.input_audio_transcription = AudioTranscriptionConfig()
    setup.realtime_input_config = _realtime_input_config(options)
    if options.conversation and settings.context_compression:
        setup.context_window_compression = ContextWindowCompression(sliding_window=SlidingWindow())
    setup.tools = setup_tools(model_name, options.tools, google_search=settings.google_search,
                              code_execution=settings.code_execution)
    settings.model_options.apply(setup)
    check_setup(setup, api_version=settings.connection.api_version, backend=_backend(settings))
    return setup


def _realtime_input_config(options: SetupOptions) -> RealtimeInputConfig | None:
    """realtimeInputConfig (§3.1.5), or None when every field keeps the service's default."""
    if options.manual_activity:
        detection = AutomaticActivityDetection(disabled=True)
    else:
        detection = AutomaticActivityDetection(
            start_of_speech_sensitivity=options.vad_start_sensitivity,
            end_of_speech_sensitivity=options.vad_end_sensitivity,
            silence_duration_ms=options.vad_silence_ms,
        )
    handling = "NO_INTERRUPTION" if options.no_interruption else None
    if detection == AutomaticActivityDetection() and handling is None:
        return None
    return RealtimeInputConfig(automatic_activity_detection=detection, activity_handling=handling)


def _speech_config(settings: Settings) -> SpeechConfig | None:
    if not settings.voice:  # --language: ModelOptions.apply (where it goes depends on the model)
        return None
    config = SpeechConfig()
    if settings.voice:
        config.voice_config = VoiceConfig(
            prebuilt_voice_config=PrebuiltVoiceConfig(
                voice_name=canonical_voice(settings.voice) or settings.voice
            )
        )
    return config


def _backend(settings: Settings) -> str:
    return "vertex" if settings.connection.backend == "vertex" else "gemini"
