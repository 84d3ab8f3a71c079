"""Python tools used by the tests (imported through `target = "tests.tools.sample_tools:…"`)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from pathlib import Path
from typing import Literal, Optional

from voicecli.tools import ToolError

RELEASED = threading.Event()


def get_weather(
    city: str,
    unit: Literal["celsius", "fahrenheit"] = "celsius",
    days: int = 1,
    hourly: bool = False,
    tags: list[str] | None = None,
    ratio: Optional[float] = None,  # noqa: UP045 (the old spelling must work too)
) -> dict[str, object]:
    """Get the weather forecast for a city.

    Uses the forecast service. This second paragraph is not part of the description.

    Args:
        city: The city and country, like "Paris, France".
        unit (str): Temperature unit.
        days: How many days to forecast,
            counting today.
        hourly: Hourly detail.

    Returns:
        The forecast.
    """
    return {"city": city, "unit": unit, "days": days, "hourly": hourly, "tags": tags,
            "ratio": ratio}


async def slow_echo(text: str, delay: float = 0.0) -> str:
    """Say the text back after a delay."""
    await asyncio.sleep(delay)
    return text


def blocking_sleep(seconds: float) -> str:
    """Sleep in a thread."""
    time.sleep(seconds)
    return "slept"


def fails(reason: str) -> str:
    """Always raise."""
    raise KeyError(reason)


def refuses(reason: str) -> str:
    """Raise a ToolError."""
    raise ToolError(reason)


@dataclasses.dataclass
class Point:
    x: float
    y: float


def odd_values() -> object:
    """Return things JSON cannot carry as they are."""
    return {"point": Point(1.0, 2.0), "path": Path("/tmp/x"), "set": {3}, "nan": float("nan"),
            "bytes": b"hi", 7: "seven"}


def no_doc(value: int):  # type: ignore[no-untyped-def]
    return value * 2


def untyped(value):  # type: ignore[no-untyped-def]
    """No hint."""
    return value


def star_args(*values: int) -> int:
    """Varargs."""
    return sum(values)


def nested(matrix: list[list[int]]) -> int:
    """Arrays of arrays."""
    return 0


def int_literal(level: Literal[1, 2]) -> int:
    """An int Literal."""
    return level


NOT_CALLABLE = 42
