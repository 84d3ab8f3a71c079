"""Video frames and images on the local server (§3.3, §6): accepted, counted as IMAGE tokens
(§4.7), mentioned by the echo assistant (it cannot see), and refused when not images."""

from __future__ import annotations

import base64

from voicecli.server import RunningServer

from .helpers import TEXT_MODEL, session, setup_msg, text_of

JPEG = base64.b64encode(b"\xff\xd8\xff\xe0fake-but-image/jpeg").decode()


def frame(mime: str = "image/jpeg") -> dict[str, object]:
    return {"realtimeInput": {"video": {"mimeType": mime, "data": JPEG}}}


async def test_frames_are_counted_and_billed_as_image_tokens(local_server: RunningServer) -> None:
    async with session(local_server, setup_msg(TEXT_MODEL, "TEXT")) as c:
        for _ in range(3):
            await c.send(frame())
        await c.send({"realtimeInput": {"text": "what do you see"}})
        first = await c.turn()
        await c.send({"realtimeInput": {"text": "and now"}})
        second = await c.turn()
    assert "I received 3 images but cannot see images." in text_of(first)
    usage = first[-1].msg["usageMetadata"]
    prompt = {d["modality"]: d["tokenCount"] for d in usage["promptTokensDetails"]}
    assert prompt["IMAGE"] == 3 * 256  # §6: 256 tokens a frame at the default resolution
    later = {d["modality"] for d in second[-1].msg["usageMetadata"]["promptTokensDetails"]}
    assert "IMAGE" not in later  # frames are billed to the turn that read them


async def test_low_media_resolution_frames_cost_64_tokens(local_server: RunningServer) -> None:
    setup = setup_msg(TEXT_MODEL, "TEXT")
    setup["setup"]["generationConfig"]["mediaResolution"] = "MEDIA_RESOLUTION_LOW"
    async with session(local_server, setup) as c:
        await c.send(frame())
        await c.send({"realtimeInput": {"text": "hello"}})
        frames = await c.turn()
    usage = frames[-1].msg["usageMetadata"]
    assert {d["modality"]: d["tokenCount"] for d in usage["promptTokensDetails"]}["IMAGE"] == 64


async def test_an_image_in_client_content_goes_with_the_question(
    local_server: RunningServer,
) -> None:
    async with session(local_server, setup_msg(TEXT_MODEL, "TEXT")) as c:
        await c.send({"clientContent": {"turns": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": JPEG}},
            {"text": "what is this"}]}], "turnComplete": True}})
        frames = await c.turn()
    assert text_of(frames).startswith("You said: what is this.")
    assert "I received 1 image but" in text_of(frames)


async def test_a_video_frame_that_is_not_an_image_is_refused(
    local_server: RunningServer,
) -> None:
    async with session(local_server, setup_msg(TEXT_MODEL, "TEXT")) as c:
        await c.send(frame("video/mp4"))
        assert await c.closed() == (1007, "Request contains an invalid argument.")
