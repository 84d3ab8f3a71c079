"""`run_talk` sessions that start from somewhere or carry more than audio: `--resume`,
`--context`, `translate`, video, and the summary at the end (turns, tokens by modality, the
handle to resume with). Real local server, real speech; device stand-ins."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.speechgen import speech_pcm16
from tests.talk.test_conversation import said
from voicecli.audio.fakes import ArrayMicrophone, NullSpeaker
from voicecli.protocol.messages import Content, Part
from voicecli.server import ServerConfig, start_server
from voicecli.settings import Settings
from voicecli.talk.options import TalkOptions
from voicecli.talk.run import TalkResult, run_talk
from voicecli.translate.setup import TranslationOptions
from voicecli.video.sources import FrameSource, SyntheticSource

QUESTION = "what is the weather like in london today"
Events = list[dict[str, Any]]


def spoken(text: str) -> bytes:
    return bytes(16000) + speech_pcm16(text) + bytes(64000)


async def talk_until(url: str, options: TalkOptions, pcm: bytes,
                     done: Callable[[Events], bool], *, model: str | None = None,
                     video: FrameSource | None = None) -> tuple[Events, TalkResult]:
    """Run a conversation until `done(events)`, then quit it as `q` would."""
    settings = Settings.of(base_url=url, **({"model": model} if model else {}))
    events: Events = []
    stop = asyncio.Event()
    mic, speaker = ArrayMicrophone(pcm), NullSpeaker()
    async with mic, speaker:
        task = asyncio.create_task(run_talk(settings, options, emit=events.append, mic=mic,
                                            speaker=speaker, read_keys=False, stop=stop,
                                            video=video))
        async with asyncio.timeout(30):
            while not done(events):
                if task.done():
                    task.result()
                    raise AssertionError(f"talk ended early: {events}")
                await asyncio.sleep(0.05)
        stop.set()
        return events, await asyncio.wait_for(task, 10)


def turns(events: Events) -> Events:
    return [e for e in events if e["type"] == "turn"]


def has_turn(events: Events) -> bool:
    return bool(turns(events))


async def test_the_summary_and_resuming_where_a_session_left_off() -> None:
    async with await start_server(ServerConfig(port=0)) as server:
        first_events, first = await talk_until(server.url, TalkOptions(), spoken(QUESTION),
                                               has_turn)
        heard = turns(first_events)[0]["user"]
        assert first.resume_handle is not None
        resumed = TalkOptions(resume=first.resume_handle)
        events, _ = await talk_until(server.url, resumed, spoken("and tomorrow"), has_turn)
    summary = first_events[-1]
    assert summary["type"] == "summary" and summary["turns"] == 1
    assert summary["resume_handle"] == first.resume_handle and summary["duration_s"] > 0
    usage = summary["usage"]
    assert usage["prompt_by_modality"]["audio"] > 0 and usage["response_by_modality"]["audio"] > 0
    assert usage == first.usage.to_json() and turns(first_events)[0]["usage"]["total_tokens"] > 0
    assert f"before that you said {said(heard)}" in said(turns(events)[0]["model"])


async def test_context_turns_come_before_the_first_question() -> None:
    context = [Content(role="user", parts=[Part(text="my name is bob")]),
               Content(role="model", parts=[Part(text="Hello Bob.")])]
    async with await start_server(ServerConfig(port=0)) as server:
        events, _ = await talk_until(server.url, TalkOptions(context=context), spoken(QUESTION),
                                     has_turn)
    assert "This is turn 2; before that you said: my name is bob." in turns(events)[0]["model"]


async def test_translate_shows_both_sides() -> None:
    options = TalkOptions(translation=TranslationOptions("es", source="en"))
    async with await start_server(ServerConfig(port=0)) as server:
        events, result = await talk_until(server.url, options, spoken(QUESTION), has_turn,
                                          model="gemini-3.5-live-translate-preview")
    turn = turns(events)[0]
    assert len(set(turn["user"].split()) & set(QUESTION.split())) >= 4, turn
    assert turn["model"].startswith("[es] ") and said(turn["model"]) == f"es {said(turn['user'])}"
    assert result.turns == 1


async def test_video_frames_go_out_at_one_a_second_with_the_conversation() -> None:
    source = SyntheticSource(1280, 720)
    async with await start_server(ServerConfig(port=0)) as server:
        events, result = await talk_until(server.url, TalkOptions(), spoken(QUESTION), has_turn,
                                          video=source)
    frames = [e for e in events if e["type"] == "video_frame"]
    assert frames and (frames[0]["width"], frames[0]["height"]) == (1024, 576)
    assert result.video_frames == len(frames) == events[-1]["video_frames"]
    assert len(frames) <= result.duration_s + 1  # ≤ 1 FPS (§6)
    turn = turns(events)[0]
    assert "images but cannot see images." in turn["model"] or "1 image but" in turn["model"]
    assert turn["usage"]["prompt_by_modality"]["image"] % 256 == 0
