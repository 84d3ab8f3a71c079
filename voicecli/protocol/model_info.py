"""What a Live model is: its id, family and capabilities (live-protocol.md §7).

A module of its own so that the option rules (``setup_rules``) and the model table (``models``)
both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Thinking = Literal["budget", "level"]
Proactive = Literal["optional", "always"]
ClientContentUse = Literal["whole_session", "seed_only", "none"]
ONLY_ACTIVITY = "TURN_INCLUDES_ONLY_ACTIVITY"
ALL_INPUT = "TURN_INCLUDES_ALL_INPUT"
AUDIO_AND_VIDEO = "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"  # added 2026-03 (§3.1.5)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    family: str
    summary: str
    response_modalities: tuple[str, ...] = ("AUDIO",)
    thinking: Thinking | None = None  # which thinkingConfig knob it takes; None = none
    thinking_levels: tuple[str, ...] = ()  # thinkingLevel values it takes (§7.1)
    thinking_budget_max: int | None = None  # thinkingBudget ceiling (-1 dynamic, 0 off)
    affective_dialog: bool = False
    affective_needs_v1alpha: bool = False  # §1.3 (Gemini API only)
    proactive_audio: Proactive | None = None  # None = not supported
    proactive_needs_v1alpha: bool = False
    non_blocking_functions: bool = False  # behavior NON_BLOCKING accepted (§3.1.4, §5.5)
    blocking_functions: bool = True  # 3.8-extended-thinking: async only
    default_function_behavior: str = "BLOCKING"
    scheduling: bool = False  # FunctionResponse.scheduling meaningful (NON_BLOCKING only, §3.4)
    google_search: bool = True
    code_execution: bool = False
    url_context: bool = False
    language_code: bool = False  # speechConfig.languageCode (half-cascade only, §7.1)
    transcription_hints: bool = False  # AudioTranscriptionConfig languageCodes, … (§3.1.6)
    catalog_voices: bool = False  # voice ids like `en-us-tavi` besides the prebuilt (§7.2)
    video_input: bool = True  # takes video/image input, so mediaResolution applies (§6)
    turn_coverages: tuple[str, ...] = (ONLY_ACTIVITY, ALL_INPUT)  # §3.1.5
    max_output_tokens: int | None = None  # §5.7
    client_content: ClientContentUse = "whole_session"  # §3.2
    translation: bool = False
    system_instruction: bool = True
    tools: bool = True
    default_turn_coverage: str = ONLY_ACTIVITY
    backends: tuple[str, ...] = ("gemini",)
    status: str = "preview"
