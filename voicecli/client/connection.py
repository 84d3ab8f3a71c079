"""One WebSocket connection to a Live endpoint: websockets ↔ the sans-I/O `ClientSession`.

This layer only moves text between the socket and the protocol core, and turns transport
failures into the typed errors of `voicecli.errors`. Reconnection lives in `live.py`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from voicecli.client.endpoints import Endpoint
from voicecli.errors import (
    AuthenticationError,
    NetworkError,
    RemoteProtocolError,
    ServiceRefused,
    SessionClosed,
    SetupTimeout,
    VoicecliError,
)
from voicecli.protocol import ClientSession, Setup
from voicecli.protocol import events as ev
from voicecli.protocol.closecodes import classify_close

log = logging.getLogger("voicecli.client")

MAX_FRAME_BYTES = 16 * 1024 * 1024


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


class LiveConnection:
    """An open, set-up Live connection. Create it with `await LiveConnection.open(...)`."""

    def __init__(self, ws: ClientConnection, session: ClientSession, endpoint: Endpoint) -> None:
        self._ws = ws
        self.session = session
        self.endpoint = endpoint
        self._send_lock = asyncio.Lock()
        self._pending: list[ev.Event] = []
        self.setup_complete: ev.SetupComplete | None = None

    @classmethod
    async def open(
        cls,
        endpoint: Endpoint,
        setup: Setup,
        *,
        connect_timeout_s: float = 10.0,
        setup_timeout_s: float = 15.0,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 60.0,
        owed_tool_calls: frozenset[str] = frozenset(),
        on_setup_sent: Callable[[], None] | None = None,
    ) -> LiveConnection:
        """Connect, send `setup` and wait for `setupComplete` (§5.1).

        `owed_tool_calls`: ids a resumed session still expects responses for (§5.6).
        `on_setup_sent` is called once the setup is on the wire, before `setupComplete` is
        awaited (talk opens its devices then).
        """
        ws = await _connect(endpoint, connect_timeout_s, ping_interval_s, ping_timeout_s)
        conn = cls(ws, ClientSession(outstanding_tool_calls=owed_tool_calls), endpoint)
        try:
            await conn._handshake(setup, setup_timeout_s, on_setup_sent)
        except BaseException:
            await conn.abort()
            raise
        return conn

    async def _handshake(self, setup: Setup, timeout_s: float,
                         on_setup_sent: Callable[[], None] | None = None) -> None:
        self.session.send_setup(setup)
        await self.flush()
        if on_setup_sent is not None:
            on_setup_sent()
        try:
            async with asyncio.timeout(timeout_s):
                while self.setup_complete is None:
                    for event in await self._receive_events():
                        if isinstance(event, ev.SetupComplete):
                            self.setup_complete = event
                        else:
                            self._pending.append(event)
        except TimeoutError:
            raise SetupTimeout(
                f"no setupComplete from {self.endpoint.url} within {timeout_s:g} s; "
                "the service may be overloaded (try again) or the endpoint is not a Live API"
            ) from None

    async def flush(self) -> None:
        """Send everything the session has queued, in order."""
        async with self._send_lock:
            for text in self.session.data_to_send():
                try:
                    await self._ws.send(text)
                except ConnectionClosed as exc:
                    raise _closed_error(exc, self.endpoint) from None

    async def send(self, action: Callable[[ClientSession], None]) -> int | None:
        """Apply `action` to the session (e.g. `lambda s: s.send_text("hi")`) and flush.
        Returns the client message index of the last message it queued (setup = 0, §4.6),
        or None when it queued nothing."""
        before = self.session.messages_queued
        action(self.session)
        after = self.session.messages_queued
        await self.flush()
        return after - 1 if after > before else None

    async def receive(self) -> list[ev.Event]:
        """Wait for the next frame and return its events. Cancelling is safe (nothing is lost)."""
        if self._pending:
            pending, self._pending = self._pending, []
            return pending
        return await self._receive_events()

    async def _receive_events(self) -> list[ev.Event]:
        try:
            data = await self._ws.recv(decode=False)
        except ConnectionClosed as exc:
            raise _closed_error(exc, self.endpoint) from None
        try:
            self.session.receive_data(data)
        except RemoteProtocolError as exc:
            detail = str(exc).removeprefix("bad frame: ")
            raise RemoteProtocolError(f"the server sent a broken frame: {detail}") from None
        return self.session.events_received()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with a close frame (1000 by default) and wait for the peer's answer."""
        self.session.close()
        try:
            await asyncio.wait_for(self._ws.close(code, reason), timeout=5)
        except (TimeoutError, OSError, ConnectionClosed):
            await self.abort()

    async def abort(self) -> None:
        """Drop the socket without a close handshake; a no-op once the transport is gone.

        An asyncio transport that already lost its connection has no loop any more: aborting it
        again raises AttributeError from inside asyncio (seen over TLS on a reconnect), so only a
        live transport is aborted.
        """
        transport = self._ws.transport
        if not transport.is_closing():
            try:
                transport.abort()
            except (AttributeError, RuntimeError):  # torn down between the check and the call
                log.debug("transport already torn down", exc_info=True)
        try:
            await asyncio.wait_for(self._ws.wait_closed(), timeout=1)
        except (TimeoutError, OSError):
            pass

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code


