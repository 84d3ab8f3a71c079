"""One WebSocket connection: the thin asyncio adapter around `ServerSession` and `ServedSession`.

Life of a connection (live-protocol.md §5.1): the first frame must be `setup`, within
`setup_timeout_s` (a few seconds); the credential and the setup are checked (failures close the
socket with the service's code and wording, §5.9); then `setupComplete`, and the reader loop feeds
every frame to the session. A single writer task (`Outbox`) sends. Every failure ends in a close
frame; nothing escapes to websockets.

A socket counts against `max_sessions` only once its setup is accepted: until then it is one of
at most `max_pending` waiting sockets, so sockets that never send a setup cannot lock good
clients out. A session over the limit is closed 1013 with a reason naming the limit. A session
that hears nothing from its client for `idle_timeout_s` while no reply is under way gets
`goAway` (§4.5) and is closed when the grace is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicecli.errors import RemoteProtocolError
from voicecli.protocol.session import ServerSession
from voicecli.server.engines.interface import Engine
from voicecli.server.session.audio_in import InvalidArgument
from voicecli.server.session.failure import log_failure
from voicecli.server.session.faults import FaultPlan, FrameFaults, close_reason
from voicecli.server.session.handles import HandleStore
from voicecli.server.session.live import ServedSession
from voicecli.server.session.outbox import Outbox
from voicecli.server.session.plan import SessionPlan
from voicecli.server.transport.admission import INVALID_ARGUMENT, Refused, admit
from voicecli.server.transport.auth import Grant, authorize
from voicecli.server.transport.config import ServerConfig
from voicecli.server.transport.ephemeral import API_KEY_EXPIRED, TokenStore
from voicecli.server.transport.routing import Route, parse_route, safe_path

log = logging.getLogger("voicecli.server")

INVALID_JSON = "Invalid JSON payload received."
GOAWAY_EXPIRED = (  # §4.5, §5.9 (the close frame cuts it at 123 bytes, as the service's does)
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session duration limit was reached"
)
INTERNAL = "Internal error occurred."
BUSY = "The service is currently unavailable."
TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (IANA): the server is overloaded; clients retry
IDLE_GRACE_S = 5.0
CLOSE_WAIT_S = 5.0


def full_reason(limit: int) -> str:
    """The close reason of a session over the cap (fits the 123-byte close frame)."""
    return (f"The local server is full ({limit} sessions at once, voicecli serve "
            "--max-sessions). Try again later.")


def idle_reason(seconds: float) -> str:
    return (f"Session closed: idle for {seconds:g} s without a client message "
            "(voicecli serve --idle-timeout).")


@dataclass
class Shared:
    """Server-wide state every connection sees."""

    config: ServerConfig
    store: HandleStore
    engine: Engine
    active: int = 0  # sessions set up and not ended: what max_sessions limits
    pending: int = 0  # upgraded sockets whose setup has not been accepted yet
    accepted: int = 0  # connections so far (for the fail-first fault)
    connections: set[Connection] = field(default_factory=set)  # open now
    tokens: TokenStore = field(default_factory=TokenStore)  # ephemeral tokens issued (§1.5)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def refusal_reason(exc: RemoteProtocolError) -> str:
    """§5.9: unparsable frames get the protobuf parser's wording, the rest the generic one."""
    return INVALID_JSON if str(exc).startswith("bad frame") else INVALID_ARGUMENT


def plan_in_reply(plan: FaultPlan, grace_s: float) -> tuple[float, float] | None:
    """(seconds into the first reply, timeLeft) for the goaway-in-reply fault, or None."""
    if plan.goaway_in_reply is None:
        return None
    after, left = plan.goaway_in_reply
    return after, grace_s if left is None else left


