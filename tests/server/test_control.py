"""Connection-level behaviour: paths and keys (§1), setup refusals and close codes (§5.9),
session resumption (§5.6), goAway (§4.5), limits."""

from __future__ import annotations

import logging
import time

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from voicecli.server import RunningServer
from voicecli.server.transport.connection import full_reason

from .helpers import AUDIO_MODEL, PATH, connect, running, session, setup_msg, text_of

INVALID = "Request contains an invalid argument."
BAD_KEY = "API key not valid. Please pass a valid API key."
GEMINI = "/ws/google.ai.generativelanguage.{}.GenerativeService.{}"
VERTEX = "/ws/google.cloud.aiplatform.{}.LlmBidiService/BidiGenerateContent"


@pytest.mark.parametrize("path", [
    GEMINI.format("v1alpha", "BidiGenerateContent"),
    GEMINI.format("v1beta", "BidiGenerateContentConstrained"),
    GEMINI.format("v1", "BidiGenerateContent"),
    "/" + GEMINI.format("v1beta", "BidiGenerateContent"),  # the Python SDK's //ws (§1.2)
    VERTEX.format("v1beta1"),
    VERTEX.format("v1"),
])
async def test_live_paths_are_served(local_server: RunningServer, path: str) -> None:
    model = AUDIO_MODEL if "aiplatform" not in path else "gemini-3.8-live"
    headers = {}
    if path.endswith("Constrained"):  # §1.1: that method takes an ephemeral token
        headers["Authorization"] = "Token " + local_server.shared.tokens.create({})["name"]
    async with session(local_server, setup_msg(model, "AUDIO"), path=path, headers=headers) as c:
        assert "setupComplete" in c.frames[0].msg


