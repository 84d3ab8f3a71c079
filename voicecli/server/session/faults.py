"""Fault injection for tests: a `FaultPlan` parsed from a string, applied per connection.

Spec grammar (comma-separated, any order, each at most once)::

    close-after=N[:CODE]      close with CODE (default 1011) right after the Nth server frame
    drop-after=N              drop the TCP connection (no close frame: the client sees 1006)
                              right after the Nth server frame
    goaway-after=T[:LEFT]     send goAway T seconds after setupComplete (timeLeft LEFT seconds,
                              default: the server's grace), then 1008 if the client overstays
    goaway-in-reply=T[:LEFT]  the same, T seconds after the connection's first frame of reply
                              audio went out (a goAway that lands mid-reply however long the
                              reply took to start)
    delay-ms=MS               delay every server frame by MS milliseconds
    malformed-every=N         before every Nth real server frame, send a non-JSON binary frame
    fail-first=N[:CODE]       the first N connections of the server answer `setup` with a
                              close CODE (default 1011) instead of setupComplete (§5.1)
    connections=K             the frame faults above (close-after, drop-after, goaway-after,
                              delay-ms, malformed-every) hit only the first K connections of
                              the server (default: every one), so a resumed one can finish
                              (goaway-in-reply too)

Close reasons are the service's own wording for the code (§5.9), so clients classify them as
they would classify the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

DEFAULT_FAULT_CODE = 1011

#: The reason the service gives with each code (§5.9); used for injected closes.
CLOSE_REASONS: dict[int, str] = {
    1000: "",
    1001: "Going away.",
    1007: "Request contains an invalid argument.",
    1008: "Operation is not implemented, or supported, or enabled",
    1011: "Internal error occurred.",
    1013: "The service is currently unavailable.",
}

_KEYS = ("close-after", "drop-after", "goaway-after", "goaway-in-reply", "delay-ms",
         "malformed-every", "fail-first", "connections")
#: A server frame carrying reply audio (serverContent.modelTurn.parts[].inlineData, §4.2).
REPLY_AUDIO_MARK = b'"inlineData"'
_UNSENDABLE = {1004, 1005, 1006, 1015}  # reserved: never sent in a close frame (RFC 6455 §7.4.1)


def close_reason(code: int) -> str:
    """The service's wording for an injected close with this code."""
    return CLOSE_REASONS.get(code, "Injected fault.")


