"""A failure the server survives is one WARNING line naming the session; the traceback only at
DEBUG (`--debug`), so the user's terminal never shows one."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest

from voicecli.server import ServerConfig, start_server
from voicecli.server.engines.interface import Dialogue, Prompt, ReplyEvent, Say

from .helpers import session, setup_msg

SESSION_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class Broken:
    """An engine with a bug: it starts a reply, then raises."""

    async def respond(self, conversation: Dialogue, prompt: Prompt) -> AsyncIterator[ReplyEvent]:
        yield Say("Let me think.")
        raise RuntimeError("engine bug:\nsecond line")


async def test_an_engine_bug_is_one_warning_naming_the_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "voicecli.server")
    async with await start_server(ServerConfig(port=0, pace=0), engine=Broken()) as server:
        async with session(server, setup_msg()) as c:
            await c.send({"realtimeInput": {"text": "hello"}})
            assert await c.closed() == (1011, "Internal error occurred.")
        # the server itself stays up
        async with session(server, setup_msg()) as again:
            assert "setupComplete" in again.frames[0].msg
    ours = [r for r in caplog.records if r.name == "voicecli.server"]
    [warning] = [r for r in ours if r.levelno >= logging.WARNING]
    message = warning.getMessage()
    assert re.fullmatch(f"session ({SESSION_ID}): reply failed: RuntimeError: engine bug: "
                        "second line", message), message
    assert warning.exc_info is None  # no traceback at WARNING
    session_id = message.split()[1].rstrip(":")
    opened = f"session {session_id} open"
    assert len([r for r in ours if r.getMessage().startswith(opened)]) == 1  # one session, one id
    [traceback] = [r for r in ours if r.levelno == logging.DEBUG and r.exc_info]
    assert traceback.getMessage() == f"session {session_id}: reply failed"