async def test_other_paths_get_404(local_server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        await websockets.connect(local_server.url + "/ws/other")
    assert info.value.response.status_code == 404


@pytest.mark.parametrize(("path", "headers"), [
    (PATH, {"x-goog-api-key": "sekret"}),
    (PATH + "?key=sekret", {}),
    (PATH + "?access_token=sekret", {}),
    (PATH, {"Authorization": "Token sekret"}),
    (VERTEX.format("v1beta1"), {"Authorization": "Bearer sekret"}),
])
async def test_required_key_is_accepted_wherever_it_travels(
    path: str, headers: dict[str, str]
) -> None:
    async with running(require_key="sekret") as server:
        async with session(server, setup_msg(AUDIO_MODEL, "AUDIO"), path=path,
                           headers=headers) as c:
            assert "setupComplete" in c.frames[0].msg


@pytest.mark.parametrize("headers", [{}, {"x-goog-api-key": "wrong"},
                                     {"Authorization": "Token wrong"}])
async def test_wrong_or_missing_key_closes_1007(headers: dict[str, str]) -> None:
    async with running(require_key="sekret") as server, connect(server, headers=headers) as c:
        await c.send(setup_msg())
        assert await c.closed() == (1007, BAD_KEY)


async def test_unknown_model_closes_1008_with_the_services_wording() -> None:
    async with running() as server:
        path = GEMINI.format("v1alpha", "BidiGenerateContent")
        async with connect(server, path=path) as c:
            await c.send(setup_msg("models/gemini-9-live", "AUDIO"))
            code, reason = await c.closed()
    assert code == 1008
    assert reason == ("models/gemini-9-live is not found for API version v1alpha, or is not "
                      "supported for bidiGenerateContent. Call ListModels")


@pytest.mark.parametrize("setup", [
    setup_msg(modality="TEXT", generationConfig={"responseModalities": ["TEXT", "AUDIO"]}),
    setup_msg(AUDIO_MODEL, "TEXT"),  # a native-audio model cannot answer in TEXT (§7.1)
    setup_msg(AUDIO_MODEL, "AUDIO", realtimeInputConfig={
        "automaticActivityDetection": {"silenceDurationMs": -5}}),
])
async def test_invalid_setups_close_1007(local_server: RunningServer, setup: dict) -> None:
    async with connect(local_server) as c:
        await c.send(setup)
        assert await c.closed() == (1007, INVALID)


async def test_first_message_must_be_setup(local_server: RunningServer) -> None:
    async with connect(local_server) as c:
        await c.send({"realtimeInput": {"text": "hi"}})
        assert await c.closed() == (1007, INVALID)


async def test_second_setup_closes_1007(local_server: RunningServer) -> None:
    async with session(local_server) as c:
        await c.send(setup_msg())
        assert await c.closed() == (1007, INVALID)


async def test_malformed_frame_closes_only_that_session(local_server: RunningServer) -> None:
    async with session(local_server) as bystander:
        async with session(local_server) as c:
            await c.ws.send("{not json")
            assert await c.closed() == (1007, "Invalid JSON payload received.")
        await bystander.send({"realtimeInput": {"text": "still fine"}})
        assert text_of(await bystander.turn()) == "You said: still fine."
    async with session(local_server) as fresh:
        await fresh.send({"realtimeInput": {"text": "new"}})
        assert text_of(await fresh.turn()) == "You said: new."


async def test_oversized_frame_closes_1009() -> None:
    async with running(max_frame_bytes=4096) as server, session(server) as c:
        await c.send({"realtimeInput": {"text": "x" * 5000}})
        code, _ = await c.closed()
    assert code == 1009


async def test_sessions_beyond_the_limit_are_refused() -> None:
    async with running(max_sessions=1) as server, session(server):
        async with connect(server) as extra:  # a close with a reason the SDKs show (§5.9)
            assert await extra.closed() == (1013, full_reason(1))
        assert server.sessions_active == 1


async def test_resumption_restores_the_conversation(local_server: RunningServer) -> None:
    setup = setup_msg(sessionResumption={})
    async with session(local_server, setup) as c:
        first = (await c.recv()).msg["sessionResumptionUpdate"]
        assert first["resumable"] is True and first["newHandle"]
        await c.send({"realtimeInput": {"text": "remember the red door"}})
        frames = await c.turn()
        assert frames[0].msg == {"sessionResumptionUpdate": {"resumable": False}}
        update = (await c.recv()).msg["sessionResumptionUpdate"]
        assert update["resumable"] is True and update["newHandle"] != first["newHandle"]
    resumed = setup_msg(sessionResumption={"handle": update["newHandle"]})
    async with session(local_server, resumed) as c:
        await c.recv()
        await c.send({"realtimeInput": {"text": "what did I say"}})
        frames = await c.turn()
    assert text_of(frames) == (
        "You said: what did I say. This is turn 2; before that you said: remember the red door.")


async def test_unknown_handle_or_other_model_closes_1007(local_server: RunningServer) -> None:
    async with connect(local_server) as c:
        await c.send(setup_msg(sessionResumption={"handle": "no-such-handle"}))
        assert await c.closed() == (1007, INVALID)
    async with session(local_server, setup_msg(sessionResumption={})) as c:
        handle = (await c.recv()).msg["sessionResumptionUpdate"]["newHandle"]
    async with connect(local_server) as c:
        await c.send(setup_msg(AUDIO_MODEL, "AUDIO", sessionResumption={"handle": handle}))
        assert await c.closed() == (1007, INVALID)


async def test_go_away_then_1008_when_the_client_overstays() -> None:
    async with running(connection_lifetime_s=0.3, go_away_grace_s=0.4) as server:
        async with session(server) as c:
            go_away = await c.recv(limit_s=5)
            assert go_away.msg == {"goAway": {"timeLeft": "0.4s"}}
            code, reason = await c.closed()
            waited = time.monotonic() - go_away.at
        async with session(server) as polite:  # closing in time is fine
            await polite.recv(limit_s=5)
            await polite.ws.close()
            assert polite.ws.close_code == 1000
    assert 0.3 <= waited <= 1.5
    assert code == 1008
    assert reason.startswith("Connection aborted because the client failed to close the "
                             "connection after receiving a GoAway signal")
    assert len(reason.encode()) <= 123


async def test_context_window_compression_drops_old_turns(local_server: RunningServer) -> None:
    setup = setup_msg(contextWindowCompression={"triggerTokens": 30,
                                                "slidingWindow": {"targetTokens": 20}})
    async with session(local_server, setup) as c:
        for word in ["one", "two", "three four five six seven eight nine ten eleven"]:
            await c.send({"realtimeInput": {"text": word}})
            frames = await c.turn()
    # "one"/"two" fell out of the window: the engine sees this as the first turn
    assert text_of(frames) == "You said: three four five six seven eight nine ten eleven."


async def test_keys_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(require_key="sekret-key") as server:
        async with session(server, path=PATH + "?key=sekret-key",
                           headers={"x-goog-api-key": "sekret-key"}) as c:
            await c.send({"realtimeInput": {"text": "hi"}})
            await c.turn()
        async with connect(server, path=PATH + "?key=wrong-key") as c:
            await c.send(setup_msg())
            await c.closed()
    ours = [r for r in caplog.records if r.name.startswith("voicecli")]
    text = "\n".join(r.getMessage() for r in ours)
    assert len(ours) > 5
    assert "sekret" not in text and "wrong-key" not in text and "?key" not in text
    assert all(r.levelno == logging.DEBUG for r in ours)
