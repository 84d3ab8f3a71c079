"""voicecli.protocol is sans-I/O: it may import only the standard library's pure modules and
voicecli.errors / voicecli.protocol (docs/design.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "voicecli" / "protocol"
FORBIDDEN = {
    "asyncio", "websockets", "sounddevice", "rich", "numpy", "socket", "threading", "select",
    "selectors", "ssl", "subprocess", "multiprocessing", "concurrent", "http", "urllib", "trio",
}
ALLOWED_FIRST_PARTY = ("voicecli.errors", "voicecli.protocol")


def imported_modules(source: str) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside voicecli.protocol
                names.append("voicecli.protocol")
            else:
                names.append(node.module or "")
    return names


def bad_import(name: str) -> bool:
    top = name.split(".")[0]
    if top == "voicecli":
        return not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_FIRST_PARTY)
    return top in FORBIDDEN or top not in sys.stdlib_module_names


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_has_modules() -> None:
    assert {p.name for p in MODULES} >= {"codec.py", "messages.py", "session.py", "state.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_imports_no_io(path: Path) -> None:
    bad = [name for name in imported_modules(path.read_text("utf-8")) if bad_import(name)]
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize(
    ("source", "is_bad"),
    [
        ("import asyncio", True),
        ("from websockets.asyncio.client import connect", True),
        ("import numpy as np", True),
        ("from voicecli.client import live", True),
        ("import json, base64", False),
        ("from voicecli.errors import RemoteProtocolError", False),
        ("from . import codec", False),
    ],
)
def test_the_checker_itself(source: str, is_bad: bool) -> None:
    assert any(bad_import(n) for n in imported_modules(source)) is is_bad
