"""The local server and the model options of a setup (live-protocol.md §3.1, §4.2, §5.9, §7).

Raw setups over real loopback WebSockets: a field the model does not take closes the session
1007 with the service's wording before setupComplete; what it takes is honoured where the local
engine can (thought summaries, the brain's temperature and token limit, the language hint).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from voicecli.protocol.codec import decode_client
from voicecli.protocol.messages import Setup
from voicecli.server import ServerConfig, start_server
from voicecli.server.engines.brain import OpenAIEngine
from voicecli.server.session.handles import HandleStore
from voicecli.server.transport.admission import INVALID_ARGUMENT, NO_VOICE, admit
from voicecli.server.transport.routing import Route

from .helpers import PATH, connect, running, session, setup_msg, text_of
from .openai_stub import OpenAIStub

NATIVE_25 = "models/gemini-2.5-flash-native-audio-preview-12-2025"
X_THINKING = "models/gemini-3.8-live-extended-thinking"
V1ALPHA = PATH.replace("v1beta", "v1alpha")


def audio_setup(model: str, generation: dict[str, Any] | None = None, **extra: Any
                ) -> dict[str, Any]:
    msg = setup_msg(model, "AUDIO", outputAudioTranscription={}, **extra)
    msg["setup"]["generationConfig"].update(generation or {})
    return msg


REFUSED = [
    ("affective on 3.8", audio_setup("models/gemini-3.8-live", {"enableAffectiveDialog": True})),
    ("thinking on 3.8", audio_setup("models/gemini-3.8-live",
                                    {"thinkingConfig": {"includeThoughts": True}})),
    ("budget on extended thinking", audio_setup(X_THINKING,
                                                {"thinkingConfig": {"thinkingBudget": 512}})),
    ("level on 2.5", audio_setup(NATIVE_25, {"thinkingConfig": {"thinkingLevel": "LOW"}})),
    ("temperature 3", audio_setup("models/gemini-3.8-live", {"temperature": 3.0})),
    ("media resolution on translate", audio_setup("models/gemini-3.5-live-translate-preview",
                                                  {"mediaResolution": "MEDIA_RESOLUTION_LOW"})),
    ("all video on 2.5", audio_setup(NATIVE_25, realtimeInputConfig={
        "turnCoverage": "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"})),
    ("language hint on 2.5", audio_setup(NATIVE_25, inputAudioTranscription={
        "languageCodes": ["de"]})),
    ("language code on 3.8", audio_setup("models/gemini-3.8-live", {
        "speechConfig": {"languageCode": "de-DE"}})),
    ("affective on v1beta", audio_setup(NATIVE_25, {"enableAffectiveDialog": True})),
    ("proactive false on 3.8", audio_setup("models/gemini-3.8-live",
                                           proactivity={"proactiveAudio": False})),
]


@pytest.mark.parametrize(("name", "msg"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_a_field_the_model_does_not_take_closes_1007(name: str, msg: dict[str, Any]
                                                         ) -> None:
    async with running() as server, connect(server) as client:
        await client.send(msg)
        assert await client.closed() == (1007, INVALID_ARGUMENT)
        assert client.frames == []  # no setupComplete first


async def test_an_unknown_voice_closes_with_the_services_reason() -> None:
    voice = {"speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Korre"}}}}
    async with running() as server, connect(server) as client:
        await client.send(audio_setup("models/gemini-3.8-live", voice))
        assert await client.closed() == (1007, NO_VOICE)


async def test_v1alpha_admits_affective_and_proactive_on_25() -> None:
    msg = audio_setup(NATIVE_25, {"enableAffectiveDialog": True, "temperature": 0.2,
                                  "maxOutputTokens": 100, "mediaResolution": "MEDIA_RESOLUTION_LOW",
                                  "thinkingConfig": {"thinkingBudget": 0}},
                      proactivity={"proactiveAudio": True},
                      realtimeInputConfig={"turnCoverage": "TURN_INCLUDES_ALL_INPUT"})
    async with running() as server, session(server, msg, path=V1ALPHA) as client:
        await client.send({"realtimeInput": {"text": "hello"}})
        frames = await client.turn()
        assert "hello" in text_of(frames, "outputTranscription").lower()


async def test_thought_summary_comes_before_the_answer() -> None:
    msg = audio_setup(X_THINKING, {"thinkingConfig": {"thinkingLevel": "LOW",
                                                      "includeThoughts": True}})
    async with running() as server, session(server, msg) as client:
        await client.send({"realtimeInput": {"text": "what time is it"}})
        frames = await client.turn()
    parts = [p for f in frames for p in f.content.get("modelTurn", {}).get("parts", [])]
    assert parts[0] == {"text": "The user typed 4 words; I will repeat them back.",
                        "thought": True}
    assert all("inlineData" in p for p in parts[1:]) and len(parts) > 1  # then the spoken answer
    assert "what time is it" in text_of(frames, "outputTranscription").lower()
    assert "thought" not in text_of(frames, "outputTranscription").lower()
    usage = frames[-1].msg["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0
    assert usage["totalTokenCount"] == (usage["promptTokenCount"] + usage["responseTokenCount"]
                                        + usage["thoughtsTokenCount"])


async def test_no_thoughts_unless_asked() -> None:
    msg = audio_setup(X_THINKING, {"thinkingConfig": {"thinkingLevel": "HIGH"}})
    async with running() as server, session(server, msg) as client:
        await client.send({"realtimeInput": {"text": "hello"}})
        frames = await client.turn()
    parts = [p for f in frames for p in f.content.get("modelTurn", {}).get("parts", [])]
    assert parts and not any(p.get("thought") for p in parts)
    assert "thoughtsTokenCount" not in frames[-1].msg["usageMetadata"]


async def test_the_brain_gets_the_setups_temperature_and_token_limit() -> None:
    async with OpenAIStub() as stub:
        engine = OpenAIEngine(stub.base_url, "stub-model", temperature=0.9)
        config = ServerConfig(port=0, pace=0)
        async with await start_server(config, engine=engine) as server:
            msg = setup_msg(generationConfig={"responseModalities": ["TEXT"],
                                              "temperature": 0.25, "maxOutputTokens": 64})
            async with session(server, msg) as client:
                await client.send({"realtimeInput": {"text": "hi"}})
                await client.turn()
    assert (stub.requests[0]["temperature"], stub.requests[0]["max_tokens"]) == (0.25, 64)


def test_the_transcription_hint_is_the_sessions_language() -> None:
    raw = audio_setup("models/gemini-3.8-live", inputAudioTranscription={
        "languageCodes": ["de"]}, generationConfig={
            "responseModalities": ["AUDIO"], "thinkingConfig": {"includeThoughts": True}})
    setup = decode_client(json.dumps(raw))
    assert isinstance(setup, Setup)
    setup.model = X_THINKING  # the thinking model takes includeThoughts
    plan = admit(setup, Route("gemini", "v1beta", "BidiGenerateContent"), HandleStore())
    assert plan.conversation.language == "de"
    assert plan.conversation.include_thoughts is True
