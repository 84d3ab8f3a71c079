"""`talk --screen` on a real X display: Xvfb (scripts/test.sh installs it) with a known size,
captured by mss, fitted and sent through a whole `run_talk` conversation to the local server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import numpy as np
import pytest

from tests.talk.test_sessions import QUESTION, has_turn, spoken, talk_until
from voicecli.errors import UsageError
from voicecli.server import ServerConfig, start_server
from voicecli.talk.options import TalkOptions
from voicecli.video.sources import ScreenSource

WIDTH, HEIGHT = 1600, 900


@pytest.fixture
def display() -> Iterator[str]:
    """A private Xvfb display (the number Xvfb picks, via -displayfd). `-noreset`: by default an
    X server resets when its last client disconnects, and a connection made meanwhile fails."""
    if shutil.which("Xvfb") is None:
        pytest.fail("no Xvfb: run the suite with ./scripts/test.sh (it installs xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
         "-nolisten", "tcp", "-noreset"], pass_fds=(write,), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number.isdigit(), "Xvfb did not start"
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_screen_grab_has_the_display_size(display: str) -> None:
    source = ScreenSource(1, display=display)
    try:
        frame = source.grab()
    finally:
        source.close()
    assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
    with pytest.raises(UsageError, match="--screen 5: no such monitor"):
        ScreenSource(5, display=display)


def test_no_display_is_one_line() -> None:
    with pytest.raises(UsageError, match="cannot capture the screen"):
        ScreenSource(1, display=":9999")


async def test_talk_sends_the_screen(display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", display)
    async with await start_server(ServerConfig(port=0)) as server:
        events, result = await talk_until(server.url, TalkOptions(screen=1), spoken(QUESTION),
                                          has_turn)
    frames = [e for e in events if e["type"] == "video_frame"]
    assert frames and (frames[0]["width"], frames[0]["height"]) == (1024, 576)
    assert result.video_frames == len(frames) >= 2
