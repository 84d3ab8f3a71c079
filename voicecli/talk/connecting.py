"""Talk's start: the setup on the wire first, then the devices, opened while `setupComplete` is
on its way.

Process start → setup on the wire is what a user waits for, so the heavy parts (numpy,
PortAudio, the device streams, echo handling) load after the setup is sent, overlapping the
service's answer. Failures keep their one line and their order: a device that fails closes the
connection (1000) and is the error even when the connection failed too (devices were always
reported first); nothing is left half-open: a session whose setup went out is let finish its
handshake (for `SETTLE_S` at most) and closed with 1000.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from voicecli.client.live import LiveSession

T = TypeVar("T")
SETTLE_S = 2.0  # how long a failed start waits for its handshake, to close it cleanly


async def connect_then_open(session: LiveSession, connect: Callable[[], Awaitable[LiveSession]],
                            open_devices: Callable[[], Awaitable[T]]) -> tuple[LiveSession, T]:
    """`connect()` (entering `session`) in a task; `open_devices()` once its setup is on the
    wire, or once connecting has failed. Returns the connected session (the caller closes it)
    and what `open_devices` returned."""
    connecting = asyncio.ensure_future(connect())
    try:
        await _setup_sent(session, connecting)
        opened = await open_devices()
        return await connecting, opened
    except BaseException as error:
        await _abandon(session, connecting, settle=isinstance(error, Exception))
        raise


async def _setup_sent(session: LiveSession, connecting: asyncio.Future[LiveSession]) -> None:
    sent = asyncio.ensure_future(session.setup_sent.wait())
    either: list[asyncio.Future[Any]] = [sent, connecting]
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sent.cancel()


async def _abandon(session: LiveSession, connecting: asyncio.Future[LiveSession], *,
                   settle: bool) -> None:
    """Stop connecting (its error, if any, gives way to the one being raised) and close what
    was opened; with `settle` (an error, not the user quitting) a setup that went out gets its
    answer first, so that the session is closed with 1000 rather than dropped."""
    if settle and session.setup_sent.is_set():
        await asyncio.wait([connecting], timeout=SETTLE_S)
    connecting.cancel()
    await asyncio.wait([connecting])
    if not connecting.cancelled():
        connecting.exception()  # retrieved: the error being raised wins
    await session.close()


__all__ = ["connect_then_open"]
