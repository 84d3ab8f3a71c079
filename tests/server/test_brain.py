"""`OpenAIEngine` against a scripted OpenAI-compatible server over real loopback TCP.

The engine is driven directly (acting as the session where a test needs to) and end to end
through the local Live server. Nothing of the HTTP layer is mocked: `OpenAIStub` is a real
server speaking the documented chat-completions wire format.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from voicecli.errors import ConfigError
from voicecli.server import RunningServer, ServerConfig, start_server
from voicecli.server.engines.brain import (
    APOLOGY,
    MAX_TOOL_ROUNDS,
    NOT_HEARD,
    RUNNING,
    OpenAIEngine,
    json_schema,
    tool_declarations,
)
from voicecli.server.engines.interface import (
    CallTools,
    Dialogue,
    PlannedCall,
    Prompt,
    ReplyEvent,
    Say,
    ToolResult,
    ToolResults,
    ToolSpec,
    Turn,
    UserText,
)
from voicecli.server.engines.openai_http import BaseUrl, SseDecoder, Timeouts, stream_events

from .helpers import Client, session, setup_msg, text_of
from .openai_stub import Broken, Failure, OpenAIStub, Text, ToolCalls, call_tool_first

LONG = " ".join(["a long answer that keeps going"] * 40)
WEATHER_SPEC = ToolSpec(
    "get_weather",
    {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
    description="Current weather in a city",
)
WEATHER = {  # the Live declaration (§3.1.4)
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}},
                   "required": ["location"]},
}
QUICK_S = 0.2  # barge-in: the endpoint must see the disconnect within this


# ---- helpers ----------------------------------------------------------------------------------


def conversation(*turns: tuple[str, str], system: str = "", tools: tuple[ToolSpec, ...] = ()
                 ) -> Dialogue:
    return Dialogue(
        model="gemini-live-2.5-flash-preview", modality="TEXT", system_instruction=system,
        tools=list(tools), history=[Turn(role, text) for role, text in turns],
    )


def ask(text: str) -> tuple[Dialogue, UserText]:
    """A conversation whose history ends with `text`, as ServedSession builds it."""
    return conversation(("user", text)), UserText(text)


async def collect(
    engine: OpenAIEngine, conv: Dialogue, prompt: Prompt, answer: Any = None
) -> list[ReplyEvent]:
    """Every event of a reply; blocking calls are answered with `answer` (as the session does)."""
    events: list[ReplyEvent] = []
    async with aclosing(engine.respond(conv, prompt)) as stream:
        async for event in stream:
            events.append(event)
            if isinstance(event, CallTools) and event.blocking:
                event.ids = [f"function-call-{len(events)}{i}" for i in range(len(event.calls))]
                event.results.set_result(
                    [ToolResult(i, c.name, {"output": answer})
                     for i, c in zip(event.ids, event.calls, strict=True)])
    return events


def said(events: list[ReplyEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, Say))


def engine_for(stub: OpenAIStub, **kw: Any) -> OpenAIEngine:
    return OpenAIEngine(stub.base_url, kw.pop("model", "stub-model"), **kw)


def dead_url() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    async with OpenAIStub() as running_stub:
        yield running_stub


@asynccontextmanager
async def live_server(engine: OpenAIEngine) -> AsyncIterator[RunningServer]:
    async with await start_server(ServerConfig(port=0, pace=0), engine=engine) as server:
        yield server


def live_tools(behavior: str | None = None, **extra: Any) -> dict[str, Any]:
    declaration = dict(WEATHER, behavior=behavior) if behavior else WEATHER
    return setup_msg(tools=[{"functionDeclarations": [declaration]}], **extra)


def tool_response(call: dict[str, Any], output: Any, **fields: Any) -> dict[str, Any]:
    return {"toolResponse": {"functionResponses": [
        {"id": call["id"], "name": call["name"], "response": {"output": output}, **fields}]}}


async def text_turn(c: Client, text: str) -> str:
    await c.send({"realtimeInput": {"text": text}})
    return text_of(await c.turn())


# ---- text -------------------------------------------------------------------------------------


async def test_text_streams_in_pieces_with_system_and_history(stub: OpenAIStub) -> None:
    stub.script(Text("Paris is the capital of France."))
    conv = conversation(("user", "Hi"), ("model", "Hello! How can I help?"),
                        ("user", "What is the capital of France?"), system="Answer briefly.")
    events = await collect(engine_for(stub), conv, UserText("What is the capital of France?"))
    assert [e.text for e in events if isinstance(e, Say)] == [
        "Paris", " is", " the", " capital", " of", " France."]
    body = stub.requests[0]
    assert body["model"] == "stub-model" and body["stream"] is True
    assert "tools" not in body and "temperature" not in body
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "What is the capital of France?"},
    ]


async def test_deltas_are_yielded_as_they_arrive(stub: OpenAIStub) -> None:
    stub.script(Text("one two three four", delay_s=0.08))
    arrivals = []
    async with aclosing(engine_for(stub).respond(*ask("count"))) as stream:
        async for _event in stream:
            arrivals.append(time.monotonic())
    assert len(arrivals) == 4
    assert arrivals[-1] - arrivals[0] >= 0.2  # not buffered until the end of the stream


async def test_consecutive_turns_of_one_role_are_merged(stub: OpenAIStub) -> None:
    conv = conversation(("user", "first"), ("user", ""), ("user", "second"),
                        ("model", "ok"), ("user", "third"))
    await collect(engine_for(stub), conv, UserText("third"))
    assert stub.requests[0]["messages"] == [
        {"role": "user", "content": "first\n\nsecond"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "third"},
    ]


async def test_key_and_temperature_are_sent(stub: OpenAIStub) -> None:
    stub.api_key = "sk-test-secret-123"
    engine = engine_for(stub, api_key="sk-test-secret-123", temperature=0.2)
    assert said(await collect(engine, *ask("hi"))) == "OK."
    assert stub.log[0].headers["authorization"] == "Bearer sk-test-secret-123"
    assert stub.requests[0]["temperature"] == 0.2
    assert "sk-test" not in repr(engine) and "sk-test" not in engine.describe()


async def test_empty_prompt_asks_nothing(stub: OpenAIStub) -> None:
    conv = conversation(("user", " "))
    assert await collect(engine_for(stub), conv, UserText(" ", spoken=True)) == [Say(NOT_HEARD)]
    assert stub.log == []


async def test_a_server_ignoring_stream_is_still_understood(stub: OpenAIStub) -> None:
    stub.ignore_stream = True
    stub.script(Text("All at once."))
    assert said(await collect(engine_for(stub), *ask("hi"))) == "All at once."


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
async def test_every_body_framing(framing: str) -> None:
    """Chunked, Content-Length and close-delimited; a server that keeps the socket open after
    a complete response must not stall the client."""
    async with OpenAIStub(framing=framing, keep_open=framing != "close") as stub:
        stub.script(Text("Framed words arrive intact."))
        started = time.monotonic()
        events = await collect(engine_for(stub), *ask("hi"))
        assert await engine_for(stub).probe() == f"stub-model at {stub.base_url}"
    assert said(events) == "Framed words arrive intact."
    assert time.monotonic() - started < 2.0


def test_sse_decoding_across_odd_chunk_boundaries() -> None:
    stream = (b": keep-alive\r\n\r\ndata: first\r\n\r\nevent: message\ndata: two\ndata: lines\n\n"
              b"id: 7\ndata:no-space\n\ndata: unterminated")
    decoder = SseDecoder()
    events = [e for i in range(0, len(stream), 5) for e in decoder.feed(stream[i : i + 5])]
    assert events + decoder.flush() == ["first", "two\nlines", "no-space", "unterminated"]


# ---- tools ------------------------------------------------------------------------------------


def test_gemini_schema_becomes_json_schema() -> None:
    gemini = {
        "type": "OBJECT",
        "properties": {
            "location": {"type": "STRING", "description": "City"},
            "days": {"type": "INTEGER", "minimum": 1, "format": "int32"},
            "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["A", "b"]},
                     "max_items": "5"},
            "unit": {"type": "STRING", "nullable": True},
            "where": {"anyOf": [{"type": "STRING"}, {"type": "OBJECT", "properties": {
                "lat": {"type": "NUMBER"}}}]},
            "extra": {"type": "TYPE_UNSPECIFIED"},
        },
        "required": ["location"],
        "propertyOrdering": ["location", "days"],
    }
    assert json_schema(gemini) == {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City"},
            "days": {"type": "integer", "minimum": 1, "format": "int32"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["A", "b"]},
                     "maxItems": 5},
            "unit": {"type": "string", "nullable": True},
            "where": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {
                "lat": {"type": "number"}}}]},
            "extra": {},
        },
        "required": ["location"],
        "propertyOrdering": ["location", "days"],
    }


def test_json_schema_passes_through_and_parameters_default_to_an_object() -> None:
    schema = {"type": "object", "properties": {"type": {"type": ["string", "null"]}},
              "additionalProperties": False, "$defs": {"x": {"type": "boolean"}}}
    assert json_schema(schema) == schema
    assert tool_declarations([ToolSpec("ping"), WEATHER_SPEC]) == [
        {"type": "function", "function": {
            "name": "ping", "parameters": {"type": "object", "properties": {}}}},
        {"type": "function", "function": {
            "name": "get_weather", "description": "Current weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}},
    ]


async def test_blocking_tool_round_trip(stub: OpenAIStub) -> None:
    stub.default = call_tool_first("get_weather", {"city": "Paris"}, "It is {result} there.")
    conv = conversation(("user", "Weather in Paris?"), tools=(WEATHER_SPEC,))
    events = await collect(engine_for(stub), conv, UserText("Weather in Paris?"), "rain")
    call = events[0]
    assert isinstance(call, CallTools) and call.blocking
    assert call.calls == [PlannedCall("get_weather", {"city": "Paris"})]
    assert said(events) == 'It is {"output": "rain"} there.'
    first, second = stub.requests
    assert first["tools"] == tool_declarations([WEATHER_SPEC])
    assert second["messages"][-2:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_stub1x0", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_stub1x0", "content": '{"output": "rain"}'},
    ]


async def test_non_blocking_call_runs_on_and_late_results_are_told(stub: OpenAIStub) -> None:
    spec = ToolSpec("get_weather", WEATHER_SPEC.parameters, blocking=False)
    stub.script(ToolCalls([("get_weather", {"city": "Rome"})], text="Let me see."),
                Text("Checking the weather now."), Text("It is clear in Rome."))
    conv = conversation(("user", "Weather in Rome?"), tools=(spec,))
    events = await collect(engine_for(stub), conv, UserText("Weather in Rome?"))
    [call] = [e for e in events if isinstance(e, CallTools)]
    assert not call.blocking and call.calls == [PlannedCall("get_weather", {"city": "Rome"})]
    assert events.index(call) == 3  # after "Let me see." (three pieces)
    assert said(events) == "Let me see. Checking the weather now."
    assert stub.requests[1]["messages"][-2]["content"] == "Let me see."
    assert stub.requests[1]["messages"][-1] == {
        "role": "tool", "tool_call_id": "call_stub1x0", "content": json.dumps(RUNNING)}

    conv.history.append(Turn("model", said(events)))
    result = ToolResult("function-call-1", "get_weather", {"output": {"sky": "clear"}})
    late = ToolResults((result,))
    assert said(await collect(engine_for(stub), conv, late)) == "It is clear in Rome."
    assert stub.requests[2]["messages"][-2:] == [
        {"role": "assistant", "content": "Let me see. Checking the weather now."},
        {"role": "user", "content": 'Function results: get_weather returned {"sky": "clear"}.'},
    ]


async def test_broken_arguments_become_empty(stub: OpenAIStub) -> None:
    stub.script(ToolCalls([("get_weather", {})], raw_arguments='{"city": "Par'), Text("Hm."))
    conv = conversation(("user", "weather"), tools=(WEATHER_SPEC,))
    events = await collect(engine_for(stub), conv, UserText("weather"), "?")
    assert isinstance(events[0], CallTools) and events[0].calls[0].args == {}


async def test_an_undeclared_function_is_refused_without_the_client(stub: OpenAIStub) -> None:
    stub.script(ToolCalls([("launch_rockets", {"count": 3})]), Text("I cannot do that."))
    conv = conversation(("user", "launch"), tools=(WEATHER_SPEC,))
    events = await collect(engine_for(stub), conv, UserText("launch"))
    assert events == [Say("I"), Say(" cannot"), Say(" do"), Say(" that.")]
    assert json.loads(stub.requests[1]["messages"][-1]["content"]) == {
        "error": "no function named launch_rockets is declared"}


async def test_tool_rounds_are_capped(stub: OpenAIStub) -> None:
    stub.default = lambda body: ToolCalls([("get_weather", {"city": "X"})])
    conv = conversation(("user", "loop"), tools=(WEATHER_SPEC,))
    events = await collect(engine_for(stub), conv, UserText("loop"), 1)
    assert sum(isinstance(e, CallTools) for e in events) == MAX_TOOL_ROUNDS
    assert len(stub.requests) == MAX_TOOL_ROUNDS + 1
    assert stub.requests[-1]["tool_choice"] == "none"
    assert all("tool_choice" not in body for body in stub.requests[:-1])


async def test_tool_calls_without_index_and_odd_shapes(stub: OpenAIStub) -> None:
    """Older servers send whole calls without `index`; odd deltas are skipped, not fatal."""
    calls = [{"id": f"call_{n}", "type": "function",
              "function": {"name": "get_weather", "arguments": {"city": city}}}
             for n, city in enumerate(("Oslo", "Rome"))]
    events = [{"choices": [{"delta": "odd"}]},
              {"choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]
    stub.script(Broken(b"".join(b"data: %s\n\n" % json.dumps(e).encode() for e in events)
                       + b"data: [DONE]\n\n"), Text("Both done."))
    conv = conversation(("user", "two cities"), tools=(WEATHER_SPEC,))
    replies = await collect(engine_for(stub), conv, UserText("two cities"), "fine")
    assert replies[0] == CallTools([PlannedCall("get_weather", {"city": "Oslo"}),
                                    PlannedCall("get_weather", {"city": "Rome"})],
                                   ids=replies[0].ids, results=replies[0].results)
    assert [m["tool_call_id"] for m in stub.requests[1]["messages"][-2:]] == ["call_0", "call_1"]
    assert said(replies) == "Both done."


# ---- cancellation (barge-in, §5.3) -------------------------------------------------------------


async def test_closing_the_reply_closes_the_http_stream_at_once(stub: OpenAIStub) -> None:
    stub.script(Text(LONG, delay_s=0.05))
    async with aclosing(engine_for(stub).respond(*ask("talk"))) as stream:
        seen = [await anext(stream), await anext(stream)]
        closed_at = time.monotonic()
    disconnect = await stub.wait_disconnect()
    assert seen == [Say("a"), Say(" long")]
    assert disconnect.at - closed_at < QUICK_S
    print(f"\nendpoint saw the disconnect {(disconnect.at - closed_at) * 1000:.1f} ms after aclose")


async def test_cancelling_the_task_closes_the_http_stream_at_once(stub: OpenAIStub) -> None:
    stub.script(Text(LONG, delay_s=0.05))
    first = asyncio.Event()

    async def consume() -> None:
        async with aclosing(engine_for(stub).respond(*ask("talk"))) as stream:
            async for _event in stream:
                first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    cancelled_at = time.monotonic()
    task.cancel()
    disconnect = await stub.wait_disconnect()
    assert disconnect.at - cancelled_at < QUICK_S
    with pytest.raises(asyncio.CancelledError):
        await task


# ---- failures ---------------------------------------------------------------------------------


async def test_http_error_is_an_apology_and_one_warning(
    stub: OpenAIStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.script(Failure(500, "The server had an error while processing your request."))
    caplog.set_level(logging.WARNING, "voicecli")
    assert await collect(engine_for(stub), *ask("hi")) == [Say(APOLOGY)]
    [record] = [r for r in caplog.records if r.name.startswith("voicecli")]
    message = record.getMessage()
    assert record.levelno == logging.WARNING and "\n" not in message
    assert "HTTP 500: The server had an error while processing your request." in message


async def test_unreachable_endpoint_is_an_apology(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "voicecli")
    engine = OpenAIEngine(dead_url(), "m", api_key="sk-never-logged")
    assert await collect(engine, *ask("hi")) == [Say(APOLOGY)]
    assert "connection refused" in caplog.text and "sk-never" not in caplog.text


async def test_wrong_key_is_an_apology_and_the_key_is_never_logged(
    stub: OpenAIStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.api_key = "sk-right"
    caplog.set_level(logging.DEBUG)
    assert await collect(engine_for(stub, api_key="sk-wrong-secret"), *ask("hi")) == [
        Say(APOLOGY)]
    assert "HTTP 401: Incorrect API key provided: ***" in caplog.text
    assert "sk-wrong-secret" not in caplog.text


@pytest.mark.parametrize("body", [
    b'data: {"choices": [\n\n',
    b'data: {"error": {"message": "model crashed", "type": "server_error"}}\n\n',
    b"<html>not an event stream</html>",
])
async def test_malformed_stream_is_an_apology(stub: OpenAIStub, body: bytes) -> None:
    stub.script(Broken(body))
    assert await collect(engine_for(stub), *ask("hi")) == [Say(APOLOGY)]


async def test_a_stream_cut_short_keeps_what_was_said(stub: OpenAIStub) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Half a"}, "finish_reason": None}]}
    stub.script(Broken(b"data: " + json.dumps(chunk).encode() + b"\n\n"))
    assert await collect(engine_for(stub), *ask("hi")) == [Say("Half a"), Say(APOLOGY)]


async def test_a_stream_without_done_after_its_finish_is_complete(stub: OpenAIStub) -> None:
    """A server that ends the connection after `finish_reason` without `[DONE]`: no apology."""
    events = [{"choices": [{"index": 0, "delta": {"content": "All said."}, "finish_reason": None}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
    stub.script(Broken(b"".join(b"data: %s\n\n" % json.dumps(e).encode() for e in events)))
    assert await collect(engine_for(stub), *ask("hi")) == [Say("All said.")]


async def test_a_silent_endpoint_times_out_into_an_apology(stub: OpenAIStub) -> None:
    stub.script(Text("slow words here", delay_s=5))
    started = time.monotonic()
    assert await collect(engine_for(stub, timeout_s=0.3), *ask("hi")) == [Say(APOLOGY)]
    assert time.monotonic() - started < 2.0


# ---- probe, describe, configuration -----------------------------------------------------------


async def test_probe_and_describe(stub: OpenAIStub) -> None:
    assert await engine_for(stub).probe() == f"stub-model at {stub.base_url}"
    assert await engine_for(stub, model="llama3.2").probe() == (
        f"llama3.2 at {stub.base_url} (not in its model list: stub-model)")
    assert engine_for(stub).describe() == (
        f"language model stub-model at {stub.base_url} (OpenAI-compatible)")
    assert stub.log[0].path == "/v1/models"


async def test_probe_errors_are_one_line_without_the_key(stub: OpenAIStub) -> None:
    with pytest.raises(ConfigError) as unreachable:
        await OpenAIEngine(dead_url(), "m", api_key="sk-secret-abc").probe()
    stub.api_key = "sk-right"
    with pytest.raises(ConfigError) as refused:
        await engine_for(stub, api_key="sk-secret-abc").probe()
    for error, expected in ((unreachable, "connection refused"), (refused, "HTTP 401")):
        text = str(error.value)
        assert expected in text and "\n" not in text and "Traceback" not in text
        assert "sk-secret" not in text and error.value.__cause__ is None
    assert str(refused.value) == (
        f"the language model at {stub.base_url} refused: HTTP 401: Incorrect API key provided:"
        " ***. You can find your API key at …")


async def test_probe_without_the_v1_prefix_hints_at_it(stub: OpenAIStub) -> None:
    with pytest.raises(ConfigError, match=r"HTTP 404: .* \(does the URL need /v1\?\)$"):
        await OpenAIEngine(stub.base_url.removesuffix("/v1"), "m").probe()


@pytest.mark.parametrize("url", ["127.0.0.1:11434/v1", "ftp://host/v1", "http://", "http://h:x/"])
def test_a_bad_base_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        OpenAIEngine(url, "m")


def test_base_url_keeps_its_prefix_and_drops_credentials() -> None:
    base = BaseUrl.parse("https://user:pw@[::1]:8443/api/v1/?x=1")
    assert str(base) == "https://[::1]:8443/api/v1" and base.host == "::1"
    assert str(BaseUrl.parse("http://example.com:80/v1/")) == "http://example.com/v1"


# ---- https ------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=stub",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


async def test_https(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                     caplog: pytest.LogCaptureFixture) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    async with OpenAIStub(ssl_context=context) as stub:
        stub.script(Text("Hello over TLS."), Text("Hello again."))
        assert stub.base_url.startswith("https://")
        caplog.set_level(logging.WARNING, "voicecli")
        assert await collect(engine_for(stub), *ask("hi")) == [Say(APOLOGY)]
        assert "TLS certificate not accepted" in caplog.text  # self-signed, not trusted yet
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert said(await collect(engine_for(stub), *ask("hi"))) == "Hello over TLS."
        trusted = ssl.create_default_context(cafile=str(cert))
        events = stream_events(
            BaseUrl.parse(stub.base_url), "/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
            api_key=None, timeouts=Timeouts(2, 2), ssl_context=trusted)
        payloads = [p async for p in events]
    assert payloads[-1] == "[DONE]" and '"Hello"' in payloads[1]


# ---- end to end through the local Live server -------------------------------------------------


async def test_live_text_turns_reach_the_model_with_history(stub: OpenAIStub) -> None:
    stub.script(Text("Hi! I am a stub model."), Text("You said hello there."))
    setup = setup_msg(systemInstruction={"parts": [{"text": "You are terse."}]})
    async with live_server(engine_for(stub)) as server, session(server, setup) as c:
        assert await text_turn(c, "Hello there") == "Hi! I am a stub model."
        assert await text_turn(c, "What did I say?") == "You said hello there."
    assert stub.requests[1]["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": "Hi! I am a stub model."},
        {"role": "user", "content": "What did I say?"},
    ]
    assert stub.requests[1]["model"] == "stub-model"


async def test_live_tool_round_trip(stub: OpenAIStub) -> None:
    stub.default = call_tool_first(
        "get_current_weather", {"location": "Paris"}, "The service said {result}.")
    async with live_server(engine_for(stub)) as server, session(server, live_tools()) as c:
        await c.send({"realtimeInput": {"text": "What is the weather in Paris?"}})
        call = (await c.until("toolCall"))[-1].msg["toolCall"]["functionCalls"][0]
        assert call["name"] == "get_current_weather" and call["args"] == {"location": "Paris"}
        assert call["id"].startswith("function-call-")
        await c.send(tool_response(call, {"condition": "rain"}))
        rest = await c.turn()
    assert text_of(rest) == 'The service said {"output": {"condition": "rain"}}.'
    assistant, tool = stub.requests[1]["messages"][-2:]
    assert assistant["tool_calls"][0]["function"]["name"] == "get_current_weather"
    assert tool == {"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"],
                    "content": '{"output": {"condition": "rain"}}'}
    assert stub.requests[0]["tools"][0]["function"]["description"] == WEATHER["description"]


async def test_live_non_blocking_call(stub: OpenAIStub) -> None:
    stub.script(ToolCalls([("get_current_weather", {"location": "Rome"})]),
                Text("I am checking."), Text("Rome has a clear sky."))
    setup = live_tools("NON_BLOCKING")
    async with live_server(engine_for(stub)) as server, session(server, setup) as c:
        await c.send({"realtimeInput": {"text": "Weather in Rome?"}})
        first = await c.turn()
        assert first[0].kind() == "toolCall" and text_of(first) == "I am checking."
        call = first[0].msg["toolCall"]["functionCalls"][0]
        await c.send(tool_response(call, {"sky": "clear"}, scheduling="WHEN_IDLE"))
        second = await c.turn()
    assert text_of(second) == "Rome has a clear sky."
    assert stub.requests[2]["messages"][-1] == {
        "role": "user",
        "content": 'Function results: get_current_weather returned {"sky": "clear"}.'}


async def test_live_barge_in_closes_the_http_stream(stub: OpenAIStub) -> None:
    stub.script(Text(LONG, delay_s=0.05), Text("Stopped."))
    async with live_server(engine_for(stub)) as server, session(server) as c:
        await c.send({"realtimeInput": {"text": "Tell me a long story"}})
        await c.until("text")
        await c.send({"realtimeInput": {"text": "stop"}})
        sent_at = time.monotonic()
        cut = await c.turn()
        disconnect = await stub.wait_disconnect()
        answer = await c.turn()
    assert [f.kind() for f in cut][-2:] == ["interrupted", "turnComplete"]
    assert disconnect.index == 0 and disconnect.at - sent_at < QUICK_S
    print(f"\nendpoint saw the disconnect {(disconnect.at - sent_at) * 1000:.1f} ms after barge-in")
    assert text_of(answer) == "Stopped."
    assert stub.requests[1]["messages"][-1] == {"role": "user", "content": "stop"}


async def test_live_unreachable_endpoint_apologises_and_carries_on() -> None:
    engine = OpenAIEngine(dead_url(), "llama3.2")
    async with live_server(engine) as server, session(server) as c:
        assert await text_turn(c, "hello") == APOLOGY
        assert await text_turn(c, "still there?") == APOLOGY
