"""WebSocket close codes and reasons → voicecli errors (live-protocol.md §5.9).

The service reports failures by closing with a code and a human-readable reason, often cut at the
123-byte close-frame limit. There is no documented mapping; the rules below follow the reasons
observed in practice. Each error carries one line: what happened, and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voicecli.errors import (
    AuthenticationError,
    NetworkError,
    ServiceRefused,
    ServiceUnavailable,
    VoicecliError,
)

NORMAL = 1000
GOING_AWAY = 1001
ABNORMAL = 1006  # no close frame (the SDK synthesises it, §5.9)
INVALID_PAYLOAD = 1007
POLICY = 1008
INTERNAL = 1011
#: Codes that mean "the service is restarting or overloaded; try again" (RFC 6455 §7.4.1, IANA).
_TRANSIENT = frozenset({GOING_AWAY, ABNORMAL, 1012, 1013, 1014})
_QUOTA_WORDS = ("quota", "exhausted", "billing", "credits", "prepayment", "rate limit")


@dataclass(frozen=True, slots=True)
class _Rule:
    code: int
    words: tuple[str, ...]  # any of these in the lowercased reason; () matches every reason
    error: type[VoicecliError]
    advice: str


_RULES: tuple[_Rule, ...] = (
    _Rule(INVALID_PAYLOAD, ("api key",), AuthenticationError,
          "the service rejected the API key. Check GEMINI_API_KEY or --api-key"),
    _Rule(INVALID_PAYLOAD, ("location is not supported",), ServiceRefused,
          "the Gemini API is not available from your location; try --backend vertex"),
    _Rule(INVALID_PAYLOAD, ("speaker voice",), ServiceRefused,
          "the model has no such voice. Pick a prebuilt voice such as Kore or Puck with --voice"),
    _Rule(INVALID_PAYLOAD, ("sample rate",), ServiceRefused,
          "the input sample rate changed mid-session; keep one rate (voicecli sends 16 kHz)"),
    _Rule(INVALID_PAYLOAD, ("no response was generated",), ServiceRefused,
          "the service closed an idle session; start a new one"),
    _Rule(INVALID_PAYLOAD, ("not supported in the live api",), ServiceRefused,
          "that model cannot do Live sessions. Run `voicecli models` or pass --model"),
    _Rule(INVALID_PAYLOAD, (), ServiceRefused,
          "the service refused the setup or a message. Check the options against "
          "`voicecli models` (a model may reject voice, language or modality settings)"),
    _Rule(POLICY, ("goaway",), ServiceRefused,
          "the connection outlived its goAway window; it must be closed and resumed in time"),
    _Rule(POLICY, ("not found", "not supported for bidigeneratecontent"), ServiceRefused,
          "the model is not available for Live on this endpoint. Run `voicecli models` or "
          "pass --model (and check --api-version / --backend)"),
    _Rule(POLICY, ("not implemented", "not supported, or enabled"), ServiceRefused,
          "the service refused the operation (seen intermittently with tools on 2.5 native "
          "audio); retry, or drop tools"),
    _Rule(POLICY, (), ServiceRefused,
          "the service refused the session on policy grounds; check the model and key"),
    _Rule(INTERNAL, _QUOTA_WORDS, ServiceRefused,
          "quota or billing exhausted; check your plan and billing, or wait and retry later"),
    _Rule(INTERNAL, (), ServiceUnavailable,
          "the service failed on its side; voicecli retries, or try again in a moment"),
    _Rule(ABNORMAL, (), NetworkError,
          "the connection dropped without a close frame; check the network and retry"),
    _Rule(GOING_AWAY, (), ServiceUnavailable,
          "the service is going away (restart or overload); retry"),
)


def _matches(rule: _Rule, code: int, reason: str) -> bool:
    return rule.code == code and (not rule.words or any(w in reason for w in rule.words))


def _first_rule(code: int, reason: str) -> _Rule | None:
    lowered = reason.lower()
    return next((r for r in _RULES if _matches(r, code, lowered)), None)


def _quote(reason: str) -> str:
    reason = " ".join(reason.split())[:160]
    return f': "{reason}"' if reason else ""


def classify_close(code: int, reason: str) -> VoicecliError | None:
    """The error a close means (§5.9), or None for a normal close (1000)."""
    if code == NORMAL:
        return None
    rule = _first_rule(code, reason)
    make: Callable[[str], VoicecliError]
    if rule is None:
        make = ServiceUnavailable if code in _TRANSIENT else NetworkError
        advice = "the connection closed unexpectedly; retry"
    else:
        make, advice = rule.error, rule.advice
    return make(f"{advice} (close {code}{_quote(reason)})").closed_with(code, reason)


def is_retryable(code: int, reason: str) -> bool:
    """Whether reconnecting (with the latest resumption handle) may help (§5.9, §10).

    1011 (except quota/billing) and a lost connection (1006) yes; 1007/1008 never — the same
    request would be refused again.
    """
    if code == INTERNAL:
        return not any(word in reason.lower() for word in _QUOTA_WORDS)
    return code in _TRANSIENT
