"""What a session is given: its accepted setup (`SessionPlan`, made by transport/admission.py)
and the few server settings it reads (`SessionSettings`, which `ServerConfig` satisfies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voicecli.protocol.messages import AutomaticActivityDetection
from voicecli.protocol.model_info import ModelInfo
from voicecli.server.engines.interface import Dialogue
from voicecli.server.session.handles import Snapshot


class SessionSettings(Protocol):
    """The server settings a session uses: its voice, its recogniser, its reply pacing."""

    @property
    def tts(self) -> str: ...

    @property
    def asr(self) -> str: ...

    @property
    def asr_model(self) -> str | None: ...

    @property
    def pace(self) -> float: ...

    def hears_english_only(self) -> bool: ...


@dataclass
class SessionPlan:
    """An accepted setup, digested."""

    model: str  # bare id, e.g. gemini-3.8-live
    info: ModelInfo
    conversation: Dialogue
    aad: AutomaticActivityDetection | None
    interrupts: bool  # activityHandling START_OF_ACTIVITY_INTERRUPTS (§3.1.5)
    input_transcription: bool
    output_transcription: bool
    resumption: bool
    compression: tuple[int, int] | None  # (trigger, target) tokens (§3.1.8)
    restored: Snapshot | None = None
    backend: str = "gemini"  # "vertex" on the aiplatform path (§8)
    seeding: bool = False  # historyConfig.initialHistoryInClientContent (§3.1.11)
    media_resolution: str | None = None  # generationConfig.mediaResolution: tokens per image (§6)
