"""A Live conversation that outlives its connections (live-protocol.md §4.5, §5.6, §5.9).

`LiveSession` always asks for session resumption, keeps the latest resumable handle (the
`ClientSession` tracks it), rotates the connection when a `goAway` arrives — at the next turn
boundary or on a timer well before `timeLeft` runs out, whichever comes first, independent of
incoming messages — and reconnects with jittered backoff after retryable failures (1011, 1006).
1007/1008 and authentication failures are never retried. Reconnecting is reported as an event,
not an error. Input sent while reconnecting is queued (bounded) and replayed on the new connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from voicecli.client.connection import LiveConnection
from voicecli.client.endpoints import Endpoint
from voicecli.errors import NetworkError, ServiceUnavailable, VoicecliError
from voicecli.protocol import ClientSession, FunctionResponse, Setup
from voicecli.protocol import events as ev
from voicecli.protocol.messages import Content, SessionResumptionConfig

log = logging.getLogger("voicecli.client")

BACKLOG_LIMIT = 2000  # queued input messages while reconnecting (~40 s of 20 ms audio)


@dataclass(frozen=True)
class Reconnecting:
    """The connection is being replaced; `reason` says why (goAway, or the close that happened)."""

    attempt: int
    reason: str


@dataclass(frozen=True)
class Reconnected:
    attempt: int
    resumed: bool  # False when no resumable handle existed: the conversation starts afresh


@dataclass
class ConnectOptions:
    connect_timeout_s: float = 10.0
    setup_timeout_s: float = 15.0
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 60.0
    max_reconnects: int = 5
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base·2^(attempt-1)))."""
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))


def rotation_delay(time_left_s: float | None) -> float:
    """How long after a goAway to rotate at the latest: half the window, ≥ 2 s margin."""
    if time_left_s is None:
        return 1.0
    return max(0.0, min(time_left_s / 2, time_left_s - 2.0))


