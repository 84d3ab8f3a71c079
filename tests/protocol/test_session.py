"""Client and server sessions wired back to back (h11's ConnectionPair), no event loop."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from voicecli.errors import LocalProtocolError, RemoteProtocolError
from voicecli.protocol import events as ev
from voicecli.protocol.codec import encode
from voicecli.protocol.messages import (
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    FunctionCall,
    FunctionResponse,
    GenerationConfig,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    SessionResumptionConfig,
    Setup,
    ToolResponse,
    UsageMetadata,
)
from voicecli.protocol.session import ClientSession, ServerSession
from voicecli.protocol.state import TRANSITIONS, State

SETUP = Setup(model="models/gemini-3.8-live",
              generation_config=GenerationConfig(response_modalities=["AUDIO"]),
              session_resumption=SessionResumptionConfig())
PCM = b"\x01\x00\xff\xff" * 800  # 100 ms at 16 kHz


class Pair:
    """A client and a server session joined by an in-memory link."""

    def __init__(self) -> None:
        self.client = ClientSession()
        self.server = ServerSession()

    def to_server(self) -> list[ClientMessage]:
        frames = self.client.data_to_send()
        assert all(isinstance(f, str) for f in frames)  # §2: clients send text frames
        for frame in frames:
            self.server.receive_data(frame)
        return self.server.events_received()

    def to_client(self) -> list[ev.Event]:
        frames = self.server.data_to_send()
        assert all(isinstance(f, bytes) for f in frames)  # §2: the server sends binary frames
        for frame in frames:
            self.client.receive_data(frame)
        return self.client.events_received()

    def open(self, session_id: str | None = None) -> None:
        self.client.send_setup(SETUP)
        assert self.to_server() == [SETUP]
        self.server.send_setup_complete(session_id)
        assert self.to_client() == [ev.SetupComplete(session_id)]


@pytest.fixture
def pair() -> Pair:
    p = Pair()
    p.open()
    return p


def kinds(events: list[ev.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_handshake_moves_both_sides_to_active() -> None:
    p = Pair()
    assert p.client.state is State.IDLE and p.server.state is State.IDLE
    p.client.send_setup(SETUP)
    assert p.client.state is State.SETUP_SENT
    p.to_server()
    assert p.server.state is State.SETUP_SENT and p.server.setup == SETUP
    p.server.send_setup_complete("sid")
    assert p.to_client() == [ev.SetupComplete("sid")]
    assert p.client.state is State.ACTIVE and p.server.state is State.ACTIVE
    assert p.client.setup == SETUP


def test_full_turn(pair: Pair) -> None:
    pair.client.send_audio(PCM)
    pair.client.send_text("What's the weather?")
    received = pair.to_server()
    assert received[0] == RealtimeInput(audio=Blob(mime_type="audio/pcm;rate=16000", data=PCM))
    assert received[1] == RealtimeInput(text="What's the weather?")
    assert not pair.client.in_turn and not pair.server.in_turn
    s = pair.server
    s.send_input_transcription("What's the weather?", finished=True)
    s.send_model_audio(b"\x00\x01" * 480)
    assert s.in_turn
    s.send_output_transcription("It's raining")
    s.send_model_text("hmm", thought=True)
    events = pair.to_client()
    assert pair.client.in_turn
    s.send_generation_complete()
    s.send_turn_complete(UsageMetadata(total_token_count=9), reason="NEED_MORE_INPUT",
                         waiting_for_input=True, interaction_status="IDLE")
    events += pair.to_client()
    assert kinds(events) == ["InputTranscript", "ModelAudio", "OutputTranscript", "Thought",
                             "GenerationComplete", "Usage", "TurnComplete"]
    assert events[0] == ev.InputTranscript("What's the weather?", True)
    assert events[1] == ev.ModelAudio(b"\x00\x01" * 480, 24000)
    assert events[-1] == ev.TurnComplete("NEED_MORE_INPUT", True, "IDLE")
    assert not pair.client.in_turn and not pair.server.in_turn


def test_barge_in(pair: Pair) -> None:
    pair.server.send_model_audio(b"\x00\x00" * 240)
    pair.server.send_output_transcription("Tomorrow will be")
    pair.client.send_audio(PCM)
    pair.to_server()
    pair.server.send_interrupted()
    with pytest.raises(LocalProtocolError, match="after interrupted"):
        pair.server.send_generation_complete()  # §5.3: no generationComplete on barge-in
    pair.server.send_turn_complete()
    assert kinds(pair.to_client()) == ["ModelAudio", "OutputTranscript", "Interrupted",
                                       "TurnComplete"]
    assert not pair.client.in_turn
    # the next turn is a fresh one: generationComplete is fine again
    pair.server.send_model_audio(b"\x00\x00")
    pair.server.send_generation_complete()
    pair.server.send_turn_complete()
    assert kinds(pair.to_client()) == ["ModelAudio", "GenerationComplete", "TurnComplete"]


def test_generation_complete_after_a_requested_turn_without_output(pair: Pair) -> None:
    # [REC live_ML_Dev_should_send_text_in_async_session]: the service did exactly this
    pair.client.send_client_content([Content(role="user", parts=[Part(text="hi")])])
    pair.to_server()
    pair.server.send_generation_complete()
    pair.server.send_turn_complete()
    assert kinds(pair.to_client()) == ["GenerationComplete", "TurnComplete"]


def test_server_vad_end_of_speech_requests_a_turn(pair: Pair) -> None:
    # §5.4: with automatic activity detection the server decides the user's turn ended; a
    # barge-in before any output then still reads interrupted → turnComplete (§5.3).
    pair.client.send_audio(b"\x00\x01" * 160)
    pair.to_server()
    with pytest.raises(LocalProtocolError, match="no model turn"):
        pair.server.send_interrupted()
    pair.server.request_turn()
    pair.server.send_interrupted()
    pair.server.send_turn_complete()
    assert kinds(pair.to_client()) == ["Interrupted", "TurnComplete"]


def test_tool_call_round_trip(pair: Pair) -> None:
    args = {"some_key": 1, "someKey": 2}
    pair.server.send_tool_call([FunctionCall(id="function-call-1", name="get", args=args),
                                FunctionCall(id="function-call-2", name="put")])
    (event,) = pair.to_client()
    assert isinstance(event, ev.ToolCallRequested)
    assert event.calls[0].args == args
    assert pair.client.pending_tool_calls == {"function-call-1", "function-call-2"}
    assert pair.server.pending_tool_calls == {"function-call-1", "function-call-2"}
    assert pair.client.in_turn
    pair.client.send_tool_response([FunctionResponse(id="function-call-1", name="get",
                                                     response={"output": {"temp_c": 11}})])
    (msg,) = pair.to_server()
    assert isinstance(msg, ToolResponse) and msg.function_responses is not None
    assert msg.function_responses[0].response == {"output": {"temp_c": 11}}
    assert pair.client.pending_tool_calls == {"function-call-2"}
    assert pair.server.pending_tool_calls == {"function-call-2"}


def test_will_continue_keeps_the_call_outstanding(pair: Pair) -> None:
    pair.server.send_tool_call([FunctionCall(id="c1", name="stream")])
    pair.to_client()
    pair.client.send_tool_response([FunctionResponse(id="c1", response={}, will_continue=True)])
    pair.to_server()
    assert pair.client.pending_tool_calls == {"c1"} == pair.server.pending_tool_calls
    pair.client.send_tool_response([FunctionResponse(id="c1", response={}, will_continue=False,
                                                     scheduling="SILENT")])
    pair.to_server()
    assert pair.client.pending_tool_calls == frozenset() == pair.server.pending_tool_calls


def test_cancellation(pair: Pair) -> None:
    pair.server.send_tool_call([FunctionCall(id="c1", name="slow"), FunctionCall(id="c2")])
    pair.server.send_tool_call_cancellation(["c1"])
    events = pair.to_client()
    assert events[1] == ev.ToolCallCancelled(("c1",))
    assert pair.client.pending_tool_calls == {"c2"}
    with pytest.raises(LocalProtocolError, match="c1"):  # §4.4, §10: drop cancelled results
        pair.client.send_tool_response([FunctionResponse(id="c1", response={})])
    assert pair.client.data_to_send() == []


def test_server_tolerates_a_response_that_crossed_a_cancellation(pair: Pair) -> None:
    pair.server.send_tool_call([FunctionCall(id="c1", name="slow")])
    pair.to_client()
    pair.client.send_tool_response([FunctionResponse(id="c1", response={})])
    pair.server.send_tool_call_cancellation(["c1"])  # crosses the response on the wire
    assert isinstance(pair.to_server()[0], ToolResponse)
    assert kinds(pair.to_client()) == ["ToolCallCancelled"]


def test_outstanding_calls_carry_over_to_a_new_connection() -> None:
    client = ClientSession(outstanding_tool_calls=["c9"])
    client.send_setup(SETUP)
    client.receive_data(b'{"setupComplete": {}}')
    client.send_tool_response([FunctionResponse(id="c9", response={})])
    assert client.pending_tool_calls == frozenset()


def test_resumption_handle_tracking(pair: Pair) -> None:
    assert pair.client.resumption_handle is None
    pair.server.send_resumption_update("H1", True)
    pair.server.send_resumption_update(None, False)
    pair.server.send_resumption_update("H2", True)
    pair.server.send_resumption_update("H3", False)  # not resumable: never kept
    pair.server.send_resumption_update("", True)  # empty: not a handle
    events = pair.to_client()
    assert events[:2] == [ev.ResumptionUpdate("H1", True), ev.ResumptionUpdate(None, False)]
    assert pair.client.resumption_handle == "H2"


def test_go_away(pair: Pair) -> None:
    pair.server.send_go_away(50)
    frame = pair.server.data_to_send()
    assert json.loads(frame[0]) == {"goAway": {"timeLeft": "50s"}}
    pair.client.receive_data(frame[0])
    assert pair.client.events_received() == [ev.GoAway(50.0)]
    assert pair.client.state is State.GOING_AWAY and pair.server.state is State.GOING_AWAY
    assert pair.client.go_away_time_left == 50.0
    pair.client.send_text("still here")  # sending is still allowed until the close
    assert pair.to_server() == [RealtimeInput(text="still here")]
    pair.server.send_go_away(10.5)
    assert pair.to_client() == [ev.GoAway(10.5)]


def test_voice_activity(pair: Pair) -> None:
    pair.server.send_voice_activity("ACTIVITY_START", 1.25)
    assert pair.to_client() == [ev.VoiceActivity("ACTIVITY_START", 1.25)]


def test_close_stops_sending_and_drops_late_frames(pair: Pair) -> None:
    pair.client.send_text("last words")
    pair.client.close()
    assert pair.client.state is State.CLOSED
    assert len(pair.client.data_to_send()) == 1  # what was queued before close still goes out
    with pytest.raises(LocalProtocolError, match="closed"):
        pair.client.send_text("more")
    pair.client.receive_data(b'{"serverContent": {"turnComplete": true}}')
    assert pair.client.events_received() == []
    pair.server.close()
    with pytest.raises(LocalProtocolError, match="closed"):
        pair.server.send_turn_complete()


def test_error_payload_is_reported_in_any_state() -> None:
    client = ClientSession()
    client.send_setup(SETUP)
    client.receive_data(b'{"error": {"code": 400, "message": "bad"}}')
    assert client.events_received() == [
        ev.ServerErrorPayload({"error": {"code": 400, "message": "bad"}})]
    assert client.state is State.SETUP_SENT


def test_audio_helpers_encode_the_rate_and_skip_empty_chunks(pair: Pair) -> None:
    pair.client.send_audio(b"")
    assert pair.client.data_to_send() == []
    pair.client.send_audio(PCM, 24000)
    assert json.loads(pair.client.data_to_send()[0])["realtimeInput"]["audio"]["mimeType"] == (
        "audio/pcm;rate=24000")
    with pytest.raises(LocalProtocolError, match="changed"):  # §6: keep one input rate
        pair.client.send_audio(PCM, 16000)


def test_every_client_helper_produces_one_realtime_field(pair: Pair) -> None:
    pair.client.send_video(b"\xff\xd8")
    pair.client.send_activity_start()
    pair.client.send_activity_end()
    pair.client.send_audio_stream_end()
    pair.client.send_client_content(turn_complete=True)
    wire = [json.loads(t) for t in pair.client.data_to_send()]
    assert wire == [
        {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": "/9g="}}},
        {"realtimeInput": {"activityStart": {}}},
        {"realtimeInput": {"activityEnd": {}}},
        {"realtimeInput": {"audioStreamEnd": True}},
        {"clientContent": {"turnComplete": True}},
    ]


# ---- illegal transitions ----------------------------------------------------------------------

CLIENT_MISUSE: list[tuple[str, Callable[[ClientSession], None], str]] = [
    ("text before setup", lambda c: c.send_text("hi"), "first client message must be setup"),
    ("audio before setup", lambda c: c.send_audio(PCM), "must be setup"),
]


@pytest.mark.parametrize(("name", "action", "words"), CLIENT_MISUSE,
                         ids=[m[0] for m in CLIENT_MISUSE])
def test_client_misuse_in_idle(name: str, action: Callable[[ClientSession], None],
                               words: str) -> None:
    client = ClientSession()
    with pytest.raises(LocalProtocolError, match=words):
        action(client)
    assert client.state is State.IDLE and client.data_to_send() == []


def test_client_must_wait_for_setup_complete() -> None:
    client = ClientSession()
    client.send_setup(SETUP)
    with pytest.raises(LocalProtocolError, match="before setupComplete"):
        client.send_text("hi")
    with pytest.raises(LocalProtocolError, match="already sent"):
        client.send_setup(SETUP)
    assert len(client.data_to_send()) == 1


ACTIVE_CLIENT_MISUSE: list[tuple[str, Callable[[ClientSession], None], str]] = [
    ("second setup", lambda c: c.send_setup(SETUP), "second setup"),
    ("response without id",
     lambda c: c.send_tool_response([FunctionResponse(name="f", response={})]), "id"),
    ("response to unknown id",
     lambda c: c.send_tool_response([FunctionResponse(id="nope", response={})]), "nope"),
    ("empty tool response", lambda c: c.send_tool_response([]), "at least one"),
    ("two realtime fields", lambda c: c.send_realtime(RealtimeInput(text="a",
                                                                    audio_stream_end=True)),
     "exactly one"),
    ("empty realtime input", lambda c: c.send_realtime(RealtimeInput()), "exactly one"),
    ("audio with a video type", lambda c: c.send_realtime(RealtimeInput(
        audio=Blob(mime_type="image/png", data=b"x"))), "audio/"),
    ("video that is not an image", lambda c: c.send_video(b"x", "video/mp4"), "image"),
]


@pytest.mark.parametrize(("name", "action", "words"), ACTIVE_CLIENT_MISUSE,
                         ids=[m[0] for m in ACTIVE_CLIENT_MISUSE])
def test_client_misuse_when_active(pair: Pair, name: str,
                                   action: Callable[[ClientSession], None], words: str) -> None:
    with pytest.raises(LocalProtocolError, match=words):
        action(pair.client)
    assert pair.client.data_to_send() == [] and pair.client.state is State.ACTIVE


REMOTE_TO_CLIENT: list[tuple[str, State, bytes, str]] = [
    ("frame before setup", State.IDLE, b'{"setupComplete": {}}', "before any setup"),
    ("content before setupComplete", State.SETUP_SENT,
     b'{"serverContent": {"turnComplete": true}}', "before setupComplete"),
    ("usage before setupComplete", State.SETUP_SENT,
     b'{"usageMetadata": {"totalTokenCount": 1}}', "before setupComplete"),
    ("goAway before setupComplete", State.SETUP_SENT, b'{"goAway": {"timeLeft": "1s"}}',
     "goAway before setupComplete"),
    ("second setupComplete", State.ACTIVE, b'{"setupComplete": {}}', "second setupComplete"),
    ("broken JSON", State.ACTIVE, b'{"serverContent": ', "not JSON"),
]


@pytest.mark.parametrize(("name", "state", "frame", "words"), REMOTE_TO_CLIENT,
                         ids=[m[0] for m in REMOTE_TO_CLIENT])
def test_server_misbehaviour_seen_by_the_client(name: str, state: State, frame: bytes,
                                                words: str) -> None:
    client = ClientSession()
    if state is not State.IDLE:
        client.send_setup(SETUP)
    if state is State.ACTIVE:
        client.receive_data(b'{"setupComplete": {}}')
    client.events_received()
    with pytest.raises(RemoteProtocolError, match=words):
        client.receive_data(frame)
    assert client.state is state and client.events_received() == []


REMOTE_TO_SERVER: list[tuple[str, bool, ClientMessage | str, str]] = [
    ("first message not setup", False, RealtimeInput(text="hi"), "must be setup"),
    ("content before setupComplete", True, ClientContent(turn_complete=True),
     "before setupComplete"),
    ("second setup", True, SETUP, "already sent"),
    ("broken frame", False, '{"setup": {}, "toolResponse": {}}', "exactly one"),
]


@pytest.mark.parametrize(("name", "after_setup", "msg", "words"), REMOTE_TO_SERVER,
                         ids=[m[0] for m in REMOTE_TO_SERVER])
def test_client_misbehaviour_seen_by_the_server(name: str, after_setup: bool,
                                                msg: ClientMessage | str, words: str) -> None:
    server = ServerSession()
    if after_setup:
        server.receive_data(encode(SETUP))
    with pytest.raises(RemoteProtocolError, match=words):
        server.receive_data(msg if isinstance(msg, str) else encode(msg))


def test_server_refuses_second_setup_when_active_and_missing_ids(pair: Pair) -> None:
    with pytest.raises(RemoteProtocolError, match="second setup"):
        pair.server.receive_data(encode(SETUP))
    frame = encode(ToolResponse(function_responses=[FunctionResponse(name="f", response={})]))
    with pytest.raises(RemoteProtocolError, match="without the id"):
        pair.server.receive_data(frame)
    assert pair.server.events_received() == []


SERVER_MISUSE: list[tuple[str, Callable[[ServerSession], None], str]] = [
    ("interrupted with no turn", lambda s: s.send_interrupted(), "no model turn"),
    ("generationComplete with no turn", lambda s: s.send_generation_complete(), "no model turn"),
    ("second setupComplete", lambda s: s.send_setup_complete(), "second setupComplete"),
    ("tool call without id", lambda s: s.send_tool_call([FunctionCall(name="f")]), "id"),
    ("interrupted and generationComplete together",
     lambda s: s.send(ServerMessage(server_content=ServerContent(
         model_turn=Content(parts=[Part(text="x")]), interrupted=True,
         generation_complete=True))), "after interrupted"),
]


@pytest.mark.parametrize(("name", "action", "words"), SERVER_MISUSE,
                         ids=[m[0] for m in SERVER_MISUSE])
def test_server_misuse_when_active(pair: Pair, name: str,
                                   action: Callable[[ServerSession], None], words: str) -> None:
    with pytest.raises(LocalProtocolError, match=words):
        action(pair.server)
    assert pair.server.data_to_send() == []


def test_server_content_before_setup_complete_is_local_misuse() -> None:
    server = ServerSession()
    with pytest.raises(LocalProtocolError, match="before the client sent setup"):
        server.send_model_text("hi")
    server.receive_data('{"setup": {"model": "models/x"}}')
    with pytest.raises(LocalProtocolError, match="before setupComplete"):
        server.send_model_text("hi")
    with pytest.raises(LocalProtocolError, match="goAway before setupComplete"):
        server.send_go_away(1)
    server.send(ServerMessage(extra={"error": {"code": 7}}))  # an error object is always allowed
    assert len(server.data_to_send()) == 1


def test_every_state_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(State)
    assert TRANSITIONS[State.CLOSED] == {}


def test_reply_owed_from_the_users_turn_to_turn_complete(pair: Pair) -> None:
    """No connection rotation between the user's speech and the reply (§4.5): under server
    VAD the input transcription is the client's sign that a reply is coming."""
    pair.client.send_audio(PCM)
    pair.to_server()
    assert not pair.client.reply_owed  # audio alone: the server has not taken a turn yet
    pair.server.send_input_transcription("what's the weather")
    pair.to_client()
    assert pair.client.reply_owed and not pair.client.in_turn
    pair.server.send_model_audio(b"\x00\x00")
    pair.server.send_turn_complete()
    pair.to_client()
    assert not pair.client.reply_owed
    pair.client.send_activity_end()  # manual activity: the end of the user's turn asks
    assert pair.client.reply_owed
