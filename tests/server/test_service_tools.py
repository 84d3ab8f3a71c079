"""The local server's stand-ins for Google Search grounding and code execution (§3.1.4, §4.2)."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from voicecli.server import RunningServer
from voicecli.server.engines.standins import find_computation

from .helpers import AUDIO_MODEL, Frame, connect, session, setup_msg

SEARCH = [{"googleSearch": {}}]
CODE = [{"codeExecution": {}}]


def parts(frames: list[Frame], key: str) -> list[Any]:
    return [p[key] for f in frames for p in f.content.get("modelTurn", {}).get("parts", [])
            if key in p]


def said(frames: list[Frame]) -> str:
    return "".join(parts(frames, "text"))


async def test_a_question_with_google_search_declared_is_grounded(
    local_server: RunningServer,
) -> None:
    async with session(local_server, setup_msg(tools=SEARCH)) as c:
        await c.send({"realtimeInput": {"text": "What is the capital of France?"}})
        frames = await c.turn()
    grounded = [f for f in frames if "groundingMetadata" in f.content]
    assert len(grounded) == 1
    metadata = grounded[0].content["groundingMetadata"]
    assert metadata["webSearchQueries"] == ["What is the capital of France"]
    assert [c["web"]["uri"] for c in metadata["groundingChunks"]] == [
        "https://example.org/search/what-is-the-capital-of-france",
        "https://example.com/answers/what-is-the-capital-of-france",
    ]
    assert metadata["groundingChunks"][0]["web"]["title"] == (
        "What is the capital of France (example.org)")
    assert "local stand-in for Google Search" in said(frames)
    at = frames.index(grounded[0])
    assert [f.kind() for f in frames[at + 1:]] == ["generationComplete", "turnComplete"]
    # the documented shape: Google's own SDK reads the frame without complaint
    parsed = types.LiveServerMessage.model_validate_json(grounded[0].raw)
    assert parsed.server_content.grounding_metadata.grounding_chunks[1].web.domain == "example.com"


async def test_without_google_search_a_question_is_only_echoed(
    local_server: RunningServer,
) -> None:
    async with session(local_server) as c:
        await c.send({"realtimeInput": {"text": "What is the capital of France?"}})
        frames = await c.turn()
    assert not any("groundingMetadata" in f.content for f in frames)
    assert said(frames).startswith("You said: What is the capital of France.")


async def test_a_statement_is_not_searched(local_server: RunningServer) -> None:
    async with session(local_server, setup_msg(tools=SEARCH)) as c:
        await c.send({"realtimeInput": {"text": "I like trains"}})
        frames = await c.turn()
    assert not any("groundingMetadata" in f.content for f in frames)


async def test_code_execution_sends_the_code_and_its_result(local_server: RunningServer) -> None:
    async with session(local_server, setup_msg(tools=CODE)) as c:
        await c.send({"realtimeInput": {"text": "what is twelve times (3 + 4)"}})
        frames = await c.turn()
        await c.send({"realtimeInput": {"text": "calculate 7 divided by 0"}})
        failed = await c.turn()
    assert parts(frames, "executableCode") == [{"language": "PYTHON",
                                                "code": "print(12 * (3 + 4))\n"}]
    assert parts(frames, "codeExecutionResult") == [{"outcome": "OUTCOME_OK", "output": "84\n"}]
    assert "not a Python sandbox" in said(frames) and "printed 84" in said(frames)
    assert parts(failed, "codeExecutionResult")[0]["outcome"] == "OUTCOME_FAILED"
    assert "ZeroDivisionError" in parts(failed, "codeExecutionResult")[0]["output"]
    code_frame = next(f for f in frames if parts([f], "executableCode"))
    parsed = types.LiveServerMessage.model_validate_json(code_frame.raw)
    assert parsed.server_content.model_turn.parts[0].executable_code.code.startswith("print(")


@pytest.mark.parametrize(("model", "modality", "tools"), [
    (AUDIO_MODEL, "AUDIO", CODE),  # 3.x: no code execution (§3.1.4, §7)
    ("models/gemini-3.5-live-translate-preview", "AUDIO", SEARCH),  # no tools at all
])
async def test_a_service_tool_the_model_lacks_closes_1007(
    local_server: RunningServer, model: str, modality: str, tools: list[dict[str, Any]]
) -> None:
    async with connect(local_server) as c:
        await c.send(setup_msg(model, modality, tools=tools))
        assert await c.closed() == (1007, "Request contains an invalid argument.")


@pytest.mark.parametrize(("text", "expression", "output"), [
    ("what is 12 times 7", "12 * 7", "84"),
    ("Calculate (3 + 4) * 2, please.", "(3 + 4) * 2", "14"),
    ("what's twenty three plus two hundred", "23 + 200", "223"),
    ("compute 2 to the power of 10 minus 1", "2 ** 10 - 1", "1023"),
    ("how much is 84 divided by 2", "84 / 2", "42.0"),
    ("what is 17 mod 5", "17 % 5", "2"),
    ("what is 3 squared", "3 ** 2", "9"),
])
def test_the_arithmetic_stand_in_follows_python(text: str, expression: str, output: str) -> None:
    found = find_computation(text)
    assert found is not None and found.expression == expression
    assert found.outcome == "OUTCOME_OK" and found.output == output + "\n"


@pytest.mark.parametrize("text", [
    "what is the capital of France",  # a question, but nothing to compute
    "12 times 7",  # arithmetic, but nobody asked to compute it
    "what is 2 to the power of 100000",  # too large for a stand-in: no answer, no hang
])
def test_no_computation_is_found_where_there_is_none(text: str) -> None:
    assert find_computation(text) is None
