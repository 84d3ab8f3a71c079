"""Frames to the wire: grab, fit, JPEG-encode and send one frame per period (≤ 1 FPS, §6).

`VideoFeed.run` is a task of the conversation. A slow grab or send delays the next frame rather
than queueing frames, so the service never gets more than `fps` a second. Frames go out as
`realtimeInput.video` blobs (§3.3).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from voicecli.client.live import LiveSession
from voicecli.errors import UsageError
from voicecli.video.imaging import MAX_SIDE, Image, encode_frame
from voicecli.video.sources import FrameSource

MAX_FPS = 1.0  # §6: at most one frame per second


class VideoFeed:
    def __init__(self, live: LiveSession, source: FrameSource, *, fps: float = MAX_FPS,
                 max_side: int = MAX_SIDE,
                 on_frame: Callable[[Image], None] | None = None) -> None:
        if not 0 < fps <= MAX_FPS:
            raise UsageError(f"video frames go at most {MAX_FPS:g} per second (§6), not {fps:g}")
        self.live, self.source = live, source
        self.period = 1.0 / fps
        self.max_side = max_side
        self.on_frame = on_frame
        self.frames = 0
        self.last: Image | None = None

    async def run(self) -> None:
        """Send frames until cancelled; the next grab starts a period after the last send, so
        sends are at least a period apart."""
        while True:
            sent_at = await self._send_next()
            await asyncio.sleep(max(0.0, sent_at + self.period - time.monotonic()))

    async def send_one(self) -> Image:
        """Grab, fit and send one frame now."""
        await self._send_next()
        assert self.last is not None
        return self.last

    async def _send_next(self) -> float:
        frame = await asyncio.to_thread(self.source.grab)
        image = await asyncio.to_thread(encode_frame, frame, self.max_side)
        sent_at = time.monotonic()
        await self.live.send_video(image.data, image.mime_type)
        self.last = image
        self.frames += 1
        if self.on_frame is not None:
            self.on_frame(image)
        return sent_at
