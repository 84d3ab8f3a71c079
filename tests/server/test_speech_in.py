"""User audio: server VAD (§3.1.5, §5.4), manual activity, audioStreamEnd, input transcription,
input rates (§6) and the sample-rate rule (§5.9)."""

from __future__ import annotations

import asyncio
import base64

import numpy as np

from tests.speechgen import silence, speech_pcm16
from tests.wer import normalize
from voicecli.audio.pcm import resample
from voicecli.server import RunningServer

from .helpers import AUDIO_MODEL, audio_msg, session, setup_msg, text_of

# phrases the default recogniser (Whisper tiny.en) hears word for word when espeak says them
PHRASE = "what is the weather like in london today"
LONGER = "please turn on the kitchen lights and play some music in the living room"


def _words(text: str) -> list[str]:
    """Lowercase words without punctuation (Whisper writes "Please tell … sea.")."""
    return normalize(text)


def _setup(**extra: object) -> dict[str, object]:
    return setup_msg(AUDIO_MODEL, "AUDIO", inputAudioTranscription={},
                     outputAudioTranscription={}, **extra)


async def test_speech_with_server_vad_is_transcribed_and_answered(
    local_server: RunningServer,
) -> None:
    aad = {"automaticActivityDetection": {"silenceDurationMs": 500, "prefixPaddingMs": 200,
                                          "startOfSpeechSensitivity": "START_SENSITIVITY_HIGH"}}
    async with session(local_server, _setup(realtimeInputConfig=aad)) as c:
        await c.stream(silence(300) + speech_pcm16(PHRASE) + silence(900))
        frames = await c.turn()
    kinds = [f.kind() for f in frames if f.kind() != "interimInputTranscription"]
    heard = text_of(frames, "inputTranscription")
    assert kinds[0] == "inputTranscription"
    assert _words(heard) == PHRASE.split(), heard
    final = next(f for f in frames if f.kind() == "inputTranscription")
    assert final.content["inputTranscription"].get("finished") is True
    assert text_of(frames, "outputTranscription") == f"You said: {heard.rstrip('.?')}."
    usage = frames[-1].msg["usageMetadata"]
    audio_prompt = {d["modality"]: d["tokenCount"] for d in usage["promptTokensDetails"]}["AUDIO"]
    assert 60 <= audio_prompt <= 32 * 5  # ~2.5–4 s of speech at 32 tokens/s


async def test_words_are_transcribed_while_the_user_is_still_speaking(
    local_server: RunningServer,
) -> None:
    speech = speech_pcm16(LONGER)
    async with session(local_server, _setup()) as c:
        sending = asyncio.create_task(c.stream(silence(300) + speech + silence(1200),
                                               realtime=True))
        first = await c.until("interimInputTranscription", limit_s=10)
        speaking = not sending.done()
        frames = first + await c.turn()
        await sending
    interim = [f.content["interimInputTranscription"]["text"] for f in frames
               if f.kind() == "interimInputTranscription"]
    final = [f.content["inputTranscription"] for f in frames if f.kind() == "inputTranscription"]
    assert speaking, "the first words arrived only after the audio ended"
    assert len(interim) >= 3  # the provisional text grew while the user spoke
    assert all(a != b for a, b in zip(interim, interim[1:], strict=False))  # sent on change
    assert len(interim[-1].split()) > len(interim[0].split())
    assert len(final) == 1 and final[0]["finished"] is True
    assert _words(final[0]["text"]) == LONGER.split(), final


async def test_manual_activity_answers_after_activity_end(local_server: RunningServer) -> None:
    setup = _setup(realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
    async with session(local_server, setup) as c:
        await c.stream(speech_pcm16("this audio is outside any activity"))  # ignored
        await c.send({"realtimeInput": {"activityStart": {}}})
        await c.stream(silence(100) + speech_pcm16(PHRASE) + silence(100))
        await c.send({"realtimeInput": {"activityEnd": {}}})
        frames = await c.turn()
    heard = text_of(frames, "inputTranscription")
    assert _words(heard) == PHRASE.split(), heard


async def test_audio_stream_end_closes_open_speech(local_server: RunningServer) -> None:
    """Without trailing silence the turn only ends when the mic goes off (§3.3)."""
    async with session(local_server, _setup()) as c:
        await c.stream(silence(200) + speech_pcm16(PHRASE))
        await c.send({"realtimeInput": {"audioStreamEnd": True}})
        frames = await c.turn()
    assert _words(text_of(frames, "inputTranscription")) == PHRASE.split()


async def test_deprecated_media_chunks_and_48k_input(local_server: RunningServer) -> None:
    pcm48 = resample(np.frombuffer(silence(200) + speech_pcm16(PHRASE) + silence(1000),
                                   dtype=np.int16), 16000, 48000).tobytes()
    async with session(local_server, _setup()) as c:
        step = 48000 * 2 // 50
        for i in range(0, len(pcm48), step):
            data = base64.urlsafe_b64encode(pcm48[i : i + step]).decode()  # the SDK's alphabet
            await c.send({"realtime_input": {"media_chunks": [
                {"mime_type": "audio/pcm;rate=48000", "data": data}]}})
        frames = await c.turn()
    assert _words(text_of(frames, "inputTranscription")) == PHRASE.split()


async def test_no_input_transcription_unless_asked(local_server: RunningServer) -> None:
    async with session(local_server, setup_msg(AUDIO_MODEL, "AUDIO")) as c:
        await c.stream(silence(200) + speech_pcm16("hello") + silence(1000))
        frames = await c.turn()
    assert "inputTranscription" not in {f.kind() for f in frames}


async def test_silence_and_noise_alone_start_no_turn(local_server: RunningServer) -> None:
    rng = np.random.default_rng(1)
    hiss = (rng.normal(0, 30, 16000)).astype(np.int16).tobytes()  # about -60 dBFS
    async with session(local_server, _setup()) as c:
        await c.stream(silence(500) + hiss)
        await c.send({"realtimeInput": {"audioStreamEnd": True}})
        await c.send({"realtimeInput": {"text": "ping"}})
        frames = await c.turn()
    assert text_of(frames, "outputTranscription") == "You said: ping."
    assert "inputTranscription" not in {f.kind() for f in frames}


async def test_sample_rate_change_closes_1007(local_server: RunningServer) -> None:
    async with session(local_server, _setup()) as c:
        await c.send(audio_msg(silence(20), 24000))
        await c.send(audio_msg(b"", 16000))  # an empty chunk does not count
        await c.send(audio_msg(silence(20), 16000))
        code, reason = await c.closed()
    assert (code, reason) == (
        1007, "Sample rate changed from previously 24000 to 16000, which is not supported.")
