"""Token estimates for `usageMetadata` (live-protocol.md §4.7) and context compression (§3.1.8).

The service counts real tokens; the local server estimates: text ≈ 4 characters per token,
audio 32 tokens per second (the documented rate for audio input).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from voicecli.protocol.messages import ModalityTokenCount, UsageMetadata
from voicecli.server.engines.interface import Turn

CHARS_PER_TOKEN = 4
AUDIO_TOKENS_PER_S = 32
PCM16_BYTES_PER_S_24K = 48_000


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def audio_tokens(seconds: float) -> int:
    return math.ceil(seconds * AUDIO_TOKENS_PER_S) if seconds > 0 else 0


def image_tokens(media_resolution: str | None = None) -> int:
    """§6: a frame costs 64 tokens at MEDIA_RESOLUTION_LOW, 256 at MEDIUM/HIGH (the default)."""
    return 64 if (media_resolution or "").endswith("LOW") else 256


def history_tokens(history: Sequence[Turn], system_instruction: str = "") -> int:
    return text_tokens(system_instruction) + sum(text_tokens(t.text) for t in history)


@dataclass
class UsageEstimate:
    """Counts per modality for one turn; `prompt` covers everything the model read."""

    prompt: Counter[str] = field(default_factory=Counter)
    response: Counter[str] = field(default_factory=Counter)
    thought_tokens: int = 0  # thought summaries (thoughtsTokenCount, §4.7)

    def prompt_text(self, text: str) -> None:
        self.prompt["TEXT"] += text_tokens(text)

    def prompt_audio(self, seconds: float) -> None:
        self.prompt["AUDIO"] += audio_tokens(seconds)

    def prompt_images(self, count: int, media_resolution: str | None = None) -> None:
        """Video frames and images the turn read; reported as IMAGE, as the service reports
        realtimeInput.video frames."""
        self.prompt["IMAGE"] += count * image_tokens(media_resolution)

    def response_text(self, text: str) -> None:
        self.response["TEXT"] += text_tokens(text)

    def response_audio(self, seconds: float) -> None:
        self.response["AUDIO"] += audio_tokens(seconds)

    def thoughts(self, text: str) -> None:
        self.thought_tokens += text_tokens(text)

    def to_usage(self, vertex: bool = False) -> UsageMetadata:
        """The `usageMetadata` of the turn (§4.7); Vertex names the response `candidates` (§8)."""
        prompt = sum(self.prompt.values())
        response = sum(self.response.values())
        usage = UsageMetadata(
            prompt_token_count=prompt,
            total_token_count=prompt + response + self.thought_tokens,
            prompt_tokens_details=_details(self.prompt),
            thoughts_token_count=self.thought_tokens or None,
        )
        if vertex:
            usage.candidates_token_count = response
            usage.candidates_tokens_details = _details(self.response)
        else:
            usage.response_token_count = response
            usage.response_tokens_details = _details(self.response)
        return usage


def _details(counts: Counter[str]) -> list[ModalityTokenCount]:
    return [
        ModalityTokenCount(modality=m, token_count=n) for m, n in sorted(counts.items()) if n > 0
    ]


def trim_history(history: list[Turn], trigger: int, target: int, system: str = "") -> list[Turn]:
    """§3.1.8 sliding window: once over `trigger` tokens, drop the oldest turns until at most
    `target` remain, restarting at a user turn. The system instruction is always kept."""
    if history_tokens(history, system) <= trigger:
        return history
    kept = list(history)
    while kept and history_tokens(kept, system) > target:
        kept.pop(0)
        while kept and kept[0].role != "user":
            kept.pop(0)
    return kept
