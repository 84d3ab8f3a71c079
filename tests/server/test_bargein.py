"""Barge-in (§5.3): user activity during a reply ends it with interrupted → turnComplete."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.speechgen import silence, speech_pcm16
from voicecli.server.session.speech_io import warm_up
from voicecli.speech.vad import SpeechSegmenter, SpeechStarted, VadSettings

from .helpers import (
    AUDIO_MODEL,
    CHUNK_MS,
    Client,
    Frame,
    audio_msg,
    audio_of,
    running,
    session,
    setup_msg,
    text_of,
)

LONG = " ".join(["the quick brown fox jumps over the lazy dog"] * 4)  # ~12 s of reply
USER = "hello there how are you"


@pytest.fixture(autouse=True, scope="module")
def _speech_loaded() -> None:
    """Load the speech models first: pocketsphinx holds the GIL while it loads (~0.2 s), which
    would stall the shared event loop in the middle of a latency measurement."""
    warm_up()


def _setup(handling: str | None = None) -> dict[str, object]:
    config = {"automaticActivityDetection": {"silenceDurationMs": 400}}
    if handling:
        config["activityHandling"] = handling
    return setup_msg(AUDIO_MODEL, "AUDIO", outputAudioTranscription={},
                     inputAudioTranscription={}, realtimeInputConfig=config)


async def _start_long_reply(c: Client) -> list[Frame]:
    await c.send({"realtimeInput": {"text": LONG}})
    return [await c.recv() for _ in range(8)]  # ~0.3 s of audio is out


async def _speak_in_real_time(c: Client, pcm: bytes, sent_at: list[float]) -> None:
    sent_at.append(time.monotonic())
    await c.stream(pcm, realtime=True)


async def test_speech_interrupts_a_paced_reply_quickly() -> None:
    speech = speech_pcm16(USER) + silence(700)  # made before: espeak is one lock per process
    async with running(pace=1.0) as server, session(server, _setup()) as c:
        before = await _start_long_reply(c)
        sent_at: list[float] = []
        speaker = asyncio.create_task(_speak_in_real_time(c, speech, sent_at))
        during = await c.until("interrupted", limit_s=10)
        interrupted = during[-1]
        after = await c.turn()
        latency = interrupted.at - sent_at[0]
        await speaker
        answer = await c.until_said(limit_s=20)
    print(f"\nbarge-in latency: {latency * 1000:.0f} ms")
    turn = before + during + after
    kinds = [f.kind() for f in turn]
    assert "generationComplete" not in kinds
    assert kinds[-2:] == ["interrupted", "turnComplete"]
    assert latency < 0.4  # the VAD needs ~160 ms of this speech to commit (§3.1.5 HIGH)
    played = len(audio_of(turn)) / 48000
    assert 0.3 < played < 3.0  # the rest of the ~12 s reply was never sent
    said = text_of(turn, "outputTranscription")
    assert said and "You said: the quick brown fox".startswith(said[:20])
    heard = text_of(answer, "inputTranscription")
    assert heard and text_of(answer, "outputTranscription").startswith("You said:")


def _decision_chunk(pcm: bytes, settings: VadSettings) -> int:
    """Index of the CHUNK_MS chunk whose arrival makes the server's VAD decide speech began."""
    segmenter = SpeechSegmenter(settings)
    step = 16000 * 2 * CHUNK_MS // 1000
    for index, i in enumerate(range(0, len(pcm), step)):
        if any(isinstance(e, SpeechStarted) for e in segmenter.feed(pcm[i : i + step])):
            return index
    raise AssertionError("the VAD never decided")


async def test_interrupted_within_100ms_of_the_vad_decision() -> None:
    speech = silence(300) + speech_pcm16(USER) + silence(700)
    decided = _decision_chunk(speech, VadSettings(silence_duration_ms=400))
    async with running(pace=1.0) as server, session(server, _setup()) as c:
        await _start_long_reply(c)
        sent_at: list[float] = []

        async def speak() -> None:
            step = 16000 * 2 * CHUNK_MS // 1000
            for i in range(0, len(speech), step):
                await c.send(audio_msg(speech[i : i + step], 16000))
                sent_at.append(time.monotonic())
                await asyncio.sleep(CHUNK_MS / 1000)

        speaker = asyncio.create_task(speak())
        interrupted = (await c.until("interrupted", limit_s=10))[-1]
        await speaker
    latency = interrupted.at - sent_at[decided]
    print(f"\ninterrupted {latency * 1000:.0f} ms after the deciding chunk was sent")
    assert 0 <= latency < 0.1


async def test_no_interruption_lets_the_reply_finish() -> None:
    speech = speech_pcm16(USER) + silence(700)
    async with running(pace=0.1) as server, session(server, _setup("NO_INTERRUPTION")) as c:
        await c.send({"realtimeInput": {"text": LONG}})
        await c.recv()
        await c.stream(speech)
        first = await c.turn(limit_s=20)
        second = await c.until_said(limit_s=20)
    kinds = [f.kind() for f in first]
    assert "interrupted" not in kinds and kinds[-2:] == ["generationComplete", "turnComplete"]
    assert text_of(first, "outputTranscription") == f"You said: {LONG}."
    assert text_of(second, "outputTranscription").startswith("You said: ")


async def test_text_and_client_content_interrupt_too() -> None:
    async with running(pace=1.0) as server, session(server, _setup()) as c:
        await _start_long_reply(c)
        await c.send({"realtimeInput": {"text": "stop"}})
        cut = await c.turn()
        assert [f.kind() for f in cut][-2:] == ["interrupted", "turnComplete"]
        await c.recv()  # the answer to "stop" begins
        await c.send({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "x"}]}],
                                        "turnComplete": True}})
        cut2 = await c.turn()
        assert [f.kind() for f in cut2][-2:] == ["interrupted", "turnComplete"]
        final = await c.until_said(30)
    assert text_of(final, "outputTranscription").startswith("You said: x. This is turn ")


async def test_activity_start_interrupts_in_manual_mode() -> None:
    setup = setup_msg(AUDIO_MODEL, "AUDIO", realtimeInputConfig={
        "automaticActivityDetection": {"disabled": True}})
    async with running(pace=1.0) as server, session(server, setup) as c:
        await _start_long_reply(c)
        t0 = time.monotonic()
        await c.send({"realtimeInput": {"activityStart": {}}})
        cut = await c.turn()
        assert cut[-2].kind() == "interrupted" and cut[-2].at - t0 < 0.2
        await c.send({"realtimeInput": {"activityEnd": {}}})
        answer = await c.until("audio")
    assert audio_of(answer)
