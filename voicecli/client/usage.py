"""Token usage (live-protocol.md §4.7): one report as JSON, and the sum of a session's reports.

A `usageMetadata` carries totals and, per modality, `promptTokensDetails` /
`responseTokensDetails` (Vertex: `candidatesTokenCount` / `candidatesTokensDetails`, §8). Each
report covers one turn (the service sends it with `turnComplete`): the prompt is everything the
model read for that turn, so a session's tokens are the sum of its reports. Modalities are
reported in lower case (`audio`, `text`, `image`, …); protobuf JSON may send the enum as a
number (§2), which is mapped to its name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from voicecli.protocol.messages import ModalityTokenCount, UsageMetadata

# google.ai.generativelanguage Modality enum numbers (§4.7, §2: enums may travel as numbers)
_MODALITY_NUMBERS = {0: "unspecified", 1: "text", 2: "image", 3: "video", 4: "audio",
                     5: "document"}
_ORDER = ("audio", "text", "image", "video", "document")


def modality_name(value: object) -> str:
    """`AUDIO` / `4` / `MODALITY_UNSPECIFIED` → `audio` / `audio` / `unspecified`."""
    if isinstance(value, int):
        return _MODALITY_NUMBERS.get(value, str(value))
    name = str(value or "unspecified").lower()
    return name.removeprefix("modality_")


def by_modality(details: list[ModalityTokenCount] | None) -> dict[str, int]:
    """`[{modality: AUDIO, tokenCount: 72}, …]` → `{"audio": 72, …}` (repeats are added up)."""
    counts: Counter[str] = Counter()
    for item in details or ():
        counts[modality_name(item.modality)] += int(item.token_count or 0)
    return _ordered(counts)


def response_count(usage: UsageMetadata) -> int | None:
    """`responseTokenCount`, or Vertex's `candidatesTokenCount` (§8)."""
    if usage.response_token_count is not None:
        return usage.response_token_count
    return usage.candidates_token_count


def response_details(usage: UsageMetadata) -> list[ModalityTokenCount] | None:
    if usage.response_tokens_details is not None:
        return usage.response_tokens_details
    return usage.candidates_tokens_details


def usage_fields(usage: UsageMetadata) -> dict[str, Any]:
    """One report as the NDJSON `usage` object (README "NDJSON events"); absent = left out."""
    fields: dict[str, Any] = {
        "prompt_tokens": usage.prompt_token_count,
        "response_tokens": response_count(usage),
        "total_tokens": usage.total_token_count,
        "cached_tokens": usage.cached_content_token_count,
        "thoughts_tokens": usage.thoughts_token_count,
        "tool_use_prompt_tokens": usage.tool_use_prompt_token_count,
    }
    out = {k: v for k, v in fields.items() if v is not None}
    details = {
        "prompt_by_modality": by_modality(usage.prompt_tokens_details),
        "response_by_modality": by_modality(response_details(usage)),
        "cached_by_modality": by_modality(usage.cache_tokens_details),
        "tool_use_by_modality": by_modality(usage.tool_use_prompt_tokens_details),
    }
    out.update({k: v for k, v in details.items() if v})
    return out


@dataclass
class TokenTally:
    """The sum of usage reports: per turn, or for a whole session."""

    reports: int = 0
    prompt: int = 0
    response: int = 0
    total: int = 0
    cached: int = 0
    thoughts: int = 0
    tool_use: int = 0
    prompt_by_modality: Counter[str] = field(default_factory=Counter)
    response_by_modality: Counter[str] = field(default_factory=Counter)

    def add(self, usage: UsageMetadata) -> None:
        self.reports += 1
        self.prompt += usage.prompt_token_count or 0
        self.response += response_count(usage) or 0
        self.total += usage.total_token_count or 0
        self.cached += usage.cached_content_token_count or 0
        self.thoughts += usage.thoughts_token_count or 0
        self.tool_use += usage.tool_use_prompt_token_count or 0
        self.prompt_by_modality.update(by_modality(usage.prompt_tokens_details))
        self.response_by_modality.update(by_modality(response_details(usage)))

    def add_json(self, fields: dict[str, Any]) -> None:
        """Add a `usage` object as `usage_fields` wrote it (batch results.jsonl)."""
        self.reports += 1
        self.prompt += int(fields.get("prompt_tokens") or 0)
        self.response += int(fields.get("response_tokens") or 0)
        self.total += int(fields.get("total_tokens") or 0)
        self.cached += int(fields.get("cached_tokens") or 0)
        self.thoughts += int(fields.get("thoughts_tokens") or 0)
        self.tool_use += int(fields.get("tool_use_prompt_tokens") or 0)
        self.prompt_by_modality.update(fields.get("prompt_by_modality") or {})
        self.response_by_modality.update(fields.get("response_by_modality") or {})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"prompt_tokens": self.prompt, "response_tokens": self.response,
                               "total_tokens": self.total}
        for key, value in (("cached_tokens", self.cached), ("thoughts_tokens", self.thoughts),
                           ("tool_use_prompt_tokens", self.tool_use)):
            if value:
                out[key] = value
        if self.prompt_by_modality:
            out["prompt_by_modality"] = _ordered(self.prompt_by_modality)
        if self.response_by_modality:
            out["response_by_modality"] = _ordered(self.response_by_modality)
        return out

    def summary(self) -> str:
        """`prompt 1234 (audio 1000, text 234) · response 900 (audio 900) · total 2134`."""
        parts = [f"prompt {self.prompt}{_split(self.prompt_by_modality)}",
                 f"response {self.response}{_split(self.response_by_modality)}"]
        if self.thoughts:
            parts.append(f"thoughts {self.thoughts}")
        parts.append(f"total {self.total}")
        return " · ".join(parts)


def _split(counts: Counter[str]) -> str:
    ordered = _ordered(counts)
    if not ordered:
        return ""
    return " (" + ", ".join(f"{name} {n}" for name, n in ordered.items()) + ")"


def _ordered(counts: Counter[str]) -> dict[str, int]:
    known = [m for m in _ORDER if counts.get(m)]
    rest = sorted(m for m in counts if m not in _ORDER and counts[m])
    return {m: counts[m] for m in known + rest}
