"""The Live connection state machine, shared by both sides (h11 style).

Theory of operation. A connection moves IDLE → SETUP_SENT → ACTIVE → GOING_AWAY → CLOSED (§5.1).
Each frame, sent or received, is turned into *steps* (who originated it, and what kind of frame it
is); ``TRANSITIONS`` says which steps each state allows and where they lead. Both sessions run the
same table: a step missing from it is a ``LocalProtocolError`` when we originated it (our code
misused the API) and a ``RemoteProtocolError`` when the peer did.

Rule (as in h11): everything that affects state lives in this file — the connection table, the
model-turn tracker (§5.2–5.3) and the outstanding tool-call ledger (§3.4, §4.4, §5.5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from voicecli.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from voicecli.protocol.messages import (
    ClientContent,
    ClientMessage,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    Setup,
)


class State(Enum):
    IDLE = "idle"  # connected, nothing sent
    SETUP_SENT = "setup_sent"  # setup sent, waiting for setupComplete (§3.1)
    ACTIVE = "active"  # setupComplete seen: any traffic
    GOING_AWAY = "going_away"  # goAway seen: traffic still allowed, close within timeLeft (§4.5)
    CLOSED = "closed"


class Role(Enum):
    CLIENT = "client"
    SERVER = "server"


class Step(Enum):
    SETUP = "setup"
    SETUP_COMPLETE = "setupComplete"
    MESSAGE = "message"  # any other traffic
    GO_AWAY = "goAway"


CLIENT, SERVER = Role.CLIENT, Role.SERVER

TRANSITIONS: dict[State, dict[tuple[Role, Step], State]] = {
    State.IDLE: {(CLIENT, Step.SETUP): State.SETUP_SENT},
    State.SETUP_SENT: {(SERVER, Step.SETUP_COMPLETE): State.ACTIVE},
    State.ACTIVE: {
        (CLIENT, Step.MESSAGE): State.ACTIVE,
        (SERVER, Step.MESSAGE): State.ACTIVE,
        (SERVER, Step.GO_AWAY): State.GOING_AWAY,
    },
    State.GOING_AWAY: {
        (CLIENT, Step.MESSAGE): State.GOING_AWAY,
        (SERVER, Step.MESSAGE): State.GOING_AWAY,
        (SERVER, Step.GO_AWAY): State.GOING_AWAY,
    },
    State.CLOSED: {},
}

#: Why a step is refused, by (state, originator, step); the fallback names the state.
WHY_NOT: dict[tuple[State, Role, Step], str] = {
    (State.IDLE, CLIENT, Step.MESSAGE): "the first client message must be setup (§3.1)",
    (State.IDLE, SERVER, Step.MESSAGE): "the server spoke before the client sent setup (§5.1)",
    (State.IDLE, SERVER, Step.SETUP_COMPLETE): "setupComplete before any setup (§5.1)",
    (State.SETUP_SENT, CLIENT, Step.SETUP): "setup was already sent; it is sent once (§3.1)",
    (State.SETUP_SENT, CLIENT, Step.MESSAGE): (
        "a client message before setupComplete; wait for it (§3.1, §5.1)"),
    (State.SETUP_SENT, SERVER, Step.MESSAGE): "server content before setupComplete (§5.1)",
    (State.SETUP_SENT, SERVER, Step.GO_AWAY): "goAway before setupComplete (§5.1)",
    (State.ACTIVE, CLIENT, Step.SETUP): "a second setup; setup is sent once per connection (§3.1)",
    (State.ACTIVE, SERVER, Step.SETUP_COMPLETE): "a second setupComplete (§4.1)",
}


class ConnectionState:
    """The connection's place in the table above."""

    def __init__(self) -> None:
        self.state = State.IDLE

    def target(self, origin: Role, steps: Iterable[Step], *, error: type[ProtocolError]) -> State:
        """Where these steps lead, or raise ``error`` (Local or Remote, chosen by the caller).

        Nothing changes here: callers validate the rest of the frame, then ``commit`` the result.
        """
        state = self.state
        for step in steps:
            following = TRANSITIONS[state].get((origin, step))
            if following is None:
                raise error(self.explain(state, origin, step))
            state = following
        return state

    def commit(self, state: State) -> None:
        self.state = state

    @staticmethod
    def explain(state: State, origin: Role, step: Step) -> str:
        lookup = State.ACTIVE if state is State.GOING_AWAY else state
        reason = WHY_NOT.get((lookup, origin, step))
        if reason is None:
            reason = f"{origin.value} {step.value} is not allowed in state {state.name}"
        return reason

    def close(self) -> None:
        self.state = State.CLOSED