class LiveSession:
    """`async with LiveSession(endpoint, setup) as live: async for event in live.events(): …`"""

    def __init__(
        self,
        endpoint: Endpoint | Callable[[], Endpoint],
        setup: Setup,
        options: ConnectOptions | None = None,
    ) -> None:
        self._endpoint = endpoint
        # `--resume`: a handle in the setup resumes that session on the first connection (§5.6)
        resume = setup.session_resumption.handle if setup.session_resumption else None
        self._handle: str | None = resume or None
        self._setup = _with_resumption(setup, self._handle)
        self.options = options or ConnectOptions()
        self._conn: LiveConnection | None = None
        self._backlog: deque[Callable[[ClientSession], None]] = deque(maxlen=BACKLOG_LIMIT)
        self._rotate_at: float | None = None
        self.reconnects = 0
        self.dropped_while_reconnecting = 0
        #: After a goAway, rotation waits for a turn boundary; this says "not now" as well
        #: (talk: the user is speaking). The goAway deadline still applies.
        self.defer_rotation: Callable[[], bool] | None = None

    async def __aenter__(self) -> LiveSession:
        attempt = 0
        while self._conn is None:
            attempt += 1
            try:
                self._conn = await self._open(self._setup)
            except VoicecliError as error:
                # At start only the service's own transient failures are retried (1011 at setup);
                # a refused or unreachable endpoint is reported at once.
                transient = isinstance(error, ServiceUnavailable)
                if not transient or attempt > self.options.max_reconnects:
                    raise
                self.reconnects += 1
                await asyncio.sleep(self._backoff(attempt))
        return self

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.options.backoff_base_s, self.options.backoff_cap_s)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def model(self) -> str:
        """The model of the setup (as sent: ``models/…`` or a Vertex path)."""
        return self._setup.model or ""

    @property
    def resumption_handle(self) -> str | None:
        return self._handle

    @property
    def setup_complete(self) -> ev.SetupComplete | None:
        return self._conn.setup_complete if self._conn else None

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close(1000)

    # ---- sending -------------------------------------------------------------------------

    async def send(self, action: Callable[[ClientSession], None]) -> None:
        """Apply `action` to the protocol session now, or queue it while reconnecting."""
        if self._conn is None:
            if len(self._backlog) == self._backlog.maxlen:
                self.dropped_while_reconnecting += 1
            self._backlog.append(action)
            return
        try:
            await self._conn.send(action)
        except NetworkError:
            self._backlog.append(action)  # the receive loop notices the close and reconnects

    async def send_text(self, text: str) -> None:
        await self.send(lambda s: s.send_text(text))

    async def send_audio(self, pcm: bytes, rate: int = 16000) -> None:
        await self.send(lambda s: s.send_audio(pcm, rate))

    async def send_video(self, image: bytes, mime_type: str = "image/jpeg") -> None:
        await self.send(lambda s: s.send_video(image, mime_type))

    async def send_activity_start(self) -> None:
        await self.send(lambda s: s.send_activity_start())

    async def send_activity_end(self) -> None:
        await self.send(lambda s: s.send_activity_end())

    async def send_audio_stream_end(self) -> None:
        if self._backend() == "vertex":
            return  # §8: audioStreamEnd is Gemini-API-only (the SDKs refuse it for Vertex)
        await self.send(lambda s: s.send_audio_stream_end())

    def _backend(self) -> str:
        endpoint = self._conn.endpoint if self._conn is not None else self._endpoint
        return endpoint.backend if isinstance(endpoint, Endpoint) else "gemini"

    async def send_client_content(self, turns: list[Content], turn_complete: bool = True) -> None:
        await self.send(lambda s: s.send_client_content(turns, turn_complete))

    async def send_tool_response(self, responses: list[FunctionResponse]) -> None:
        await self.send(lambda s: s.send_tool_response(responses))

    async def send_tool_answers(
        self,
        responses: list[FunctionResponse],
        on_sent: Callable[[list[FunctionResponse]], None] | None = None,
    ) -> None:
        """Send the responses whose calls are still owed when the message goes out (now, or on
        the resumed connection): a call cancelled meanwhile (§4.4) is left out, and nothing is
        sent when none is left (an empty toolResponse is refused, §3.4). `on_sent` gets what
        was sent."""

        def answer_owed(session: ClientSession) -> None:
            owed = session.pending_tool_calls
            kept = [response for response in responses if response.id in owed]
            if kept:
                session.send_tool_response(kept)
                if on_sent is not None:
                    on_sent(kept)

        await self.send(answer_owed)

    # ---- receiving -----------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ev.Event | Reconnecting | Reconnected]:
        """Every server event, across connections. Raises the first non-retryable error."""
        while self._conn is not None:
            try:
                batch = await self._receive_with_deadline(self._conn)
            except VoicecliError as error:
                if not _retryable(error):
                    raise
                async for note in self._reconnect(_describe(error)):
                    yield note
                continue
            if batch is None:  # the goAway deadline came before a turn boundary
                async for note in self._reconnect("goAway"):
                    yield note
                continue
            for event in batch:
                self._track(event)
                yield event
            if self._rotate_at is not None and self._at_turn_boundary(self._conn):
                async for note in self._reconnect("goAway"):
                    yield note

    def _at_turn_boundary(self, conn: LiveConnection) -> bool:
        """No reply owed, and the caller is not in the middle of something (the user talking)."""
        if conn.session.reply_owed:
            return False
        return self.defer_rotation is None or not self.defer_rotation()

    async def _receive_with_deadline(self, conn: LiveConnection) -> list[ev.Event] | None:
        if self._rotate_at is None:
            return await conn.receive()
        remaining = self._rotate_at - time.monotonic()
        if remaining <= 0:
            return None
        try:
            async with asyncio.timeout(remaining):  # not wait_for: see ask._until
                return await conn.receive()
        except TimeoutError:
            return None

    def _track(self, event: ev.Event) -> None:
        if isinstance(event, ev.ResumptionUpdate) and event.resumable and event.handle:
            self._handle = event.handle
        elif isinstance(event, ev.GoAway) and self._rotate_at is None:
            self._rotate_at = time.monotonic() + rotation_delay(event.time_left_s)

    async def _reconnect(self, reason: str) -> AsyncIterator[Reconnecting | Reconnected]:
        old, self._conn = self._conn, None
        self._rotate_at = None
        owed = old.session.pending_tool_calls if old is not None else frozenset()
        if old is not None:
            await old.close(1000)  # close the old socket before resuming (peers.md issue 18)
        attempt = 0
        while True:
            attempt += 1
            self.reconnects += 1
            yield Reconnecting(attempt, reason)
            if attempt > 1:
                await asyncio.sleep(self._backoff(attempt - 1))
            conn: LiveConnection | None = None
            try:
                resumed = _with_resumption(_without_seeding(self._setup), self._handle)
                conn = await self._open(resumed, owed if self._handle else frozenset())
                await self._replay_backlog(conn)  # a connection that dies here is a failed try
            except VoicecliError as error:
                if conn is not None:
                    await conn.close(1000)
                if not _retryable(error) or attempt >= self.options.max_reconnects:
                    raise
                reason = _describe(error)
                continue
            self._conn = conn
            yield Reconnected(attempt, resumed=self._handle is not None)
            return

    async def _replay_backlog(self, conn: LiveConnection) -> None:
        """Send what was queued while reconnecting; an action leaves the queue once sent."""
        while self._backlog:
            await conn.send(self._backlog[0])
            self._backlog.popleft()

    async def _open(
        self, setup: Setup, owed_tool_calls: frozenset[str] = frozenset()
    ) -> LiveConnection:
        endpoint = self._endpoint() if callable(self._endpoint) else self._endpoint
        o = self.options
        return await LiveConnection.open(
            endpoint,
            setup,
            connect_timeout_s=o.connect_timeout_s,
            setup_timeout_s=o.setup_timeout_s,
            ping_interval_s=o.ping_interval_s,
            ping_timeout_s=o.ping_timeout_s,
            owed_tool_calls=owed_tool_calls,
        )


def _with_resumption(setup: Setup, handle: str | None) -> Setup:
    """§5.6: always request resumption updates; resume with the latest handle when we have one."""
    config = setup.session_resumption or SessionResumptionConfig()
    return dataclasses.replace(setup, session_resumption=dataclasses.replace(config, handle=handle))


def _without_seeding(setup: Setup) -> Setup:
    """§3.1.11: historyConfig makes the server wait for seed turns after setupComplete; a
    resumed session has its history already, so a reconnect leaves it out."""
    return dataclasses.replace(setup, history_config=None)


def _retryable(error: VoicecliError) -> bool:
    return isinstance(error, NetworkError)


def _describe(error: VoicecliError) -> str:
    code = getattr(error, "close_code", None)
    return f"{code} {error}" if code else str(error)
