"""Typed reads of one table of a tools or MCP configuration (TOML, or JSON for --mcp-config).

Each mistake is a ConfigError on one line naming where the table came from and the key.
`strict=False` is for a JSON file shared with other apps: their keys are theirs, and the file's
containers are called objects.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

from voicecli.errors import ConfigError


def one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


class TableFields:
    def __init__(self, table: dict[str, Any], where: str, strict: bool = True) -> None:
        self.table, self.where, self.strict = table, where, strict

    @classmethod
    def of(cls, value: Any, where: str, strict: bool = True) -> TableFields:
        if not isinstance(value, dict):
            kind = "a table" if strict else "an object"
            raise ConfigError(f"{where}: must be {kind}, not {type(value).__name__}")
        return cls(value, where, strict)

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ConfigError(one_line(f"{self.where}: {key}: {problem}"))

    def check_keys(self, allowed: Any, kind: str = "") -> None:
        unknown = sorted(set(self.table) - set(allowed))
        if unknown and self.strict:
            takes = f"; a {kind} takes {', '.join(allowed)}" if kind else ""
            self.fail(unknown[0], f"unknown key{takes}")

    def _get(self, key: str, kinds: tuple[type, ...], expected: str) -> Any:
        value = self.table.get(key)
        wrong = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        if value is not None and wrong:
            self.fail(key, f"must be {expected}, not {value!r}")
        return value

    def text(self, key: str) -> str | None:
        return self._get(key, (str,), "a string")

    def flag(self, key: str) -> bool:
        return bool(self._get(key, (bool,), "true or false"))

    def real(self, key: str) -> float | None:
        return self._get(key, (int, float), "a number")

    def positive(self, key: str, default: float, integer: bool = False, unit: str = "") -> float:
        expected = f"a positive number{unit}"
        value = self._get(key, (int,) if integer else (int, float), expected)
        if value is not None and value <= 0:
            self.fail(key, f"must be {expected}, not {value!r}")
        return default if value is None else value

    def strings(self, key: str) -> list[str] | None:
        value = self._get(key, (list,), "a list of strings")
        if value is not None and not all(isinstance(item, str) for item in value):
            self.fail(key, f"must be a list of strings, not {value!r}")
        return value

    def table_of(self, key: str) -> dict[str, Any]:
        return self._get(key, (dict,), "a table" if self.strict else "an object") or {}

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(key)
        if value is not None and value.upper() not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value.upper() if value is not None else None

    def directory(self, key: str, base: Path, index: int | None = None) -> Path | None:
        raw = self.text(key) if index is None else (self.strings(key) or [])[index]
        if raw is None:
            return None
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_dir():
            self.fail(key, f"no such directory: {path}")
        return path
