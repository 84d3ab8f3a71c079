"""MCP tools in `run_talk` against the real local server and a real MCP server built with the
SDK (tests/tools/mcp_notes_server.py): the echo assistant calls a function when the user's
words name it, the toolCall becomes tools/call, the toolCallCancellation a cancellation on the
server, and the session outlives slow and crashing servers (§3.4, §4.3, §4.4, §5.5)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from tests.talk.test_conversation import FeedMicrophone, Talk, local_server
from tests.tools.helpers import wait_gone
from tests.tools.mcp_helpers import notes_spec
from voicecli.settings import replace
from voicecli.talk.options import TalkOptions
from voicecli.tools import AllowPolicy, ToolUse

#: BLOCKING calls by default (3.8's are NON_BLOCKING), so the turn waits for the result
MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"


class McpTalk(Talk):
    """A Talk that waits long enough for the MCP server to start (seconds on a busy host)."""

    async def __aenter__(self) -> McpTalk:
        import os
        import pty

        self.master, slave = pty.openpty()
        self._task = asyncio.create_task(self._run(os.fdopen(slave, "r")))
        await self.wait_for(lambda e: e["type"] == "setup_complete", within_s=90)
        return self


@asynccontextmanager
async def mcp_talk(tmp_path: Path, policy: AllowPolicy | None = None, call_s: float = 30.0,
                   console: Console | None = None, **env: str) -> AsyncIterator[McpTalk]:
    spec = notes_spec(events=tmp_path / "events", timeout=call_s, **env)
    use = ToolUse(policy=policy or AllowPolicy(all=True), mcp_servers=(spec,))
    async with local_server(pace=0.0) as url:
        talk = McpTalk(url, TalkOptions(), FeedMicrophone(), keys=True)
        talk.settings = replace(talk.settings, model=MODEL)
        talk.said: list[str] = []  # type: ignore[misc]
        talk.run_kwargs = {"tools": use, "console": console, "notify": talk.said.append}
        async with talk:
            yield talk


def events_of(talk: Talk, kind: str) -> list[dict[str, Any]]:
    return [e for e in talk.events if e["type"] == kind]


def server_events(tmp_path: Path) -> list[str]:
    path = tmp_path / "events"
    return path.read_text().splitlines() if path.exists() else []


async def until(check: Any, within_s: float = 15.0) -> None:
    async with asyncio.timeout(within_s):
        while not check():  # noqa: ASYNC110 - a file another process writes: nothing to await
            await asyncio.sleep(0.05)


async def test_a_spoken_request_calls_the_mcp_tool_and_the_reply_tells_its_result(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    async with mcp_talk(tmp_path, NOTES_PID_FILE=str(pids)) as talk:
        talk.press("tnotes add note call the plumber\r")
        turn = await talk.wait_for(lambda e: e["type"] == "turn")
        server, child = map(int, pids.read_text().split())
    (call,), (result,) = events_of(talk, "tool_call"), events_of(talk, "tool_result")
    assert call["name"] == "notes__add_note" and call["args"] == {"text": "call the plumber"}
    assert result["response"] == {"result": "noted: call the plumber"}
    assert 'notes__add_note returned {"result": "noted: call the plumber"}' in turn["model"]
    assert await wait_gone(server) and await wait_gone(child)  # stopped with the session


async def test_two_mcp_calls_in_one_tool_call_run_at_the_same_time(tmp_path: Path) -> None:
    async with mcp_talk(tmp_path) as talk:
        talk.press("tnotes slow echo and notes slow upper for dinner\r")
        turn = await talk.wait_for(lambda e: e["type"] == "turn")
    (call,) = events_of(talk, "tool_call")
    assert [c["name"] for c in call["calls"]] == ["notes__slow_echo", "notes__slow_upper"]
    lines = server_events(tmp_path)
    assert len(lines) == 4, (lines, events_of(talk, "tool_result"), turn)
    first_finish = min(lines.index("finished echo"), lines.index("finished upper"))
    assert max(lines.index("started echo"), lines.index("started upper")) < first_finish, lines
    assert "notes__slow_echo returned" in turn["model"]
    assert "notes__slow_upper returned" in turn["model"]


async def test_a_tool_call_cancellation_cancels_the_call_on_the_mcp_server(
    tmp_path: Path,
) -> None:
    async with mcp_talk(tmp_path, NOTES_SLOW_S="30") as talk:
        talk.press("tnotes slow echo hello\r")
        await until(lambda: "started echo" in server_events(tmp_path))
        talk.press("tnever mind\r")  # new input cuts the turn: toolCallCancellation (§4.4)
        await talk.wait_for(lambda e: e["type"] == "turn" and "never mind" in e["user"])
        await until(lambda: "cancelled echo" in server_events(tmp_path))
    (call,), (cancel,) = events_of(talk, "tool_call"), events_of(talk, "tool_cancel")
    assert cancel["ids"] == [call["id"]]
    (result,) = events_of(talk, "tool_result")
    assert result["cancelled"] is True and "response" not in result
    assert "finished echo" not in server_events(tmp_path)


async def test_a_slow_server_times_out_and_a_crashed_one_does_not_end_the_talk(
    tmp_path: Path,
) -> None:
    async with mcp_talk(tmp_path, call_s=0.5, NOTES_SLOW_S="10") as talk:
        talk.press("tnotes slow echo hello\r")
        late = await talk.wait_for(lambda e: e["type"] == "turn")
        talk.press("tnotes crash server\r")
        crashed = await talk.wait_for(lambda e: e["type"] == "turn" and e is not late)
        talk.press("tnotes add note after the crash\r")
        after = await talk.wait_for(lambda e: e["type"] == "turn" and e not in (late, crashed))
        talk.press("thello again\r")
        chat = await talk.wait_for(lambda e: e["type"] == "turn" and "hello again" in e["user"])
        await until(lambda: "cancelled echo" in server_events(tmp_path))  # told to stop
    assert "did not answer within 0.5 s; the call was cancelled" in late["model"]
    assert "is not running (it exited: notes server: crashing on purpose)" in crashed["model"]
    assert "is not running" in after["model"]
    assert chat["model"].startswith("You said: hello again")
    assert talk.said.count("voicecli: MCP server 'notes' did not answer slow_echo within 0.5 s;"
                           " the call was cancelled") == 1
    assert [s for s in talk.said if "stopped" in s] == [
        "voicecli: MCP server 'notes' stopped (it exited: notes server: crashing on purpose); "
        "its tools now answer with an error"]


async def test_without_allow_tools_the_screen_asks_before_an_mcp_call(tmp_path: Path) -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=120, force_terminal=True, color_system=None)
    async with mcp_talk(tmp_path, policy=AllowPolicy(), console=console) as talk:
        talk.press("tnotes slow echo first\r")
        await talk.wait_for(lambda e: e["type"] == "tool_confirm")
        await asyncio.sleep(0.2)
        talk.press("n")
        no = await talk.wait_for(lambda e: e["type"] == "turn")
        talk.press("tnotes slow echo second\r")
        await talk.wait_for(lambda e: e["type"] == "tool_confirm"
                            and len(events_of(talk, "tool_confirm")) == 2)
        talk.press("y")
        yes = await talk.wait_for(lambda e: e["type"] == "turn" and e is not no)
    assert 'Run the tool notes__slow_echo(text="first")? y/n' in screen.getvalue()
    assert "declined" in no["model"]
    assert 'notes__slow_echo returned {"result": "echo: second"}' in yes["model"]
    assert server_events(tmp_path) == ["started echo", "finished echo"]  # only the second ran
