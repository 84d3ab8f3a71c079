"""Function calling in `run_talk` against the real local server (§3.4, §4.3, §4.4, §5.5).

The echo assistant calls a declared function when the user's words name it
(server/engines/echo_assistant.py); the user types (through a real pseudo-terminal), the tools
are real command tools run as real processes, and the answers travel back over the real Live
protocol.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.talk.test_conversation import FeedMicrophone, Talk, local_server
from tests.tools.helpers import (
    PYTHON,
    SPAWN_SCRIPT,
    toml_str,
    tools_from,
    wait_for_file,
    wait_gone,
    write_script,
)
from voicecli.talk.options import TalkOptions
from voicecli.tools import AllowPolicy, ToolUse

#: writes [start, end] (wall clock) to its argument after sleeping one second
STAMP_SCRIPT = ("import json, sys, time\nstart = time.time()\ntime.sleep(1.0)\n"
                "open(sys.argv[1], 'w').write(json.dumps([start, time.time()]))\n"
                "print('stamped')\n")


def tool_file(tmp_path: Path) -> str:
    stamp = write_script(tmp_path, "stamp.py", STAMP_SCRIPT)
    spawn = write_script(tmp_path, "spawn.py", SPAWN_SCRIPT)
    say = f'[{toml_str(PYTHON)}, "-c", "print(\'the disk is 42 percent full\')"]'
    return f"""
        [tools.disk_report]
        description = "How full the disk is"
        command = {say}
        behavior = "BLOCKING"
        [tools.weather_now]
        description = "The weather now (the model's default behavior: NON_BLOCKING on 3.8)"
        command = [{toml_str(PYTHON)}, "-c", "print('sunny and mild')"]
        [tools.first_stamp]
        description = "Stamp one"
        command = [{toml_str(PYTHON)}, {toml_str(stamp)}, {toml_str(tmp_path / "first.json")}]
        behavior = "BLOCKING"
        [tools.second_stamp]
        description = "Stamp two"
        command = [{toml_str(PYTHON)}, {toml_str(stamp)}, {toml_str(tmp_path / "second.json")}]
        behavior = "BLOCKING"
        [tools.slow_job]
        description = "A long job"
        command = [{toml_str(PYTHON)}, {toml_str(spawn)}, {toml_str(tmp_path / "pids")}]
        behavior = "BLOCKING"
        [tools.secret_report]
        description = "Something the user wants to approve each time"
        command = [{toml_str(PYTHON)}, "-c", "print('the secret is 7')"]
        behavior = "BLOCKING"
        confirm = true
    """


@asynccontextmanager
async def tool_talk(tmp_path: Path, *, console: Console | None = None,
                    settings: dict[str, Any] | None = None, **server: Any) -> AsyncIterator[Talk]:
    use = ToolUse(tuple(tools_from(tool_file(tmp_path))), AllowPolicy(all=True))
    async with local_server(**server) as url:
        talk = Talk(url, TalkOptions(), FeedMicrophone(), keys=True)
        talk.settings = dataclasses.replace(talk.settings, **(settings or {}))
        talk.run_kwargs = {"tools": use, "console": console}
        async with talk:
            yield talk


def events_of(talk: Talk, kind: str) -> list[dict[str, Any]]:
    return [e for e in talk.events if e["type"] == kind]


async def test_a_command_tool_is_called_answered_with_its_id_and_spoken_about(
    tmp_path: Path,
) -> None:
    async with tool_talk(tmp_path) as talk:
        talk.press("tplease run the disk report\r")
        turn = await talk.wait_for(lambda e: e["type"] == "turn")
    (call,), (result,) = events_of(talk, "tool_call"), events_of(talk, "tool_result")
    assert call["name"] == "disk_report" and call["id"].startswith("function-call-")
    assert result["id"] == call["id"]
    assert result["response"] == {"output": "the disk is 42 percent full\n", "exit_code": 0}
    # the server only speaks about a result whose id matches its call (§3.4)
    assert "disk_report returned" in turn["model"] and "42 percent full" in turn["model"]
    assert turn["tools"][0]["name"] == "disk_report" and "42 percent" in turn["tools"][0]["result"]
    assert turn["interrupted"] is False and talk.speaker.stats.flushes == 0


async def test_a_non_blocking_result_goes_back_while_the_reply_plays_on(tmp_path: Path) -> None:
    # gemini-3.8-live calls functions NON_BLOCKING (§3.1.4): the model keeps talking, the answer
    # is sent as soon as the tool is done, and the model speaks about it in a turn of its own
    async with tool_talk(tmp_path) as talk:
        talk.press("tget the weather now\r")
        first = await talk.wait_for(lambda e: e["type"] == "turn")
        second = await talk.wait_for(lambda e: e["type"] == "turn" and e is not first)
    assert first["model"].startswith("I am calling weather_now")
    assert first["interrupted"] is False and talk.speaker.stats.flushes == 0
    kinds = [e["type"] for e in talk.events]
    assert kinds.index("tool_result") < kinds.index("turn")  # sent while the first reply played
    assert 'weather_now returned {"output": "sunny and mild' in second["model"]


async def test_two_calls_in_one_tool_call_run_at_the_same_time(tmp_path: Path) -> None:
    async with tool_talk(tmp_path, pace=0.0) as talk:
        talk.press("tfirst stamp and second stamp please\r")
        turn = await talk.wait_for(lambda e: e["type"] == "turn")
    (call,) = events_of(talk, "tool_call")
    assert [c["name"] for c in call["calls"]] == ["first_stamp", "second_stamp"]  # one message
    first = json.loads((tmp_path / "first.json").read_text())
    second = json.loads((tmp_path / "second.json").read_text())
    assert first[0] < second[1] and second[0] < first[1], (first, second)  # they overlapped
    results = events_of(talk, "tool_result")
    assert sorted(r["id"] for r in results) == sorted(c["id"] for c in call["calls"])
    assert "first_stamp returned" in turn["model"] and "second_stamp returned" in turn["model"]


async def test_a_cancelled_call_is_killed_and_never_answered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="voicecli.server")
    async with tool_talk(tmp_path, pace=0.0) as talk:
        talk.press("tstart the slow job\r")
        child, parent = map(int, (await wait_for_file(tmp_path / "pids")).split())
        talk.press("tnever mind\r")  # new input cuts the turn: toolCallCancellation (§4.4, §5.3)
        await talk.wait_for(lambda e: e["type"] == "turn" and "never mind" in e["user"])
        assert await wait_gone(parent) and await wait_gone(child)  # the whole group
        await asyncio.sleep(0.3)
    (call,), (cancel,) = events_of(talk, "tool_call"), events_of(talk, "tool_cancel")
    assert cancel["ids"] == [call["id"]]
    (result,) = events_of(talk, "tool_result")
    assert result == {**result, "id": call["id"], "cancelled": True} and "response" not in result
    ignored = [r for r in caplog.records if "unknown or cancelled call" in r.getMessage()]
    assert ignored == []  # no toolResponse reached the server for the cancelled call


async def test_a_confirm_tool_is_refused_without_a_screen_and_the_model_is_told(
    tmp_path: Path,
) -> None:
    # keys but no screen (like talk --json): nobody to ask, so confirm = true tools never run
    async with tool_talk(tmp_path, pace=0.0) as talk:
        talk.press("tsecret report please\r")
        turn = await talk.wait_for(lambda e: e["type"] == "turn")
    (result,) = events_of(talk, "tool_result")
    assert result["error"].startswith("not allowed: the user did not allow the tool")
    assert "output" not in result["response"]
    assert "secret_report returned" in turn["model"] and "not allowed" in turn["model"]
    assert events_of(talk, "tool_confirm") == []


async def test_on_screen_a_confirm_tool_asks_y_runs_n_refuses(tmp_path: Path) -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=120, force_terminal=True, color_system=None)
    async with tool_talk(tmp_path, console=console, pace=0.0) as talk:
        talk.press("tsecret report please\r")
        await talk.wait_for(lambda e: e["type"] == "tool_confirm")
        await asyncio.sleep(0.2)  # a frame or two with the question on screen
        talk.press("y")
        yes = await talk.wait_for(lambda e: e["type"] == "turn")
        talk.press("tsecret report again\r")
        await talk.wait_for(lambda e: e["type"] == "tool_confirm" and len(
            events_of(talk, "tool_confirm")) == 2)
        talk.press("n")
        no = await talk.wait_for(lambda e: e["type"] == "turn" and e is not yes)
    assert "Run the tool secret_report()? y/n" in screen.getvalue()
    assert [e["accepted"] for e in events_of(talk, "tool_confirmed")] == [True, False]
    assert "the secret is 7" in yes["model"]
    assert "declined" in no["model"] and "the secret is 7" not in no["model"]


async def test_search_sources_and_code_execution_show_under_the_reply(tmp_path: Path) -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=150, force_terminal=True, color_system=None)
    settings = {"model": "gemini-live-2.5-flash-preview", "google_search": True,
                "code_execution": True}  # a half-cascade model has both (§3.1.4)
    async with tool_talk(tmp_path, console=console, settings=settings, pace=0.0) as talk:
        talk.press("twho wrote hamlet?\r")
        searched = await talk.wait_for(lambda e: e["type"] == "turn")
        talk.press("twhat is 6 times 7\r")
        await talk.wait_for(lambda e: e["type"] == "turn" and e is not searched)
        await asyncio.sleep(0.3)  # the finished turns reach the scrollback
    org, com = ("https://example.org/search/who-wrote-hamlet",
                "https://example.com/answers/who-wrote-hamlet")
    assert searched["sources"] == [{"title": "Who wrote hamlet (example.org)", "uri": org},
                                   {"title": "Who wrote hamlet (example.com)", "uri": com}]
    (grounding,) = events_of(talk, "grounding")
    assert grounding["queries"] == ["who wrote hamlet"]
    (code,) = events_of(talk, "executable_code")
    (result,) = events_of(talk, "code_execution_result")
    assert code["code"] == "print(6 * 7)\n" and result["output"] == "42\n"
    drawn = screen.getvalue()
    assert f"[1] Who wrote hamlet (example.org) — {org}" in drawn
    assert "▸ code PYTHON: print(6 * 7)" in drawn and "▸ result OUTCOME_OK: 42" in drawn
