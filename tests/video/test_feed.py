"""The frame pipeline on a real session: a frame source (synthetic: a real camera cannot run
on this machine), JPEG frames within 1024×1024 at ≤ 1 FPS as realtimeInput.video, and what the
setup does when video is on (§3.3, §5.7, §6)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from tests.client.test_live import FAST, server, text_setup, turn
from voicecli.client.live import LiveSession
from voicecli.errors import CapabilityError, UsageError
from voicecli.settings import Settings
from voicecli.talk.options import TalkOptions
from voicecli.talk.session_setup import talk_setup
from voicecli.translate.setup import TranslationOptions
from voicecli.video.feed import VideoFeed
from voicecli.video.sources import SyntheticSource


async def test_frames_go_out_at_most_once_a_second_and_reach_the_model() -> None:
    sent_at: list[float] = []
    async with server() as settings:
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as live:
            feed = VideoFeed(live, SyntheticSource(1920, 1080),
                             on_frame=lambda image: sent_at.append(time.monotonic()))
            task = asyncio.create_task(feed.run())
            await asyncio.sleep(2.5)
            task.cancel()
            reply, seen = await turn(live, "what do you see")
    assert len(sent_at) == 3  # at 0, 1 and 2 s
    assert all(b - a >= 0.95 for a, b in zip(sent_at, sent_at[1:], strict=False))
    assert "I received 3 images but cannot see images." in reply


async def test_one_frame_on_demand_is_a_fitted_jpeg() -> None:
    async with server() as settings:
        endpoint, setup = text_setup(settings)
        async with LiveSession(endpoint, setup, FAST) as live:
            image = await VideoFeed(live, SyntheticSource(800, 1600)).send_one()
    assert image.mime_type == "image/jpeg" and (image.width, image.height) == (512, 1024)
    assert image.data[:3] == b"\xff\xd8\xff"


def test_more_than_one_frame_a_second_is_refused() -> None:
    with pytest.raises(UsageError, match="at most 1 per second"):
        VideoFeed(None, SyntheticSource(), fps=2)  # type: ignore[arg-type]


def test_video_turns_on_context_compression_even_when_configured_off() -> None:
    settings = Settings.of(model="gemini-3.8-live", context_compression=False, response="audio")
    plain, _ = talk_setup(settings, "models/gemini-3.8-live", TalkOptions())
    assert plain.context_window_compression is None
    video, _ = talk_setup(settings, "models/gemini-3.8-live", TalkOptions(camera=0))
    assert video.context_window_compression is not None  # §5.7: else 2 minutes and out
    translate = dataclasses.replace(settings, model="gemini-3.5-live-translate-preview")
    with pytest.raises(UsageError, match="audio only"):
        TalkOptions(screen=1, translation=TranslationOptions("es"))
    with pytest.raises(CapabilityError, match="takes audio only"):
        talk_setup(translate, "models/gemini-3.5-live-translate-preview",
                   TalkOptions(screen=1))
