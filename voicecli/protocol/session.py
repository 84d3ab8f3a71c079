"""Sans-I/O Live sessions (websockets style): feed frames in, take frames and events out.

    client = ClientSession()
    client.send_setup(setup)
    for text in client.data_to_send(): ws.send(text)
    client.receive_data(ws.recv())
    for event in client.events_received(): ...

Both sides share the state machine of ``state.py``. Our own misuse raises ``LocalProtocolError``
before anything is queued; a peer's broken or out-of-order frame raises ``RemoteProtocolError``
from ``receive_data``. Nothing here does I/O, so everything can be tested without an event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voicecli.errors import LocalProtocolError, RemoteProtocolError
from voicecli.protocol import events as ev
from voicecli.protocol.codec import decode_client, decode_server, encode, encode_pretty
from voicecli.protocol.messages import (
    ActivityEnd,
    ActivityStart,
    Blob,
    ClientContent,
    ClientMessage,
    CodeExecutionResult,
    Content,
    ExecutableCode,
    FunctionCall,
    FunctionResponse,
    GoAway,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    Setup,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    ToolResponse,
    Transcription,
    UsageMetadata,
    VoiceActivity,
)
from voicecli.protocol.state import (
    CLIENT,
    SERVER,
    ConnectionState,
    Role,
    State,
    Step,
    ToolCallLedger,
    TurnTracker,
    client_steps,
    error_for,
    requests_reply,
    server_steps,
)


class _Session:
    """What both sides track: connection state, the model turn, outstanding tool calls."""

    role: Role

    def __init__(self) -> None:
        self._connection = ConnectionState()
        self._turn = TurnTracker()
        self._tools = ToolCallLedger()
        self._setup: Setup | None = None
        self._seeding = False  # historyConfig: clientContent seeds history until turnComplete

    @property
    def state(self) -> State:
        return self._connection.state

    @property
    def setup(self) -> Setup | None:
        return self._setup

    @property
    def pending_tool_calls(self) -> frozenset[str]:
        return frozenset(self._tools.pending)

    @property
    def in_turn(self) -> bool:
        return self._turn.in_turn

    @property
    def reply_owed(self) -> bool:
        """A model turn is running, was asked for, or a tool call is unanswered: not a moment
        to move to another connection (§4.5, §5.6)."""
        return self._turn.in_turn or self._turn.requested or bool(self._tools.pending)

    def close(self) -> None:
        """After this nothing can be sent; frames still arriving are dropped."""
        self._connection.close()

    def _target(self, origin: Role, steps: list[Step]) -> State:
        if origin is self.role and self.state is State.CLOSED:
            raise LocalProtocolError("the session is closed; nothing more can be sent")
        return self._connection.target(origin, steps, error=error_for(origin, self.role))

    def _track_client_message(self, msg: ClientMessage) -> None:
        if isinstance(msg, Setup):
            self._setup = msg
            history = msg.history_config
            self._seeding = bool(history and history.initial_history_in_client_content)
        elif isinstance(msg, ClientContent) and self._seeding:
            self._seeding = not msg.turn_complete  # §3.1.11: seeded history asks for no reply
        elif requests_reply(msg):
            self._turn.request()
        elif isinstance(msg, ToolResponse):
            # §3.4: willContinue=true (NON_BLOCKING) means more responses for this id follow.
            done = [r.id for r in msg.function_responses or () if r.id and not r.will_continue]
            self._tools.answered(done)

    def _track_server_message(self, msg: ServerMessage) -> None:
        if msg.server_content is not None:
            self._turn.apply(msg.server_content)
        if msg.tool_call is not None:
            self._tools.called(c.id for c in msg.tool_call.function_calls or () if c.id)
            self._turn.open()
        if msg.tool_call_cancellation is not None:
            self._tools.cancelled(msg.tool_call_cancellation.ids or ())


class ClientSession(_Session):
    """The client side: sends client messages (text frames), decodes server frames into events."""

    role = CLIENT

    def __init__(self, *, outstanding_tool_calls: Iterable[str] = ()) -> None:
        """``outstanding_tool_calls``: ids still owed from a previous connection (§5.6)."""
        super().__init__()
        self._tools.called(outstanding_tool_calls)
        self._outgoing: list[str] = []
        self._events: list[ev.Event] = []
        self._resumption_handle: str | None = None
        self._go_away_time_left: float | None = None
        self._audio_mime: str | None = None
        self._queued = 0

    @property
    def messages_queued(self) -> int:
        """Client messages queued so far, setup included: the next one's index is this (§4.6
        `lastConsumedClientMessageIndex` counts them from setup = 0)."""
        return self._queued

    @property
    def resumption_handle(self) -> str | None:
        """The latest ``newHandle`` that came with ``resumable: true`` (§5.6)."""
        return self._resumption_handle

    @property
    def go_away_time_left(self) -> float | None:
        return self._go_away_time_left

    # ---- sending ----------------------------------------------------------------------------

    def send(self, msg: ClientMessage) -> None:
        """Queue any client message, after checking it is allowed now."""
        target = self._target(CLIENT, client_steps(msg))
        if isinstance(msg, ToolResponse):
            self._check_tool_response(msg)
        if isinstance(msg, RealtimeInput):
            self._check_realtime_input(msg)
        self._connection.commit(target)
        self._track_client_message(msg)
        self._outgoing.append(encode(msg))
        self._queued += 1

    def send_setup(self, setup: Setup) -> None:
        self.send(setup)

    def send_client_content(
        self, turns: list[Content] | None = None, turn_complete: bool = True
    ) -> None:
        self.send(ClientContent(turns=turns, turn_complete=turn_complete))

    def send_realtime(self, inp: RealtimeInput) -> None:
        self.send(inp)

    def send_audio(self, pcm: bytes, rate: int = 16000) -> None:
        """16-bit little-endian mono PCM at ``rate`` Hz (§3.3, §6)."""
        if not pcm:
            return  # §5.9: an empty audio chunk made the service close with 1007
        self.send(RealtimeInput(audio=Blob(mime_type=f"audio/pcm;rate={rate}", data=bytes(pcm))))

    def send_video(self, image: bytes, mime_type: str = "image/jpeg") -> None:
        self.send(RealtimeInput(video=Blob(mime_type=mime_type, data=bytes(image))))

    def send_text(self, text: str) -> None:
        self.send(RealtimeInput(text=text))

    def send_activity_start(self) -> None:
        self.send(RealtimeInput(activity_start=ActivityStart()))

    def send_activity_end(self) -> None:
        self.send(RealtimeInput(activity_end=ActivityEnd()))

    def send_audio_stream_end(self) -> None:
        self.send(RealtimeInput(audio_stream_end=True))

    def send_tool_response(self, responses: list[FunctionResponse]) -> None:
        self.send(ToolResponse(function_responses=list(responses)))

    def data_to_send(self) -> list[str]:
        """The text frames to send, in order; the queue is emptied."""
        outgoing, self._outgoing = self._outgoing, []
        return outgoing

    def _check_tool_response(self, msg: ToolResponse) -> None:
        # §3.4, §11: the Gemini API requires the id of the call being answered.
        responses = msg.function_responses or []
        if not responses:
            raise LocalProtocolError("toolResponse needs at least one function response (§3.4)")
        if any(not r.id for r in responses):
            raise LocalProtocolError("every function response needs the id of its toolCall (§3.4)")
        unknown = self._tools.unknown(r.id for r in responses if r.id)
        if unknown:
            raise LocalProtocolError(
                f"no outstanding tool call with id {unknown[0]!r} (answered or cancelled, §4.4)"
            )

    def _check_realtime_input(self, inp: RealtimeInput) -> None:
        present = [name for name in _REALTIME_FIELDS if getattr(inp, name) is not None]
        if len(present) + len(inp.extra) != 1:
            raise LocalProtocolError(
                f"a realtimeInput carries exactly one input (§3.3); got {present or 'none'}"
            )
        if inp.audio is not None and inp.audio.mime_type is not None:
            self._check_audio_mime(inp.audio.mime_type)
        if inp.video is not None and not (inp.video.mime_type or "").startswith("image/"):
            raise LocalProtocolError(f"video frames are images (§6); got {inp.video.mime_type!r}")

    def _check_audio_mime(self, mime: str) -> None:
        if not mime.startswith("audio/"):
            raise LocalProtocolError(f"realtime audio needs an audio/ MIME type, not {mime!r}")
        if self._audio_mime is not None and mime != self._audio_mime:
            raise LocalProtocolError(
                f"audio format changed from {self._audio_mime} to {mime}; native-audio models "
                "close the session on that (§6, §5.9). Resample to one rate."
            )
        self._audio_mime = mime

    # ---- receiving --------------------------------------------------------------------------

    def receive_data(self, data: str | bytes) -> None:
        """Decode one server frame (text or binary); events become available from
        ``events_received``. Raises ``RemoteProtocolError`` for a broken or out-of-order frame."""
        if self.state is State.CLOSED:
            return
        msg = decode_server(data)
        self._connection.commit(self._target(SERVER, server_steps(msg)))
        self._track_server_message(msg)
        self._track_control(msg)
        self._events.extend(ev.events_from(msg))

    def events_received(self) -> list[ev.Event]:
        events, self._events = self._events, []
        return events

    def _track_control(self, msg: ServerMessage) -> None:
        update = msg.session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            self._resumption_handle = update.new_handle  # §4.6: keep only the latest
        if msg.go_away is not None:
            self._go_away_time_left = msg.go_away.time_left


_REALTIME_FIELDS = (
    "audio", "video", "text", "activity_start", "activity_end", "audio_stream_end", "media_chunks",
)


class ServerSession(_Session):
    """The server side: decodes client frames, sends server messages (binary, pretty JSON)."""

    role = SERVER

    def __init__(self, vertex: bool = False) -> None:
        super().__init__()
        self._outgoing: list[bytes] = []
        self._received: list[ClientMessage] = []
        #: Vertex AI's style (§8): model turns carry role "model", audio is "audio/pcm" without a
        #: rate, and a function response without an id is tolerated.
        self.vertex = vertex

    # ---- receiving --------------------------------------------------------------------------

    def receive_data(self, data: str | bytes) -> None:
        """Decode one client frame. Raises ``RemoteProtocolError`` for a broken frame, a first
        message other than setup, a second setup, or a function response without an id."""
        if self.state is State.CLOSED:
            return
        msg = decode_client(data)
        target = self._target(CLIENT, client_steps(msg))
        if isinstance(msg, ToolResponse) and not self.vertex:
            if any(not r.id for r in msg.function_responses or ()):
                raise RemoteProtocolError("a function response without the id of its call (§3.4)")
        self._connection.commit(target)
        self._track_client_message(msg)
        self._received.append(msg)

    def events_received(self) -> list[ClientMessage]:
        """The client messages decoded since the last call."""
        received, self._received = self._received, []
        return received

    # ---- sending ----------------------------------------------------------------------------

    def send(self, msg: ServerMessage) -> None:
        target = self._target(SERVER, server_steps(msg))
        if msg.server_content is not None:
            problem = self._turn.check(msg.server_content)
            if problem:
                raise LocalProtocolError(problem)
        if msg.tool_call is not None and any(not c.id for c in msg.tool_call.function_calls or ()):
            raise LocalProtocolError("every function call needs an id for its response (§4.3)")
        self._connection.commit(target)
        self._track_server_message(msg)
        self._outgoing.append(encode_pretty(msg))

    def request_turn(self) -> None:
        """The server itself ended the user's turn (its VAD heard the end of speech, §5.4), so a
        model turn is requested: generationComplete or interrupted may follow without output."""
        self._turn.request()

    def send_setup_complete(self, session_id: str | None = None) -> None:
        self.send(ServerMessage(setup_complete=SetupComplete(session_id=session_id)))

    def send_model_audio(self, pcm: bytes, rate: int = 24000) -> None:
        mime = "audio/pcm" if self.vertex and rate == 24000 else f"audio/pcm;rate={rate}"
        blob = Blob(mime_type=mime, data=bytes(pcm))
        self._send_content(ServerContent(model_turn=self._model_turn(Part(inline_data=blob))))

    def send_model_text(self, text: str, thought: bool = False) -> None:
        part = Part(text=text, thought=True if thought else None)
        self._send_content(ServerContent(model_turn=self._model_turn(part)))

    def _model_turn(self, part: Part) -> Content:
        return Content(role="model" if self.vertex else None, parts=[part])

    def send_grounding(self, metadata: dict[str, Any]) -> None:
        """§4.2 groundingMetadata (Google Search), opaque JSON as given."""
        self._send_content(ServerContent(grounding_metadata=metadata))

    def send_executable_code(self, language: str, code: str) -> None:
        part = Part(executable_code=ExecutableCode(language=language, code=code))
        self._send_content(ServerContent(model_turn=self._model_turn(part)))

    def send_code_execution_result(self, outcome: str, output: str) -> None:
        part = Part(code_execution_result=CodeExecutionResult(outcome=outcome, output=output))
        self._send_content(ServerContent(model_turn=self._model_turn(part)))

    def send_input_transcription(self, text: str, finished: bool | None = None) -> None:
        transcription = Transcription(text=text, finished=finished)
        self._send_content(ServerContent(input_transcription=transcription))

    def send_interim_input_transcription(self, text: str) -> None:
        """§4.2 interimInputTranscription: the provisional text so far (replaces the last one)."""
        self._send_content(ServerContent(interim_input_transcription=Transcription(text=text)))

    def send_output_transcription(self, text: str) -> None:
        self._send_content(ServerContent(output_transcription=Transcription(text=text)))

    def send_generation_complete(self) -> None:
        self._send_content(ServerContent(generation_complete=True))

    def send_interrupted(self) -> None:
        self._send_content(ServerContent(interrupted=True))

    def send_turn_complete(
        self,
        usage: UsageMetadata | None = None,
        reason: str | None = None,
        waiting_for_input: bool | None = None,
        interaction_status: str | None = None,
    ) -> None:
        """§5.2: ends the model turn; usage rides along (§4.7); interactionStatus on 3.8 (§4.2)."""
        content = ServerContent(
            turn_complete=True,
            turn_complete_reason=reason,
            waiting_for_input=waiting_for_input,
            interaction_status=interaction_status,
        )
        self.send(ServerMessage(server_content=content, usage_metadata=usage))

    def send_tool_call(self, calls: list[FunctionCall]) -> None:
        self.send(ServerMessage(tool_call=ToolCall(function_calls=list(calls))))

    def send_tool_call_cancellation(self, ids: list[str]) -> None:
        self.send(ServerMessage(tool_call_cancellation=ToolCallCancellation(ids=list(ids))))

    def send_go_away(self, time_left_s: float) -> None:
        self.send(ServerMessage(go_away=GoAway(time_left=float(time_left_s))))

    def send_resumption_update(self, handle: str | None, resumable: bool,
                               last_consumed_index: int | None = None) -> None:
        """§4.6; `last_consumed_index` only when the setup asked for transparent resumption."""
        update = SessionResumptionUpdate(new_handle=handle, resumable=resumable,
                                         last_consumed_client_message_index=last_consumed_index)
        self.send(ServerMessage(session_resumption_update=update))

    def send_voice_activity(self, kind: str, offset_s: float | None = None) -> None:
        self.send(ServerMessage(voice_activity=VoiceActivity(type=kind, audio_offset=offset_s)))

    def data_to_send(self) -> list[bytes]:
        """The binary frames to send, in order; the queue is emptied."""
        outgoing, self._outgoing = self._outgoing, []
        return outgoing

    def _send_content(self, content: ServerContent) -> None:
        self.send(ServerMessage(server_content=content))
