"""The aiplatform path answers in Vertex AI's style where live-protocol.md §8 (and the recorded
Vertex sessions) show it differs from the Gemini API: `setupComplete.sessionId`, `modelTurn.role`,
audio as `audio/pcm` without a rate, `candidates*` usage, and a function response without an id
tolerated."""

from __future__ import annotations

import pytest

from voicecli.server import RunningServer

from .helpers import PATH, session, setup_msg, text_of

VERTEX = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
PROJECT = "projects/p/locations/us-central1/publishers/google/models/"
NO_ID = {"toolResponse": {"functionResponses": [{"name": "getStatus",
                                                 "response": {"mood": "happy"}}]}}


async def test_an_audio_turn_in_vertex_style(local_server: RunningServer) -> None:
    setup = setup_msg(PROJECT + "gemini-live-2.5-flash-native-audio", "AUDIO")
    async with session(local_server, setup, path=VERTEX) as c:
        assert len(c.frames[0].msg["setupComplete"]["sessionId"]) == 36
        await c.send({"realtimeInput": {"text": "vertex audio"}})
        frames = await c.turn()
    turns = [f.content["modelTurn"] for f in frames if f.kind() == "audio"]
    assert turns and all(t["role"] == "model" for t in turns)
    assert {t["parts"][0]["inlineData"]["mimeType"] for t in turns} == {"audio/pcm"}
    usage = frames[-1].msg["usageMetadata"]
    assert usage["candidatesTokenCount"] > 0 and "responseTokenCount" not in usage
    assert usage["candidatesTokensDetails"] == [
        {"modality": "AUDIO", "tokenCount": usage["candidatesTokenCount"]}]


async def test_a_text_turn_in_vertex_style(local_server: RunningServer) -> None:
    async with session(local_server, setup_msg(PROJECT + "gemini-2.0-flash-live-001"),
                       path=VERTEX) as c:
        await c.send({"realtimeInput": {"text": "vertex text"}})
        frames = await c.turn()
    assert text_of(frames) == "You said: vertex text."
    assert all(f.content["modelTurn"]["role"] == "model" for f in frames if f.kind() == "text")


async def test_the_gemini_path_keeps_its_own_style(local_server: RunningServer) -> None:
    async with session(local_server, setup_msg("models/gemini-3.8-live", "AUDIO")) as c:
        assert "sessionId" not in c.frames[0].msg["setupComplete"]
        await c.send({"realtimeInput": {"text": "gemini audio"}})
        frames = await c.turn()
    turns = [f.content["modelTurn"] for f in frames if f.kind() == "audio"]
    assert turns and all("role" not in t for t in turns)
    assert {t["parts"][0]["inlineData"]["mimeType"] for t in turns} == {"audio/pcm;rate=24000"}


@pytest.mark.parametrize(("path", "model", "tolerated"), [
    (VERTEX, PROJECT + "gemini-2.0-flash-live-001", True),  # as recorded from Vertex (§8)
    (PATH, "models/gemini-live-2.5-flash-preview", False),  # the Gemini API needs ids (§3.4)
])
async def test_a_function_response_without_an_id(
    local_server: RunningServer, path: str, model: str, tolerated: bool
) -> None:
    async with session(local_server, setup_msg(model), path=path) as c:
        await c.send(NO_ID)
        if not tolerated:
            assert (await c.closed())[0] == 1007
            return
        await c.send({"realtimeInput": {"text": "still here"}})
        assert text_of(await c.turn()) == "You said: still here."