_TRAFFIC_FIELDS = (
    "server_content", "tool_call", "tool_call_cancellation", "session_resumption_update",
    "usage_metadata", "voice_activity", "voice_activity_detection_signal",
)


def server_steps(msg: ServerMessage) -> list[Step]:
    """The steps of one server frame, in the order they take effect.

    A frame with none of the known fields (§4.8, an error object) takes no step: it is allowed in
    every state, so that a client can still report it.
    """
    steps = []
    if msg.setup_complete is not None:
        steps.append(Step.SETUP_COMPLETE)
    if any(getattr(msg, name) is not None for name in _TRAFFIC_FIELDS):
        steps.append(Step.MESSAGE)
    if msg.go_away is not None:
        steps.append(Step.GO_AWAY)
    return steps


def client_steps(msg: ClientMessage) -> list[Step]:
    return [Step.SETUP if isinstance(msg, Setup) else Step.MESSAGE]


def requests_reply(msg: ClientMessage) -> bool:
    """Client input that ends a user turn, so the model is expected to answer (§3.2, §5.4)."""
    if isinstance(msg, ClientContent):
        return bool(msg.turn_complete)
    if isinstance(msg, RealtimeInput):
        return msg.text is not None or msg.activity_end is not None
    return False


def error_for(origin: Role, own_role: Role) -> type[ProtocolError]:
    """Our own misuse is Local; the peer's is Remote (h11)."""
    return LocalProtocolError if origin is own_role else RemoteProtocolError


@dataclass(slots=True)
class TurnTracker:
    """Whether a model turn is in progress (§5.2) and what it has already said (§5.3).

    A turn opens with the first model output (modelTurn, outputTranscription, toolCall,
    grounding) and ends with turnComplete. A turn is *requested* by client input that ends a user
    turn (clientContent.turnComplete, realtimeInput.text, activityEnd) or by an input
    transcription (server VAD heard the user); that is enough for the
    server to send generationComplete or interrupted without output (the real service does:
    [REC live_ML_Dev_should_send_text_in_async_session]).
    """

    in_turn: bool = False
    requested: bool = False
    interrupted: bool = False

    def request(self) -> None:
        self.requested = True

    def open(self) -> None:
        self.in_turn = True

    def check(self, content: ServerContent) -> str | None:
        """Why this content may not be sent now (§5.2–5.3), or None."""
        opened = self.in_turn or self.requested or _opens_turn(content)
        if content.interrupted and not opened:
            return "interrupted with no model turn in progress (§5.3)"
        if content.generation_complete and not opened:
            return "generationComplete with no model turn in progress (§5.2)"
        if content.generation_complete and (self.interrupted or content.interrupted):
            return "generationComplete after interrupted in the same turn; send turnComplete (§5.3)"
        return None

    def apply(self, content: ServerContent) -> None:
        if _opens_turn(content) or content.generation_complete or content.interrupted:
            self.in_turn = True
        if content.input_transcription is not None and content.input_transcription.text:
            # under server VAD the user turn ends when the server says so; its transcript is
            # the client's sign that a reply is on its way (§5.4)
            self.requested = True
        if content.interrupted:
            self.interrupted = True
        if content.turn_complete:
            self.in_turn = self.requested = self.interrupted = False


def _opens_turn(content: ServerContent) -> bool:
    return (
        content.model_turn is not None
        or (content.output_transcription is not None and bool(content.output_transcription.text))
        or content.grounding_metadata is not None
    )


@dataclass(slots=True)
class ToolCallLedger:
    """Function-call ids the model is waiting on (§3.4, §4.4, §5.5)."""

    pending: set[str] = field(default_factory=set)

    def called(self, ids: Iterable[str]) -> None:
        self.pending.update(ids)

    def cancelled(self, ids: Iterable[str]) -> None:
        self.pending.difference_update(ids)

    def unknown(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i not in self.pending]

    def answered(self, ids_done: Iterable[str]) -> None:
        self.pending.difference_update(ids_done)
