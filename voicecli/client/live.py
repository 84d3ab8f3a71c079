"""A Live conversation that outlives its connections (live-protocol.md §4.5, §5.6, §5.9).

`LiveSession` always asks for session resumption, keeps the latest resumable handle (the
`ClientSession` tracks it), rotates the connection when a `goAway` arrives — at the next turn
boundary or on a timer well before `timeLeft` runs out, whichever comes first, independent of
incoming messages — and reconnects with jittered backoff after retryable failures (1011, 1006).
1007/1008 and authentication failures are never retried, and a broken server frame is a fault
of its connection (reconnect, unless it happens `MAX_BROKEN_IN_A_ROW` times in a row).
Reconnecting is reported as an event, not an error.

Nothing sent is lost or doubled across connections: every client message stays in a `Journal`
(journal.py) until the state of a resumable handle includes it, and what is left is replayed in
order on the resumed connection — exactly from `lastConsumedClientMessageIndex` where the
service reports it (transparent resumption, Vertex, §4.6), else by the turn-boundary rule. A
goAway rotates at a turn boundary that has a fresh resumable handle, and mid-turn only when
timeLeft is nearly spent (the in-flight turn is then carried over the same way).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from voicecli.client.connection import LiveConnection
from voicecli.client.endpoints import Endpoint
from voicecli.client.journal import Journal, Kind
from voicecli.errors import NetworkError, RemoteProtocolError, ServiceUnavailable, VoicecliError
from voicecli.protocol import ClientSession, FunctionResponse, Setup
from voicecli.protocol import events as ev
from voicecli.protocol.messages import Content, SessionResumptionConfig

log = logging.getLogger("voicecli.client")

MAX_BROKEN_IN_A_ROW = 3  # broken server frames, each on a fresh connection, before giving up
MAX_CUTS_IN_A_ROW = 4  # the same reply cut by a drop, asked again each time, before giving up
SILENCE_KEPT_S = 1.0  # audio outside an utterance kept for replay (the server's VAD pre-roll)
#: model output that shows a model turn has begun (for the turn-boundary rule, journal.py)
_TURN_OUTPUT = (ev.ModelText, ev.ModelAudio, ev.OutputTranscript, ev.ToolCallRequested,
                ev.GenerationComplete, ev.Interrupted, ev.Thought, ev.ExecutableCode,
                ev.CodeExecutionResult, ev.Grounding)


@dataclass(frozen=True)
class Reconnecting:
    """The connection is being replaced; `reason` says why (goAway, or the close that happened)."""

    attempt: int
    reason: str


@dataclass(frozen=True)
class Reconnected:
    attempt: int
    resumed: bool  # False when no resumable handle existed: the conversation starts afresh
    replayed: int = 0  # client messages sent again (the in-flight turn's input, §5.6)
    reply_cut: bool = False  # a model reply was under way: it comes again from its start
    dropped_audio_ms: float = 0.0  # audio too old to replay (beyond the journal's bound)


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
    """How long after a goAway to rotate at the latest, mid-turn if need be: when timeLeft is
    nearly spent (a margin of 10 %, at least 1 s, for closing and resuming, §4.5)."""
    if time_left_s is None:
        return 1.0
    return max(0.0, time_left_s - max(1.0, time_left_s * 0.1))


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
        self._serial = 0  # which connection `_conn` is (journal positions are per connection)
        self._journal = Journal()
        self._rotate_at: float | None = None
        self._handle_fresh = False  # the latest handle stands for this very turn boundary
        self._turn_began_at: float | None = None
        self._answered_before = -math.inf  # the last completed model turn began then
        self._turn_ended_at = -math.inf
        self._broken_in_a_row = 0
        self._cuts_in_a_row = 0
        self.reconnects = 0
        #: Set once a connection's setup is on the wire (its `setupComplete` may be on the way).
        self.setup_sent = asyncio.Event()
        #: After a goAway, rotation waits for a turn boundary; this says "not now" as well
        #: (talk: the user is speaking). The goAway deadline still applies.
        self.defer_rotation: Callable[[], bool] | None = None
        #: When the user's current utterance began (monotonic, pre-roll included), or None when
        #: nobody speaks: audio from then on is kept for replay under server VAD (talk).
        self.utterance_since: Callable[[], float | None] | None = None

    @property
    def dropped_audio_ms(self) -> float:
        """Audio that could not be kept for a replay (older than the journal's bound)."""
        return self._journal.dropped_audio_ms

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

    async def send(self, action: Callable[[ClientSession], None], kind: Kind = Kind.CLIENT_CONTENT,
                   *, ends_turn: bool = False, audio_ms: float = 0.0) -> None:
        """Apply `action` to the protocol session now (or on the next connection while
        reconnecting); it is kept in the journal until a resumable state includes it."""
        entry = self._journal.record(action, kind, ends_turn=ends_turn, audio_ms=audio_ms)
        if kind.media and self._utterance_start() is None:
            self._journal.drop_silence(time.monotonic() - SILENCE_KEPT_S)
        if kind is not Kind.TOOL_RESPONSE:
            self._handle_fresh = self._handle_fresh and not ends_turn
        conn = self._conn
        if conn is None:
            return  # replayed by `_reconnect`
        try:
            index = await conn.send(action)
        except NetworkError:
            return  # the receive loop notices the close, reconnects and replays
        if index is None:
            self._journal.forget(entry)  # nothing went out (a tool answer nobody was owed)
        elif conn is self._conn:
            entry.connection, entry.index = self._serial, index

    def _utterance_start(self) -> float | None:
        return self.utterance_since() if self.utterance_since is not None else None

    async def send_text(self, text: str) -> None:
        await self.send(lambda s: s.send_text(text), Kind.TEXT, ends_turn=True)

    async def send_audio(self, pcm: bytes, rate: int = 16000) -> None:
        await self.send(lambda s: s.send_audio(pcm, rate), Kind.AUDIO,
                        audio_ms=len(pcm) / 2 / rate * 1000)

    async def send_video(self, image: bytes, mime_type: str = "image/jpeg") -> None:
        await self.send(lambda s: s.send_video(image, mime_type), Kind.VIDEO)

    async def send_activity_start(self) -> None:
        await self.send(lambda s: s.send_activity_start(), Kind.ACTIVITY_START)

    async def send_activity_end(self) -> None:
        await self.send(lambda s: s.send_activity_end(), Kind.ACTIVITY_END, ends_turn=True)

    async def send_audio_stream_end(self) -> None:
        if self._backend() == "vertex":
            return  # §8: audioStreamEnd is Gemini-API-only (the SDKs refuse it for Vertex)
        await self.send(lambda s: s.send_audio_stream_end(), Kind.AUDIO_STREAM_END)

    def _backend(self) -> str:
        endpoint = self._conn.endpoint if self._conn is not None else self._endpoint
        return endpoint.backend if isinstance(endpoint, Endpoint) else "gemini"

    async def send_client_content(self, turns: list[Content], turn_complete: bool = True) -> None:
        await self.send(lambda s: s.send_client_content(turns, turn_complete), Kind.CLIENT_CONTENT,
                        ends_turn=turn_complete)

    async def send_tool_response(self, responses: list[FunctionResponse]) -> None:
        await self.send(lambda s: s.send_tool_response(responses), Kind.TOOL_RESPONSE)

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

        await self.send(answer_owed, Kind.TOOL_RESPONSE)

    # ---- receiving -----------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ev.Event | Reconnecting | Reconnected]:
        """Every server event, across connections. Raises the first non-retryable error."""
        while self._conn is not None:
            try:
                batch = await self._receive_with_deadline(self._conn)
            except VoicecliError as error:
                if not _retryable(error):
                    raise
                self._count_broken(error)
                async for note in self._reconnect(_describe(error)):
                    yield note
                continue
            if batch is None:  # timeLeft nearly spent, no turn boundary came: rotate mid-turn
                async for note in self._reconnect("goAway"):
                    yield note
                continue
            for event in batch:
                self._track(event)
                yield event
            if self._rotate_at is not None and self._at_turn_boundary(self._conn):
                async for note in self._reconnect("goAway"):
                    yield note

    def _count_broken(self, error: VoicecliError) -> None:
        """§2: a frame that does not decode is the connection's fault, but not forever."""
        if not isinstance(error, RemoteProtocolError):
            return
        self._broken_in_a_row += 1
        if self._broken_in_a_row >= MAX_BROKEN_IN_A_ROW:
            raise NetworkError(f"{error} ({self._broken_in_a_row} connections in a row sent "
                               "broken frames; giving up)") from None

    def _at_turn_boundary(self, conn: LiveConnection) -> bool:
        """No reply owed, a resumable handle for this very moment (§4.6: the state it stands
        for holds every turn so far), and the caller is not in the middle of something (the
        user talking)."""
        if conn.session.reply_owed or not self._handle_fresh:
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
        now = time.monotonic()
        if isinstance(event, _TURN_OUTPUT):
            if self._turn_began_at is None:
                self._turn_began_at = now
            self._handle_fresh = False
        elif isinstance(event, ev.TurnComplete):
            self._answered_before = self._turn_began_at if self._turn_began_at else now
            self._turn_ended_at, self._turn_began_at = now, None
            self._broken_in_a_row = self._cuts_in_a_row = 0
        elif isinstance(event, ev.ResumptionUpdate):
            self._on_resumption(event)
        elif isinstance(event, ev.GoAway) and self._rotate_at is None:
            self._rotate_at = now + rotation_delay(event.time_left_s)

    def _on_resumption(self, event: ev.ResumptionUpdate) -> None:
        """§4.6: keep the latest resumable handle; forget what its state includes."""
        if not (event.resumable and event.handle):
            self._handle_fresh = False
            return
        self._handle, self._handle_fresh = event.handle, True
        if event.last_consumed_index is not None:
            self._journal.consumed_through(self._serial, event.last_consumed_index)
        else:
            self._journal.handle_between_turns(self._answered_before, self._turn_ended_at,
                                               self._utterance_start())

    async def _reconnect(self, reason: str) -> AsyncIterator[Reconnecting | Reconnected]:
        old, self._conn = self._conn, None
        self._rotate_at = None
        self._handle_fresh = False
        owed = old.session.pending_tool_calls if old is not None else frozenset()
        cut = old is not None and old.session.in_turn
        self._turn_began_at = None
        if old is not None:
            await old.close(1000)  # close the old socket before resuming (peers.md issue 18)
        if cut:
            self._cuts_in_a_row += 1
            if self._cuts_in_a_row >= MAX_CUTS_IN_A_ROW:  # asking again does not help
                raise NetworkError(f"the connection failed during the same reply "
                                   f"{self._cuts_in_a_row} times in a row ({reason})")
        if cut and any(e.ends_turn for e in self._journal.entries):
            owed = frozenset()  # the question goes again: its calls come again, new ids
        if self._handle is None:  # a fresh session: answered turns are not asked again
            self._journal.handle_between_turns(self._answered_before, self._turn_ended_at,
                                               self._utterance_start())
        attempt = 0
        while True:
            attempt += 1
            self.reconnects += 1
            yield Reconnecting(attempt, reason)
            if attempt > 1:
                await asyncio.sleep(self._backoff(attempt - 1))
            conn: LiveConnection | None = None
            try:
                setup = self._setup if self._handle is None else _without_seeding(self._setup)
                conn = await self._open(_with_resumption(setup, self._handle),
                                        owed if self._handle else frozenset())
                replayed = await self._replay(conn)  # a connection dying here is a failed try
            except VoicecliError as error:
                if conn is not None:
                    await conn.close(1000)
                if not _retryable(error) or attempt >= self.options.max_reconnects:
                    raise
                self._count_broken(error)
                reason = _describe(error)
                continue
            self._conn = conn
            if replayed:
                log.info("resumed with %d client messages sent again", replayed)
            yield Reconnected(attempt, resumed=self._handle is not None, replayed=replayed,
                              reply_cut=cut, dropped_audio_ms=self._journal.dropped_audio_ms)
            return

    async def _replay(self, conn: LiveConnection) -> int:
        """Send the journal again, in order, on `conn` (§5.6); input recorded meanwhile joins
        the end. Returns how many messages went out."""
        serial = self._serial + 1
        sent = 0
        while todo := [e for e in self._journal.entries if e.connection != serial]:
            for entry in todo:
                index = await conn.send(entry.action)
                if index is None:
                    self._journal.forget(entry)
                    continue
                entry.connection, entry.index = serial, index
                sent += 1
        self._serial = serial
        return sent

    async def _open(
        self, setup: Setup, owed_tool_calls: frozenset[str] = frozenset()
    ) -> LiveConnection:
        endpoint = self._endpoint() if callable(self._endpoint) else self._endpoint
        if endpoint.backend == "vertex":  # §3.1.7, §4.6: the service says what it consumed
            setup = _transparent(setup)
        o = self.options
        return await LiveConnection.open(
            endpoint,
            setup,
            connect_timeout_s=o.connect_timeout_s,
            setup_timeout_s=o.setup_timeout_s,
            ping_interval_s=o.ping_interval_s,
            ping_timeout_s=o.ping_timeout_s,
            owed_tool_calls=owed_tool_calls,
            on_setup_sent=self.setup_sent.set,
        )


def _with_resumption(setup: Setup, handle: str | None) -> Setup:
    """§5.6: always request resumption updates; resume with the latest handle when we have one."""
    config = setup.session_resumption or SessionResumptionConfig()
    return dataclasses.replace(setup, session_resumption=dataclasses.replace(config, handle=handle))


def _transparent(setup: Setup) -> Setup:
    config = setup.session_resumption or SessionResumptionConfig()
    return dataclasses.replace(setup,
                               session_resumption=dataclasses.replace(config, transparent=True))


def _without_seeding(setup: Setup) -> Setup:
    """§3.1.11: historyConfig makes the server wait for seed turns after setupComplete; a
    resumed session has its history already, so a reconnect leaves it out."""
    return dataclasses.replace(setup, history_config=None)


def _retryable(error: VoicecliError) -> bool:
    return isinstance(error, NetworkError | RemoteProtocolError)


def _describe(error: VoicecliError) -> str:
    return f"{error.close_code} {error}" if error.close_code else str(error)
