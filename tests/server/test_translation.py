"""The local server's live-translate stand-in (§3.1 translationConfig, §7.1): the recognised
words said back as ``[es] …`` in the target language's voice, both transcripts, audio-only
input, and no barge-in in a continuous translation stream."""

from __future__ import annotations

from typing import Any

from tests.speechgen import silence, speech_pcm16
from voicecli.server import RunningServer

from .helpers import audio_of, running, session, setup_msg, text_of

TRANSLATE = "models/gemini-3.5-live-translate-preview"
PHRASE = "what is the weather like in london today"


def translate_setup(to: str = "es", echo_target: bool | None = None,
                    **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"targetLanguageCode": to}
    if echo_target is not None:
        config["echoTargetLanguage"] = echo_target
    msg = setup_msg(TRANSLATE, "AUDIO", inputAudioTranscription={}, outputAudioTranscription={},
                    **extra)
    msg["setup"]["generationConfig"]["translationConfig"] = config
    return msg


async def test_speech_comes_back_marked_in_the_target_language(
    local_server: RunningServer,
) -> None:
    async with session(local_server, translate_setup("es")) as c:
        await c.stream(silence(300) + speech_pcm16(PHRASE) + silence(900))
        frames = await c.turn()
    heard = text_of(frames, "inputTranscription")
    said = text_of(frames, "outputTranscription")
    assert len(set(heard.split()) & set(PHRASE.split())) >= 5, heard
    assert said == f"[es] {heard}"  # exactly what was spoken, with the marker
    assert len(audio_of(frames)) > 24000 * 2  # over a second of speech
    usage = frames[-1].msg["usageMetadata"]
    assert {d["modality"] for d in usage["promptTokensDetails"]} >= {"AUDIO"}
    assert [d["modality"] for d in usage["responseTokensDetails"]] == ["AUDIO"]


async def test_speech_already_in_the_target_follows_echo_target_language(
    local_server: RunningServer,
) -> None:
    # the bundled recogniser hears English: translating into English is "the target spoken"
    async with session(local_server, translate_setup("en-US", echo_target=False)) as c:
        await c.stream(silence(300) + speech_pcm16(PHRASE) + silence(900))
        quiet = await c.turn()
    assert text_of(quiet, "inputTranscription") and not text_of(quiet, "outputTranscription")
    assert not audio_of(quiet)
    async with session(local_server, translate_setup("en-US", echo_target=True)) as c:
        await c.stream(silence(300) + speech_pcm16(PHRASE) + silence(900))
        echoed = await c.turn()
    assert text_of(echoed, "outputTranscription").startswith("[en-US] ")


async def test_more_speech_never_cuts_a_translation_off() -> None:
    async with running(pace=1.0) as server, session(server, translate_setup("fr")) as c:
        await c.stream(silence(300) + speech_pcm16(PHRASE) + silence(1000))
        frames = await c.until("audio")
        await c.stream(speech_pcm16("and tomorrow") + silence(900), realtime=True)
        frames += await c.turn()  # the first translation, spoken while the user went on
        first_done = len(frames)
        frames += await c.turn()
    assert not any(f.kind() == "interrupted" for f in frames)
    assert text_of(frames[:first_done], "outputTranscription").startswith("[fr] ")
    assert text_of(frames[first_done:], "outputTranscription").startswith("[fr] ")


async def test_text_and_video_are_refused_input_is_audio_only(
    local_server: RunningServer,
) -> None:
    for message in ({"realtimeInput": {"text": "hola"}},
                    {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": "/9j/"}}},
                    {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "x"}]}],
                                       "turnComplete": True}}):
        async with session(local_server, translate_setup("es")) as c:
            await c.send(message)
            code, reason = await c.closed()
        assert (code, reason) == (1007, "Request contains an invalid argument."), message