class Connection:
    def __init__(self, ws: ServerConnection, shared: Shared) -> None:
        self.ws = ws
        self.shared = shared
        self.config = shared.config
        self.proto = ServerSession()
        self.faults = FrameFaults(self.config.faults)
        self.outbox = Outbox(ws, self.proto.data_to_send, self.faults)
        self.path = safe_path(ws.request.path if ws.request else "")
        self._tasks: list[asyncio.Task[None]] = []
        self.grant = Grant()
        self.admitted = False  # counted in shared.active (else in shared.pending)
        self.live: ServedSession | None = None
        self.session_id = str(uuid.uuid4())  # Vertex's setupComplete sends it (§4.1); the log
        self.heard_at = asyncio.get_running_loop().time()  # the last client frame

    async def run(self) -> None:
        """Serve the connection until either side closes it. Never raises."""
        self.shared.pending += 1
        self.shared.accepted += 1
        self.shared.connections.add(self)
        self.faults.plan = self.config.faults.for_connection(self.shared.accepted)
        writer = asyncio.create_task(self.outbox.run())
        try:
            await self._serve(self.shared.accepted)
        except Exception as exc:  # noqa: BLE001 - log, close 1011, keep the server up
            log_failure(self.session_id, f"failed on {self.path}", exc)
            self.outbox.close(1011, INTERNAL)
        finally:
            self.shared.connections.discard(self)
            if self.admitted:
                self.shared.active -= 1
            else:
                self.shared.pending -= 1
            for task in self._tasks:
                task.cancel()
            if self.live is not None:
                self.live.close()  # its recogniser and VAD detector go back to their pools
            await self._finish(writer)

    async def _finish(self, writer: asyncio.Task[None]) -> None:
        if not self.outbox.closed.is_set():
            self.outbox.close(1000, "")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, CLOSE_WAIT_S)
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ws.state.name != "CLOSED":
            self.ws.transport.abort()

    async def _serve(self, index: int) -> None:
        route = parse_route(self.ws.request.path if self.ws.request else "")
        if route is None:  # process_request answers 404 first; this is a safety net
            self.outbox.close(1008, "Not found.")
            return
        self.proto.vertex = route.backend == "vertex"  # answer in Vertex's style (§8)
        if self._full():
            return
        first = await self._first_frame()
        if first is None:
            return
        plan = self._accept(first, route, index)
        if plan is None or self._full():
            return
        self.shared.pending -= 1
        self.shared.active += 1
        self.admitted = True
        live = self._open(plan, route)
        await self._read(live)

    def _full(self) -> bool:
        """Close 1013 with a reason when `max_sessions` sessions are already set up."""
        if self.shared.active < self.config.max_sessions:
            return False
        log.debug("refused a session on %s: %d sessions open", self.path, self.shared.active)
        self.outbox.close(TRY_AGAIN_LATER, full_reason(self.config.max_sessions))
        return True

    async def _first_frame(self) -> str | bytes | None:
        try:
            async with asyncio.timeout(self.config.setup_timeout_s):
                return await self.ws.recv()
        except TimeoutError:
            self.outbox.close(1008, "No setup message received in time.")
        except ConnectionClosed:
            pass
        return None

    def _accept(self, first: str | bytes, route: Route, index: int) -> SessionPlan | None:
        """Credential, injected failures, then the setup itself (§1.1, §5.9, §11)."""
        request = self.ws.request
        try:
            self.grant = authorize(route, request.path if request else "",
                                   request.headers if request else {},
                                   self.config.require_key, self.shared.tokens)
        except Refused as exc:
            log.debug("rejected a connection on %s: %s", self.path, exc.why)
            self.outbox.close(exc.code, exc.reason)
            return None
        fail = self.config.faults.fail_first
        if fail is not None and index <= fail[0]:
            log.debug("fault: failing connection %d with %d", index, fail[1])
            self.outbox.close(fail[1], close_reason(fail[1]))
            return None
        try:
            self.proto.receive_data(first)
            (setup,) = self.proto.events_received()
            token = self.grant.token
            if token is not None:
                setup = token.constrain(setup)  # type: ignore[arg-type]  # §1.5 locked fields
            plan = admit(setup, route, self.shared.store)  # type: ignore[arg-type]
            if token is not None:
                self.shared.tokens.consume(token, resuming=plan.restored is not None)
            return plan
        except RemoteProtocolError as exc:
            log.debug("refused the first frame: %s", exc)
            self.outbox.close(1007, refusal_reason(exc))
        except Refused as exc:
            log.debug("refused setup (%d): %s", exc.code, exc.why)
            self.outbox.close(exc.code, exc.reason)
        return None

    def _open(self, plan: SessionPlan, route: Route) -> ServedSession:
        vertex_id = self.session_id if route.backend == "vertex" else None  # §4.1, §8
        self.proto.send_setup_complete(session_id=vertex_id)
        live = ServedSession(
            plan, config=self.config, store=self.shared.store, engine=self.shared.engine,
            proto=self.proto, outbox=self.outbox, session_id=self.session_id,
        )
        self.live = live
        self.outbox.push()
        live.checkpoint(resumable=True)  # §5.1: a sessionResumptionUpdate may follow at once
        self._spawn(self._live(live))
        lifetime = self._lifetime()
        if lifetime is not None:
            self._spawn(self._go_away(*lifetime))
        if (in_reply := plan_in_reply(self.faults.plan, self.config.go_away_grace_s)) is not None:
            self.outbox.on_first_reply_audio = lambda: self._spawn(self._go_away(*in_reply))
        if self.config.idle_timeout_s is not None:
            self._spawn(self._idle(live, self.config.idle_timeout_s))
        if self.grant.token is not None:
            self._spawn(self._token_expiry(self.shared.tokens.seconds_left(self.grant.token)))
        log.debug("session %s open on %s (model %s)", self.session_id, self.path, plan.model)
        return live

    def _spawn(self, coro: object) -> None:
        self._tasks.append(asyncio.create_task(coro))  # type: ignore[arg-type]

    async def _live(self, live: ServedSession) -> None:
        try:
            await live.run()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a speech failure ends this session only
            log_failure(self.session_id, "session task failed", exc)
            self.outbox.close(1011, INTERNAL)

    def _lifetime(self) -> tuple[float, float] | None:
        """(seconds until goAway, timeLeft) from the config and the goaway-after fault."""
        plan = self.faults.plan
        options = []
        if self.config.connection_lifetime_s is not None:
            options.append((self.config.connection_lifetime_s, self.config.go_away_grace_s))
        if plan.goaway_after_s is not None:
            left = plan.goaway_time_left_s
            grace = self.config.go_away_grace_s if left is None else left
            options.append((plan.goaway_after_s, grace))
        return min(options) if options else None

    async def _go_away(self, after_s: float, time_left_s: float) -> None:
        """§4.5: goAway, then 1008 if the client is still here when the time is up."""
        await asyncio.sleep(after_s)
        self.proto.send_go_away(time_left_s)
        self.outbox.push()
        await asyncio.sleep(time_left_s)
        log.debug("client overstayed its goAway on %s", self.path)
        self.outbox.close(1008, GOAWAY_EXPIRED)

    async def _idle(self, live: ServedSession, limit_s: float) -> None:
        """goAway, then close, once the client has sent nothing for `limit_s` while the session
        had nothing under way (a reply, a tool call, queued turns)."""
        loop = asyncio.get_running_loop()
        while True:
            if live.busy():
                self.heard_at = loop.time()  # the client is waiting for us: not idle
            quiet = loop.time() - self.heard_at
            if quiet >= limit_s:
                break
            await asyncio.sleep(min(limit_s - quiet, 1.0) if live.busy() else limit_s - quiet)
        grace = min(IDLE_GRACE_S, self.config.go_away_grace_s)
        log.debug("session idle for %g s on %s: goAway", limit_s, self.path)
        self.proto.send_go_away(grace)
        self.outbox.push()
        await asyncio.sleep(grace)
        self.outbox.close(1008, idle_reason(limit_s))

    async def _token_expiry(self, seconds: float) -> None:
        """§1.5: after the token's expireTime its session's messages are refused; the service
        may close the session then, and this server does."""
        await asyncio.sleep(max(0.0, seconds))
        log.debug("ephemeral token expired on %s", self.path)
        self.outbox.close(1007, API_KEY_EXPIRED)

    async def _read(self, live: ServedSession) -> None:
        try:
            async for data in self.ws:
                self.heard_at = asyncio.get_running_loop().time()
                if self.outbox.closed.is_set():
                    continue  # closing: drain what is in flight
                if not await self._handle(live, data):
                    return
        except ConnectionClosed:
            log.debug("connection lost on %s", self.path)

    async def _handle(self, live: ServedSession, data: str | bytes) -> bool:
        try:
            self.proto.receive_data(data)
            for msg in self.proto.events_received():
                await live.handle(msg)
        except RemoteProtocolError as exc:
            log.debug("client broke the protocol: %s", exc)
            self.outbox.close(1007, refusal_reason(exc))
            return False
        except InvalidArgument as exc:
            log.debug("invalid argument: %s", exc.reason)
            self.outbox.close(1007, exc.reason)
            return False
        return True
