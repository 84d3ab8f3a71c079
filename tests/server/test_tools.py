"""Function calling (§3.4, §4.3, §4.4, §5.5) against the echo engine."""

from __future__ import annotations

import json

from voicecli.server import RunningServer

from .helpers import AUDIO_MODEL, running, session, setup_msg, text_of

WEATHER = {
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}},
                   "required": ["location"]},
}


def _tools(behavior: str | None = None, **extra: object) -> dict[str, object]:
    declaration = dict(WEATHER, behavior=behavior) if behavior else WEATHER
    return setup_msg(tools=[{"functionDeclarations": [declaration]}], **extra)


def _response(call: dict[str, object], output: object, **fields: object) -> dict[str, object]:
    return {"toolResponse": {"functionResponses": [
        {"id": call["id"], "name": call["name"], "response": {"output": output}, **fields}]}}


async def test_blocking_call_round_trip(local_server: RunningServer) -> None:
    async with session(local_server, _tools(sessionResumption={})) as c:
        await c.recv()  # the first resumption handle
        await c.send({"realtimeInput": {"text": "Get the current weather in Paris please"}})
        frames = await c.until("toolCall")
        call = frames[-1].msg["toolCall"]["functionCalls"][0]
        assert call["name"] == "get_current_weather"
        assert call["args"] == {"location": "Paris please"}
        assert call["id"].startswith("function-call-") and len(call["id"]) == 14 + 19
        updates = [f.msg["sessionResumptionUpdate"] for f in frames
                   if "sessionResumptionUpdate" in f.msg]
        assert updates == [{"resumable": False}]  # §5.5: not resumable while a call is out
        await c.send(_response(call, {"condition": "rain", "temp_c": 11}))
        rest = await c.turn()
        after = await c.recv()
    assert text_of(rest) == 'get_current_weather returned {"condition": "rain", "temp_c": 11}.'
    assert [f.kind() for f in rest][-2:] == ["generationComplete", "turnComplete"]
    assert after.msg["sessionResumptionUpdate"]["resumable"] is True


async def test_barge_in_cancels_the_pending_call(local_server: RunningServer) -> None:
    async with session(local_server, _tools()) as c:
        await c.send({"realtimeInput": {"text": "get current weather in Oslo"}})
        call = (await c.until("toolCall"))[-1].msg["toolCall"]["functionCalls"][0]
        await c.send({"realtimeInput": {"text": "never mind"}})
        cut = await c.turn()
        kinds = [f.kind() for f in cut]
        assert kinds == ["interrupted", "toolCallCancellation", "turnComplete"]
        assert cut[1].msg["toolCallCancellation"] == {"ids": [call["id"]]}
        answer = await c.turn()
        assert text_of(answer) == ("You said: never mind. This is turn 2; before that you said: "
                                   "get current weather in Oslo.")
        await c.send(_response(call, "late"))  # a late answer to a cancelled call is ignored
        await c.send({"realtimeInput": {"text": "still here"}})
        last = await c.turn()
    assert text_of(last).startswith("You said: still here.")


async def test_non_blocking_call_folds_the_result_in_later() -> None:
    """§3.1.4: NON_BLOCKING — the model keeps talking; the result starts a new turn."""
    async with running() as server, session(server, _tools("NON_BLOCKING")) as c:
        await c.send({"realtimeInput": {"text": "get the current weather in Rome"}})
        first = await c.turn()
        kinds = [f.kind() for f in first]
        assert kinds[0] == "toolCall" and kinds[-1] == "turnComplete"
        assert text_of(first) == "I am calling get_current_weather; the result will follow."
        call = first[0].msg["toolCall"]["functionCalls"][0]
        await c.send(_response(call, {"sky": "clear"}, scheduling="WHEN_IDLE"))
        second = await c.turn()
    assert text_of(second) == 'get_current_weather returned {"sky": "clear"}.'


async def test_silent_scheduling_starts_no_turn(local_server: RunningServer) -> None:
    async with session(local_server, _tools("NON_BLOCKING")) as c:
        await c.send({"realtimeInput": {"text": "get current weather"}})
        first = await c.turn()
        call = first[0].msg["toolCall"]["functionCalls"][0]
        assert call["args"] == {}
        await c.send(_response(call, 1, scheduling="SILENT"))
        await c.send({"realtimeInput": {"text": "ok"}})
        nxt = await c.turn()
    assert text_of(nxt).startswith("You said: ok.")


async def test_default_behavior_follows_the_model(local_server: RunningServer) -> None:
    """gemini-3.8-live calls functions NON_BLOCKING unless told otherwise (§3.1.4)."""
    setup = setup_msg(AUDIO_MODEL, "AUDIO", outputAudioTranscription={},
                      tools=[{"functionDeclarations": [WEATHER]}])
    async with session(local_server, setup) as c:
        await c.send({"realtimeInput": {"text": "get current weather"}})
        first = await c.turn()
    assert first[0].kind() == "toolCall"
    assert text_of(first, "outputTranscription").startswith("I am calling get_current_weather")


async def test_response_without_id_closes_1007(local_server: RunningServer) -> None:
    async with session(local_server, _tools()) as c:
        await c.send({"toolResponse": {"functionResponses": [
            {"name": "get_current_weather", "response": {"output": json.dumps(1)}}]}})
        assert await c.closed() == (1007, "Request contains an invalid argument.")


async def test_interrupt_scheduling_cuts_the_current_reply() -> None:
    """§3.4 INTERRUPT: the result interrupts what the model is saying and is answered now."""
    setup = _tools("NON_BLOCKING", generationConfig={"responseModalities": ["AUDIO"]},
                   outputAudioTranscription={})
    async with running(pace=0.2) as server, session(server, setup) as c:
        await c.send({"realtimeInput": {"text": "get current weather"}})
        first = await c.turn()
        call = first[0].msg["toolCall"]["functionCalls"][0]
        await c.send({"realtimeInput": {"text": " ".join(["a long answer follows"] * 8)}})
        await c.until("audio")
        await c.send(_response(call, {"alert": "storm"}, scheduling="INTERRUPT"))
        cut = await c.turn()
        result = await c.until_said(45)
    assert [f.kind() for f in cut][-2:] == ["interrupted", "turnComplete"]
    assert text_of(result, "outputTranscription").startswith(
        'get_current_weather returned {"alert": "storm"}')
