"""ToolRunner: concurrent calls, cancellation (§4.4), matching responses, events."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from voicecli.protocol.codec import encode
from voicecli.protocol.messages import FunctionCall, ToolResponse
from voicecli.tools import ToolDef, ToolEvent

from .helpers import (
    PYTHON,
    SPAWN_SCRIPT,
    alive,
    call,
    runner_for,
    toml_str,
    tools_from,
    wait_for_file,
    wait_gone,
    write_script,
)


def sleeper_tools(tmp_path: Path) -> list[ToolDef]:
    spawn = write_script(tmp_path, "spawn.py", SPAWN_SCRIPT)
    return tools_from(f"""
        [tools.nap]
        description = "Sleep a while"
        command = [{toml_str(PYTHON)}, "-c", "import sys, time; time.sleep(float(sys.argv[1]))\
; print(sys.argv[1])", "{{seconds}}"]
        parameters.seconds = {{ type = "number", maximum = 5 }}
        required = ["seconds"]
        [tools.hang]
        description = "Hang with a child"
        command = [{toml_str(PYTHON)}, {toml_str(spawn)}, "{{pids}}"]
        parameters.pids = {{ type = "string" }}
        required = ["pids"]
        behavior = "NON_BLOCKING"
        [tools.later]
        target = "tests.tools.sample_tools:slow_echo"
        behavior = "NON_BLOCKING"
        scheduling = "WHEN_IDLE"
    """)


async def test_calls_run_concurrently_and_answer_in_order(tmp_path: Path) -> None:
    runner = runner_for(sleeper_tools(tmp_path))
    calls = [call("nap", f"c{i}", seconds=s) for i, s in enumerate((1.0, 0.8, 1.0))]
    started = time.monotonic()
    responses = await runner.run(calls)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.8  # ≈ the longest, not the 2.8 s sum
    assert [(r.id, r.name) for r in responses] == [("c0", "nap"), ("c1", "nap"), ("c2", "nap")]
    assert [r.response for r in responses] == [
        {"output": f"{s}\n", "exit_code": 0} for s in (1.0, 0.8, 1.0)
    ]
    assert all(r.scheduling is None for r in responses)


async def test_cancel_kills_the_call_and_drops_its_result(tmp_path: Path) -> None:
    events: list[ToolEvent] = []
    runner = runner_for(sleeper_tools(tmp_path), on_event=events.append)
    pids = tmp_path / "pids"
    calls = [call("hang", "long", pids=str(pids)), call("nap", "short", seconds=0.5)]
    running = asyncio.create_task(runner.run(calls))
    child, parent = map(int, (await wait_for_file(pids)).split())
    assert sorted(runner.running_ids) == ["long", "short"]
    await runner.cancel(["long", "unknown-id"])
    assert not alive(parent) and await wait_gone(child)
    responses = await running
    assert [r.id for r in responses] == ["short"]
    assert [(e.phase, e.id) for e in events if e.id == "long"] == [
        ("started", "long"), ("cancelled", "long"),
    ]
    assert runner.running_ids == []


async def test_as_completed_yields_each_answer_when_it_is_ready(tmp_path: Path) -> None:
    runner = runner_for(sleeper_tools(tmp_path), model_supports_behavior=True)
    calls = [call("later", "slow", text="slow", delay=0.6), call("nap", "fast", seconds=0.1)]
    order = [(r.id, r.scheduling) async for r in runner.as_completed(calls)]
    assert order == [("fast", None), ("slow", "WHEN_IDLE")]


async def test_scheduling_only_goes_to_models_with_non_blocking_calls(tmp_path: Path) -> None:
    runner = runner_for(sleeper_tools(tmp_path), model_supports_behavior=False)
    [response] = await runner.run([call("later", "x", text="hi")])
    assert response.scheduling is None and response.response == {"output": "hi"}


async def test_the_responses_encode_as_a_tool_response(tmp_path: Path) -> None:
    runner = runner_for(sleeper_tools(tmp_path))
    responses = await runner.run([call("later", "function-call-1", text="hi")])
    wire = json.loads(encode(ToolResponse(function_responses=responses)))
    assert wire == {"toolResponse": {"functionResponses": [{
        "id": "function-call-1", "name": "later", "response": {"output": "hi"},
        "scheduling": "WHEN_IDLE",
    }]}}


async def test_unknown_tools_and_bad_arguments_are_error_responses(tmp_path: Path) -> None:
    runner = runner_for(sleeper_tools(tmp_path))
    responses = await runner.run([
        call("rm_rf", "a", path="/"),
        call("nap", "b", seconds="ten"),
        call("nap", "c", seconds=1, extra=True),
        FunctionCall(name="nap", id="d"),
    ])
    assert [(r.id, r.name, r.response) for r in responses] == [
        ("a", "rm_rf", {"error": "unknown tool 'rm_rf'; the tools are nap, hang, later"}),
        ("b", "nap", {"error": "invalid arguments: seconds must be a number"}),
        ("c", "nap", {"error": "invalid arguments: unknown argument(s): extra"}),
        ("d", "nap", {"error": "invalid arguments: missing required argument 'seconds'"}),
    ]


async def test_every_call_is_reported_with_its_result_and_duration(tmp_path: Path) -> None:
    events: list[ToolEvent] = []

    def on_event(event: ToolEvent) -> None:
        events.append(event)
        raise RuntimeError("a broken UI must not break the call")

    runner = runner_for(sleeper_tools(tmp_path), on_event=on_event)
    await runner.run([call("nap", "ok", seconds=0.2), call("nap", "bad", seconds=9)])
    by_phase = {(e.id, e.phase): e for e in events}
    assert set(by_phase) == {("ok", "started"), ("ok", "finished"),
                             ("bad", "started"), ("bad", "finished")}
    done = by_phase[("ok", "finished")]
    assert done.error is None and done.response == {"output": "0.2\n", "exit_code": 0}
    assert done.duration_s is not None and 0.15 < done.duration_s < 2
    failed = by_phase[("bad", "finished")].to_dict()
    assert failed["error"] == "invalid arguments: seconds must be at most 5"
    assert failed["args"] == {"seconds": 9} and failed["phase"] == "finished"
    assert by_phase[("ok", "started")].to_dict() == {
        "phase": "started", "id": "ok", "name": "nap", "args": {"seconds": 0.2},
    }


async def test_aclose_and_a_cancelled_run_stop_everything(tmp_path: Path) -> None:
    runner = runner_for(sleeper_tools(tmp_path))
    pids = tmp_path / "pids"
    running = asyncio.create_task(runner.run([call("hang", "h", pids=str(pids))]))
    child, parent = map(int, (await wait_for_file(pids)).split())
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert await wait_gone(parent) and await wait_gone(child)
    pids.unlink()
    background = asyncio.create_task(runner.run([call("hang", "h2", pids=str(pids))]))
    child, parent = map(int, (await wait_for_file(pids)).split())
    await runner.aclose()
    assert await background == [] and not alive(parent) and await wait_gone(child)