async def _connect(
    endpoint: Endpoint, timeout_s: float, ping_interval: float | None, ping_timeout: float | None
) -> ClientConnection:
    proxy: Literal[True] | None = None if _is_loopback(endpoint.url) else True
    headers = endpoint.headers
    if endpoint.credentials is not None:  # Vertex: a token still valid for this connection
        headers = await asyncio.to_thread(endpoint.connect_headers)
    try:
        return await websockets.connect(
            endpoint.url,
            additional_headers=headers,
            open_timeout=timeout_s,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_size=MAX_FRAME_BYTES,
            compression=None,
            proxy=proxy,
            user_agent_header="voicecli",
        )
    except InvalidStatus as exc:
        raise _handshake_status_error(endpoint, exc.response.status_code) from None
    except InvalidURI:
        raise NetworkError(f"not a WebSocket URL: {endpoint.url}") from None
    except InvalidHandshake as exc:
        raise NetworkError(f"{endpoint.url} did not accept a WebSocket: {exc}") from None
    except TimeoutError:
        raise NetworkError(f"timed out connecting to {endpoint.url}") from None
    except socket.gaierror:
        host = urlsplit(endpoint.url).hostname
        raise NetworkError(f"cannot resolve {host}; check the network or --base-url") from None
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise NetworkError(f"cannot connect to {endpoint.url}: {reason}") from None


def _handshake_status_error(endpoint: Endpoint, status: int) -> VoicecliError:
    if status in (401, 403):
        if endpoint.credential == "token":
            return token_rejected(f"HTTP {status}")
        return AuthenticationError(f"{endpoint.url} refused the credentials (HTTP {status})")
    if status == 404:
        return ServiceRefused(
            f"{endpoint.url} has no Live endpoint (HTTP 404); check --base-url and --api-version"
        )
    return NetworkError(f"{endpoint.url} answered HTTP {status} instead of a WebSocket")


def _closed_error(exc: ConnectionClosed, endpoint: Endpoint) -> VoicecliError:
    """A close as a typed error (§5.9); a normal close (1000) becomes `SessionClosed`."""
    frame = exc.rcvd
    if frame is None:
        code, reason = 1006, "connection lost without a close frame"
    else:
        code, reason = frame.code, frame.reason
    error = classify_close(code, reason) or SessionClosed(code, reason)
    if isinstance(error, AuthenticationError) and endpoint.credential == "token":
        detail = f"close {code}: {reason}" if reason else f"close {code}"
        return token_rejected(detail).closed_with(code, reason)
    return error


def token_rejected(detail: str) -> AuthenticationError:
    """The service names no reason for a refused ephemeral token (§1.1, §1.5): it may be
    unknown, expired, used up (`uses`), or made under the other API version (§1.3)."""
    return AuthenticationError(
        "the service rejected the ephemeral token: it is expired, used up, or was made for "
        f"another --api-version; mint a new one with `voicecli token create` ({detail})"
    )


__all__ = ["LiveConnection"]
