"""`ask --image`: how an image goes in with the question (live-protocol.md §3.2, §3.3, §5.4).

A typed question goes with its image in one ordered `clientContent` user turn (an image part
and a text part, ``turnComplete: true``) where the model takes clientContent mid-session: §5.4
calls that path deterministic and ordered, while realtime video and text are concurrent
streams with no ordering guarantee between them (§3.3). A spoken question, or a model that takes
clientContent only to seed history (3.1, §3.2), gets the image as one `realtimeInput.video`
frame first: for a spoken question inside its activityStart/activityEnd, so the frame is part
of the turn whatever the turnCoverage (§3.1.5).
"""

from __future__ import annotations

from voicecli.protocol.messages import Blob, Content, Part
from voicecli.protocol.models import model_info
from voicecli.video.imaging import Image


def as_client_content(model: str | None) -> bool:
    """True where a typed question and its image can go as one clientContent turn."""
    info = model_info(model)
    return info is None or info.client_content == "whole_session"


def image_turn(image: Image, text: str) -> Content:
    """The user turn: the image, then the question."""
    return Content(role="user", parts=[
        Part(inline_data=Blob(mime_type=image.mime_type, data=image.data)), Part(text=text)])
