"""Model turns over a real WebSocket: frame order (§5.2), modalities, history, usage."""

from __future__ import annotations

from voicecli.server import RunningServer

from .helpers import AUDIO_MODEL, audio_of, connect, session, setup_msg, text_of


async def test_text_turn_frame_sequence(local_server: RunningServer) -> None:
    async with session(local_server) as c:
        assert isinstance(c.frames[0].raw, bytes)  # §2: binary frames of pretty JSON
        assert c.frames[0].raw == b'{\n  "setupComplete": {}\n}'
        await c.send({"realtimeInput": {"text": "Hello there, how are you today?"}})
        frames = await c.turn()
    kinds = [f.kind() for f in frames]
    assert kinds[-2:] == ["generationComplete", "turnComplete"]
    assert set(kinds[:-2]) == {"text"} and len(kinds) >= 4
    assert text_of(frames) == "You said: Hello there how are you today."
    assert all(isinstance(f.raw, bytes) and f.raw.startswith(b"{\n  ") for f in frames)
    usage = frames[-1].msg["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]
    assert usage["responseTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": usage["responseTokenCount"]}]
    assert usage["promptTokenCount"] >= len("Hello there, how are you today?") // 4


async def test_audio_turn_with_output_transcription(local_server: RunningServer) -> None:
    setup = setup_msg(AUDIO_MODEL, "AUDIO", outputAudioTranscription={},
                      generationConfig={"responseModalities": ["AUDIO"], "speechConfig": {
                          "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}}})
    async with session(local_server, setup) as c:
        await c.send({"realtimeInput": {"text": "good morning"}})
        frames = await c.turn()
    kinds = [f.kind() for f in frames]
    assert kinds[-2:] == ["generationComplete", "turnComplete"]
    assert "text" not in kinds and "outputTranscription" in kinds
    audio = audio_of(frames)
    assert len(audio) > 24000 and len(audio) % 2 == 0  # > 0.5 s of 24 kHz PCM16
    mimes = {f.content["modelTurn"]["parts"][0]["inlineData"]["mimeType"]
             for f in frames if f.kind() == "audio"}
    assert mimes == {"audio/pcm;rate=24000"}
    assert text_of(frames, "outputTranscription") == "You said: good morning."
    # the last transcript comes before generationComplete (§4.2)
    assert kinds.index("generationComplete") > max(
        i for i, k in enumerate(kinds) if k == "outputTranscription")
    usage = frames[-1].msg["usageMetadata"]
    seconds = len(audio) / 48000
    assert usage["responseTokensDetails"] == [
        {"modality": "AUDIO", "tokenCount": usage["responseTokenCount"]}]
    assert abs(usage["responseTokenCount"] - 32 * seconds) <= 2


async def test_audio_without_transcription_sends_only_audio(local_server: RunningServer) -> None:
    async with session(local_server, setup_msg(AUDIO_MODEL, "AUDIO")) as c:
        await c.send({"realtimeInput": {"text": "hi"}})
        frames = await c.turn()
    assert {f.kind() for f in frames} == {"audio", "generationComplete", "turnComplete"}


async def test_default_modality_is_audio(local_server: RunningServer) -> None:
    async with session(local_server, {"setup": {"model": "models/gemini-3.8-live"}}) as c:
        await c.send({"realtimeInput": {"text": "hi"}})
        frames = await c.turn()
    assert "audio" in {f.kind() for f in frames}


async def test_client_content_history_and_snake_case(local_server: RunningServer) -> None:
    """§3.2: turns append to the history; turnComplete answers the last user turn."""
    async with session(local_server) as c:
        await c.send({"client_content": {"turns": [
            {"role": "user", "parts": [{"text": "first question"}]},
            {"role": "model", "parts": [{"text": "first answer"}]},
            {"role": "user", "parts": [{"text": "second question"}]}],
            "turn_complete": True}})
        frames = await c.turn()
        assert text_of(frames) == (
            "You said: second question. This is turn 2; before that you said: first question.")
        await c.send({"clientContent": {"turns": [
            {"role": "user", "parts": [{"text": "more"}]}], "turnComplete": False}})
        await c.send({"clientContent": {"turnComplete": True}})
        frames = await c.turn()
        assert text_of(frames).startswith("You said: more. This is turn 3;")


async def test_realtime_text_turns_remember_earlier_turns(local_server: RunningServer) -> None:
    async with session(local_server) as c:
        await c.send({"realtimeInput": {"text": "alpha"}})
        await c.turn()
        await c.send({"realtimeInput": {"text": "beta"}})
        frames = await c.turn()
    assert text_of(frames) == "You said: beta. This is turn 2; before that you said: alpha."


async def test_empty_text_is_answered_honestly(local_server: RunningServer) -> None:
    async with session(local_server) as c:
        await c.send({"realtimeInput": {"text": "  "}})
        frames = await c.turn()
    assert text_of(frames) == "You sent an empty message."


async def test_vertex_path_gets_a_session_id_and_vertex_usage(local_server: RunningServer) -> None:
    path = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    model = ("projects/p/locations/us-central1/publishers/google/models/"
             "gemini-live-2.5-flash-native-audio")
    async with connect(local_server, path) as c:
        await c.send({"setup": {"model": model}})
        first = await c.recv()
        await c.send({"realtimeInput": {"text": "hi"}})
        usage = (await c.turn())[-1].msg["usageMetadata"]
    assert len(first.msg["setupComplete"]["sessionId"]) == 36
    assert usage["candidatesTokenCount"] > 0 and "responseTokenCount" not in usage  # §8


async def test_paced_turn_waits_for_playback_before_turn_complete() -> None:
    """§5.2: generation runs ahead (lead), turnComplete comes when playback would end."""
    from .helpers import running

    async with running(pace=1.0) as server:
        async with session(server, setup_msg(AUDIO_MODEL, "AUDIO")) as c:
            await c.send({"realtimeInput": {"text": "one two three four"}})
            frames = await c.turn()
    audio_s = len(audio_of(frames)) / 48000
    first_audio = next(f.at for f in frames if f.kind() == "audio")
    gen_done = next(f.at for f in frames if f.kind() == "generationComplete")
    span = frames[-1].at - first_audio
    assert audio_s > 1.0
    assert audio_s - 0.25 <= span <= audio_s + 0.6
    assert gen_done - first_audio <= audio_s - 0.3  # sent ahead of real time by the lead
