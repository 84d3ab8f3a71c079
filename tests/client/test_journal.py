"""The client's journal of sent messages (client/journal.py) and transparent resumption against
the real local server on the Vertex route (live-protocol.md §3.1.7, §4.6, §5.6)."""

from __future__ import annotations

from voicecli.client.endpoints import build_endpoint
from voicecli.client.journal import Journal, Kind
from voicecli.client.live import ConnectOptions, LiveSession, Reconnected
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.protocol import events as ev
from voicecli.server import FaultPlan, ServerConfig, start_server
from voicecli.settings import Secret, Settings


def nothing(session: object) -> None:
    return None


def test_audio_beyond_the_bound_is_dropped_oldest_first_and_counted_controls_never() -> None:
    journal = Journal(audio_limit_ms=100.0)
    journal.record(nothing, Kind.ACTIVITY_START)
    for _ in range(8):
        journal.record(nothing, Kind.AUDIO, audio_ms=20.0)
    journal.record(nothing, Kind.ACTIVITY_END, ends_turn=True)
    journal.record(nothing, Kind.TOOL_RESPONSE)
    kinds = [e.kind for e in journal.to_replay()]
    assert kinds == [Kind.ACTIVITY_START, *[Kind.AUDIO] * 5, Kind.ACTIVITY_END,
                     Kind.TOOL_RESPONSE]
    assert journal.dropped_audio_ms == 60.0 and journal.dropped_chunks == 3


def test_transparent_index_drops_exactly_what_was_consumed_on_that_connection() -> None:
    journal = Journal()
    entries = [journal.record(nothing, Kind.AUDIO, audio_ms=20.0) for _ in range(4)]
    for index, entry in enumerate(entries, start=1):
        entry.connection, entry.index = 1, index
    journal.consumed_through(2, 4)  # another connection's index says nothing about these
    assert len(journal) == 4
    journal.consumed_through(1, 2)
    assert [e.index for e in journal.to_replay()] == [3, 4]


def test_turn_boundary_keeps_the_question_still_in_flight() -> None:
    journal = Journal()
    first = journal.record(nothing, Kind.TEXT, ends_turn=True)
    second = journal.record(nothing, Kind.TEXT, ends_turn=True)
    # the last completed turn began after the first question, before the second
    journal.handle_between_turns(answered_before=second.sent_at, turn_ended_at=second.sent_at,
                                 utterance_since=None)
    assert journal.to_replay() == [second] and first not in journal.to_replay()


async def test_vertex_resume_replays_from_the_last_consumed_index() -> None:
    fault = FaultPlan.parse("drop-after=5,connections=1")
    config = ServerConfig(host="127.0.0.1", port=0, pace=0, faults=fault,
                          require_key="ya29.token")
    async with await start_server(config) as server:
        settings = Settings.of(backend="vertex", base_url=server.url, project="p",
                               location="us-central1", access_token=Secret("ya29.token"),
                               model="gemini-live-2.5-flash-native-audio")
        endpoint = build_endpoint(settings)
        setup = build_setup(settings, endpoint.model, SetupOptions(conversation=True))
        options = ConnectOptions(setup_timeout_s=5, backoff_base_s=0.05)
        seen: list[object] = []
        said = ""
        async with LiveSession(endpoint, setup, options) as live:
            await live.send_text("first question")
            async for event in live.events():
                seen.append(event)
                if isinstance(event, ev.OutputTranscript):
                    said += event.text
                if isinstance(event, ev.TurnComplete) and any(
                        isinstance(e, Reconnected) for e in seen):
                    break
    updates = [e for e in seen if isinstance(e, ev.ResumptionUpdate) and e.resumable]
    assert updates and all(u.last_consumed_index is not None for u in updates)
    assert updates[0].last_consumed_index == 0  # only the setup, at the start (§4.6)
    (reconnected,) = [e for e in seen if isinstance(e, Reconnected)]
    assert reconnected.resumed and reconnected.replayed == 1  # the question, once
    assert said.lower().endswith("you said: first question.")