@dataclass(frozen=True)
class FaultPlan:
    """What to break, and when. The default plan breaks nothing."""

    close_after: tuple[int, int] | None = None  # (frames, code)
    drop_after: int | None = None
    goaway_after_s: float | None = None
    goaway_time_left_s: float | None = None
    goaway_in_reply: tuple[float, float | None] | None = None  # (seconds into it, timeLeft)
    delay_ms: float = 0.0
    malformed_every: int | None = None
    fail_first: tuple[int, int] | None = None  # (connections, code)
    connections: int | None = None  # frame faults only on the first K connections

    def for_connection(self, index: int) -> FaultPlan:
        """The frame faults connection `index` (1-based) gets."""
        if self.connections is None or index <= self.connections:
            return self
        return FaultPlan()

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Parse `"close-after=5:1011,goaway-after=2.5"`; raises ValueError saying what is wrong."""
        values: dict[str, str] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            name, sep, value = item.partition("=")
            name = name.strip().lower()
            if not sep or not value.strip():
                raise ValueError(f"fault {item!r} needs a value, e.g. {name or 'close-after'}=5")
            if name not in _KEYS:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(_KEYS)}")
            if name in values:
                raise ValueError(f"fault {name!r} given twice")
            values[name] = value.strip()
        return cls._from_values(values)

    @classmethod
    def _from_values(cls, v: dict[str, str]) -> FaultPlan:
        goaway = _float_pair(v["goaway-after"], "goaway-after") if "goaway-after" in v else None
        return cls(
            close_after=(
                _count_code(v["close-after"], "close-after") if "close-after" in v else None
            ),
            drop_after=_count(v["drop-after"], "drop-after") if "drop-after" in v else None,
            goaway_after_s=goaway[0] if goaway else None,
            goaway_time_left_s=goaway[1] if goaway else None,
            goaway_in_reply=(_float_pair(v["goaway-in-reply"], "goaway-in-reply")
                             if "goaway-in-reply" in v else None),
            delay_ms=_seconds(v["delay-ms"], "delay-ms") if "delay-ms" in v else 0.0,
            malformed_every=(
                _count(v["malformed-every"], "malformed-every") if "malformed-every" in v else None
            ),
            fail_first=_count_code(v["fail-first"], "fail-first") if "fail-first" in v else None,
            connections=_count(v["connections"], "connections") if "connections" in v else None,
        )

    def __bool__(self) -> bool:
        return self != FaultPlan()

    def describe(self) -> str:
        """The plan as a spec string (round-trips through `parse`)."""
        items: list[str] = []
        if self.close_after:
            items.append(f"close-after={self.close_after[0]}:{self.close_after[1]}")
        if self.drop_after is not None:
            items.append(f"drop-after={self.drop_after}")
        if self.goaway_after_s is not None:
            left = "" if self.goaway_time_left_s is None else f":{self.goaway_time_left_s:g}"
            items.append(f"goaway-after={self.goaway_after_s:g}{left}")
        if self.goaway_in_reply is not None:
            after, time_left = self.goaway_in_reply
            left = "" if time_left is None else f":{time_left:g}"
            items.append(f"goaway-in-reply={after:g}{left}")
        if self.delay_ms:
            items.append(f"delay-ms={self.delay_ms:g}")
        if self.malformed_every is not None:
            items.append(f"malformed-every={self.malformed_every}")
        if self.fail_first:
            items.append(f"fail-first={self.fail_first[0]}:{self.fail_first[1]}")
        if self.connections is not None:
            items.append(f"connections={self.connections}")
        return ",".join(items)


def _count(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} wants a whole number, not {text!r}") from None
    if value < 1:
        raise ValueError(f"{name} wants a number ≥ 1, not {value}")
    return value


def _code(text: str, name: str) -> int:
    try:
        code = int(text)
    except ValueError:
        raise ValueError(f"{name} wants a close code like 1011, not {text!r}") from None
    if not (1000 <= code <= 4999) or code in _UNSENDABLE:
        raise ValueError(f"{name}: {code} cannot be sent in a close frame (use 1000–4999)")
    return code


def _count_code(text: str, name: str) -> tuple[int, int]:
    count, sep, code = text.partition(":")
    return _count(count, name), (_code(code, name) if sep else DEFAULT_FAULT_CODE)


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} wants a number, not {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} wants a finite number ≥ 0, not {text!r}")
    return value


def _float_pair(text: str, name: str) -> tuple[float, float | None]:
    first, sep, second = text.partition(":")
    return _seconds(first, name), (_seconds(second, name) if sep else None)


class After(Enum):
    """What to do once a frame has been sent."""

    NOTHING = "nothing"
    CLOSE = "close"
    DROP = "drop"


class FrameFaults:
    """Per-connection counters for a plan (sans-I/O: the adapter asks, then acts)."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.sent = 0
        self.reply_audio_seen = False

    def first_reply_audio(self, data: bytes) -> bool:
        """Whether `data` is the connection's first frame of reply audio (goaway-in-reply)."""
        if self.reply_audio_seen or self.plan.goaway_in_reply is None:
            return False
        self.reply_audio_seen = REPLY_AUDIO_MARK in data
        return self.reply_audio_seen

    @property
    def delay_s(self) -> float:
        return self.plan.delay_ms / 1000.0

    def malformed_before_next(self) -> bool:
        """Whether a broken frame goes out before the next real one."""
        every = self.plan.malformed_every
        return every is not None and (self.sent + 1) % every == 0

    def after_send(self) -> tuple[After, int]:
        """Count one sent frame; say whether to close (with which code) or drop now."""
        self.sent += 1
        if self.plan.drop_after is not None and self.sent >= self.plan.drop_after:
            return After.DROP, 1006
        if self.plan.close_after is not None and self.sent >= self.plan.close_after[0]:
            return After.CLOSE, self.plan.close_after[1]
        return After.NOTHING, 0


#: What a broken frame looks like on the wire (binary, like every server frame, §2).
MALFORMED_FRAME = b'{\n  "serverContent": {\n    "modelTurn": \x00not json'
