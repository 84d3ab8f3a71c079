"""One transcription session: a Live connection that takes utterances one at a time.

Each utterance is one activity (live-protocol.md §5.4, manual: `activityStart` → audio →
`activityEnd`); its `inputTranscription` arrives before the turn's `turnComplete` (§3.1.6, §5.2).
A `goAway` (§4.5) lets the utterance in flight finish — within half of `timeLeft`, the window
in which the client must leave — and then retires the session, so the next utterance goes to a
fresh one. A close, a lost connection, a broken frame or a late `goAway` deadline end the
session with the utterance in flight unfinished: the caller sends it again, from its start.

No session resumption: every session starts afresh (a transcript needs no context), which also
keeps each session's audio within the §5.7 limits the caller budgets for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from voicecli.client.connection import LiveConnection
from voicecli.client.endpoints import Endpoint
from voicecli.client.live import rotation_delay
from voicecli.client.replies import error_text
from voicecli.errors import NetworkError, RemoteProtocolError, ServiceRefused, SessionClosed
from voicecli.protocol import ClientSession, Setup
from voicecli.protocol import events as ev
from voicecli.settings import Settings

#: Failures after which a fresh session resends the utterance in flight (§5.9: 1011, 1006, …).
RESTARTABLE = (NetworkError, RemoteProtocolError, SessionClosed)

Pace = Callable[[float], Awaitable[None]]  # called with the seconds of audio just sent


class Restart(Exception):
    """The session cannot finish the utterance in flight: resend it on a fresh one."""


class TranscriptionSession:
    """`async with await TranscriptionSession.open(...) as s: text = await s.utterance(...)`."""

    def __init__(self, conn: LiveConnection, idle_s: float) -> None:
        self._conn = conn
        self._idle_s = idle_s
        self._leave_at: float | None = None  # set by goAway: finish by then, then retire
        self._dirty = False  # an utterance ended without turnComplete: late frames may follow

    @classmethod
    async def open(cls, endpoint: Endpoint, setup: Setup, settings: Settings,
                   idle_s: float) -> TranscriptionSession:
        connection = settings.connection
        conn = await LiveConnection.open(
            endpoint, setup, connect_timeout_s=connection.connect_timeout_s,
            setup_timeout_s=connection.setup_timeout_s, ping_interval_s=connection.ping_interval_s,
            ping_timeout_s=connection.ping_timeout_s,
        )
        return cls(conn, idle_s)

    async def __aenter__(self) -> TranscriptionSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._conn.close(1000)

    @property
    def usable(self) -> bool:
        """Whether the next utterance may go to this session."""
        return self._leave_at is None and not self._dirty

    async def utterance(self, chunks: Iterable[bytes], pace: Pace) -> str:
        """Send one utterance as an activity and return its transcript."""
        await self._conn.send(lambda s: s.send_activity_start())
        for chunk in chunks:
            await self._conn.send(_audio(chunk))
            await pace(len(chunk) / 32000)
        await self._conn.send(lambda s: s.send_activity_end())
        return await self._collect()

    async def _collect(self) -> str:
        parts: list[str] = []
        while True:
            batch = await self._receive()
            if batch is None:  # nothing more within the idle bound: take what came
                self._dirty = True
                return _joined(parts)
            if self._take(batch, parts):
                return _joined(parts)

    def _take(self, batch: list[ev.Event], parts: list[str]) -> bool:
        """Apply one frame's events; True when the turn is complete."""
        complete = False
        for event in batch:
            match event:
                case ev.InputTranscript():
                    parts.append(event.text)
                case ev.TurnComplete():
                    complete = True
                case ev.GoAway() if self._leave_at is None:
                    self._leave_at = time.monotonic() + rotation_delay(event.time_left_s)
                case ev.ServerErrorPayload():
                    reason = error_text(event)
                    raise ServiceRefused(f"the service answered with an error: {reason}")
        return complete

    async def _receive(self) -> list[ev.Event] | None:
        """The next frame's events, or None after `idle_s` of silence. Past the goAway deadline
        raises Restart: the service closes with 1008 if the client overstays (§4.5)."""
        wait = self._idle_s
        if self._leave_at is not None:
            wait = min(wait, self._leave_at - time.monotonic())
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                return await self._conn.receive()
        except TimeoutError:
            if self._leave_at is not None and time.monotonic() >= self._leave_at:
                raise Restart("goAway: the session ended before the utterance was done") from None
            return None


def _joined(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


def _audio(chunk: bytes) -> Callable[[ClientSession], None]:
    """The action that queues one chunk of 16 kHz PCM16."""

    def send(session: ClientSession) -> None:
        session.send_audio(chunk, 16000)

    return send
