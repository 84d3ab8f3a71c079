"""Built-ins: current_time, and read_file confined to its root (traversal and symlinks refused)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from voicecli.errors import ConfigError
from voicecli.tools import ToolDef, declaration

from .helpers import toml_str, tool_named, tools_from


def read_file_tool(root: Path, extra: str = "") -> ToolDef:
    return tool_named(f"""
        [tools]
        builtins = ["read_file", "current_time"]
        read_file_root = {toml_str(root)}
        {extra}
    """, "read_file")


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    (root / "sub").mkdir(parents=True)
    (root / "todo.md").write_text("buy milk\n")
    (root / "sub" / "plan.txt").write_text("step 1 – ünïcödé\n")
    (tmp_path / "secret.txt").write_text("outside!")
    return root


async def test_current_time_in_a_zone_and_locally() -> None:
    tool = tool_named('[tools]\nbuiltins = ["current_time"]', "current_time")
    assert tool.kind == "builtin" and "date and time" in tool.description
    paris = await tool.execute({"timezone": "Europe/Paris"})
    assert paris["timezone"] == "Europe/Paris"
    parsed = datetime.fromisoformat(paris["time"])
    assert parsed.utcoffset() is not None and paris["weekday"] == parsed.strftime("%A")
    local = await tool.execute({})
    assert local["timezone"].startswith("local (")
    assert abs(datetime.fromisoformat(local["time"]).timestamp() - datetime.now().timestamp()) < 5


async def test_current_time_refuses_an_unknown_zone() -> None:
    tool = tool_named('[tools]\nbuiltins = ["current_time"]', "current_time")
    for zone in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime"):
        result = await tool.execute({"timezone": zone})
        assert result["error"].startswith(f"unknown time zone {zone!r}")


async def test_read_file_reads_text_under_the_root(notes: Path) -> None:
    tool = read_file_tool(notes)
    assert declaration(tool, True).parameters["required"] == ["path"]  # type: ignore[index]
    assert await tool.execute({"path": "todo.md"}) == {"path": "todo.md", "content": "buy milk\n"}
    result = await tool.execute({"path": "sub/../sub/plan.txt"})
    assert result["content"] == "step 1 – ünïcödé\n"


@pytest.mark.parametrize(
    "path",
    ["../secret.txt", "sub/../../secret.txt", "SECRET", "/etc/passwd", "escape",
     "sub/escape_dir/secret.txt"],
)
async def test_read_file_refuses_anything_outside_the_root(notes: Path, path: str) -> None:
    secret = notes.parent / "secret.txt"
    (notes / "escape").symlink_to(secret)
    (notes / "sub" / "escape_dir").symlink_to(notes.parent)
    path = str(secret) if path == "SECRET" else path
    result = await read_file_tool(notes).execute({"path": path})
    assert "outside!" not in str(result)
    assert result["error"] in (
        "path is outside the shared folder", "path must be relative to the shared folder",
    )


async def test_a_symlink_inside_the_root_is_followed(notes: Path) -> None:
    (notes / "link.md").symlink_to(notes / "todo.md")
    result = await read_file_tool(notes).execute({"path": "link.md"})
    assert result["content"] == "buy milk\n"


async def test_a_root_given_through_a_symlink_works(notes: Path, tmp_path: Path) -> None:
    (tmp_path / "alias").symlink_to(notes)
    result = await read_file_tool(tmp_path / "alias").execute({"path": "todo.md"})
    assert result["content"] == "buy milk\n"


@pytest.mark.parametrize(
    ("make", "error"),
    [
        ("missing", "no such file"),
        ("dir", "not a regular file"),
        ("fifo", "not a regular file"),
        ("binary", "not a text file"),
        ("latin1", "not a UTF-8 text file"),
        ("empty", "path is empty"),
    ],
)
async def test_read_file_refuses_what_is_not_a_text_file(
    notes: Path, make: str, error: str
) -> None:
    target = notes / make
    if make == "dir":
        target.mkdir()
    elif make == "fifo":
        os.mkfifo(target)
    elif make == "binary":
        target.write_bytes(b"\x7fELF\x00\x01")
    elif make == "latin1":
        target.write_bytes("café".encode("latin-1"))
    result = await read_file_tool(notes).execute({"path": "" if make == "empty" else make})
    assert result == {"error": error}


async def test_read_file_caps_the_size(notes: Path) -> None:
    (notes / "big.txt").write_text("é" * 100)  # 200 bytes
    tool = read_file_tool(notes, "read_file_max_bytes = 51")
    result = await tool.execute({"path": "big.txt"})
    assert result["content"] == "é" * 25  # the half character at the cut is left out
    assert result["truncated"] == "the file has 200 bytes; the first 51 are shown"


def test_builtins_are_opt_in_and_checked(tmp_path: Path) -> None:
    assert tools_from("[tools]\nbuiltins = []") == []
    assert tools_from("other = 1") == []
    with pytest.raises(ConfigError, match=r"builtins: no built-in 'shell'; they are"):
        tools_from('[tools]\nbuiltins = ["shell"]')
    with pytest.raises(ConfigError, match="read_file_root: read_file needs read_file_root"):
        tools_from('[tools]\nbuiltins = ["read_file"]')
    with pytest.raises(ConfigError, match="read_file_root: no such directory"):
        tools_from('[tools]\nbuiltins = ["read_file"]\nread_file_root = "nope"', base=tmp_path)
