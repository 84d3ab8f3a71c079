"""Numbers read from text the user, a peer or the system wrote.

`str.isdigit()` is true for "²", "٣" and "๓": `int()` refuses the first (a ValueError where the
caller thought it had checked) and reads the others as 3, so a check with it lets through what
no one meant as a number. These accept ASCII digits only.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-?[0-9]+")


def is_digits(text: str) -> bool:
    """Whether `text` is one or more ASCII digits and nothing else."""
    return _DIGITS.fullmatch(text) is not None


def whole_number(text: str, *, signed: bool = False) -> int | None:
    """`text` (surrounding spaces ignored) as an int when it is ASCII digits (with one leading
    "-" if `signed`), else None."""
    text = text.strip()
    return int(text) if (_SIGNED if signed else _DIGITS).fullmatch(text) else None
