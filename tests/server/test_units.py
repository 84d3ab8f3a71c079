"""The sans-I/O pieces of the server: fault specs, routes and credentials, handles, pacing,
token estimates, the echo engine's helpers, reply chunking."""

from __future__ import annotations

import pytest

from voicecli.server.engines.echo_assistant import extract_args, name_words, named_tools
from voicecli.server.engines.interface import ToolSpec, Turn
from voicecli.server.session.faults import After, FaultPlan, FrameFaults, close_reason
from voicecli.server.session.handles import HandleStore, Snapshot
from voicecli.server.session.outbox import fit_reason
from voicecli.server.session.pacing import PlaybackClock
from voicecli.server.session.reply import TranscriptFeeder, new_call_id, word_groups
from voicecli.server.session.speech_io import split_sentences
from voicecli.server.session.usage import UsageEstimate, audio_tokens, text_tokens, trim_history
from voicecli.server.transport.routing import credential_accepted, find_credential, parse_route

# ---- faults --------------------------------------------------------------------------------


def test_fault_spec_parses_every_kind_and_round_trips() -> None:
    spec = ("close-after=5:1011,goaway-after=2.5,delay-ms=50,malformed-every=7,drop-after=3,"
            "fail-first=2:1013,goaway-in-reply=1:1.5")
    plan = FaultPlan.parse(spec)
    assert plan.close_after == (5, 1011)
    assert plan.goaway_after_s == 2.5 and plan.goaway_time_left_s is None
    assert plan.delay_ms == 50 and plan.malformed_every == 7 and plan.drop_after == 3
    assert plan.fail_first == (2, 1013) and plan.goaway_in_reply == (1.0, 1.5)
    assert FaultPlan.parse(plan.describe()) == plan
    assert FaultPlan.parse(" close-after=4 , ") == FaultPlan(close_after=(4, 1011))
    assert FaultPlan.parse("goaway-after=1:0.5").goaway_time_left_s == 0.5
    assert not FaultPlan.parse("") and FaultPlan.parse("delay-ms=1")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("close-after", "needs a value"),
        ("explode=1", "unknown fault 'explode'"),
        ("close-after=x", "whole number"),
        ("close-after=0", "≥ 1"),
        ("close-after=3:1006", "cannot be sent"),
        ("close-after=3:99", "cannot be sent"),
        ("fail-first=1:abc", "close code"),
        ("delay-ms=-5", "≥ 0"),
        ("goaway-after=nan", "≥ 0"),
        ("goaway-in-reply=-1", "≥ 0"),
        ("drop-after=1,drop-after=2", "given twice"),
    ],
)
def test_bad_fault_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan.parse(spec)


def test_frame_faults_count_per_connection() -> None:
    faults = FrameFaults(FaultPlan.parse("close-after=3:1011,malformed-every=2"))
    seen = []
    for _ in range(3):
        seen.append((faults.malformed_before_next(), faults.after_send()))
    assert seen == [
        (False, (After.NOTHING, 0)), (True, (After.NOTHING, 0)), (False, (After.CLOSE, 1011)),
    ]
    assert FrameFaults(FaultPlan(drop_after=1)).after_send() == (After.DROP, 1006)
    assert close_reason(1011) == "Internal error occurred."


# ---- routes and credentials (§1.1–1.4) ---------------------------------------------------------

GEMINI = "/ws/google.ai.generativelanguage.{}.GenerativeService.{}"


@pytest.mark.parametrize("version", ["v1alpha", "v1beta", "v1"])
@pytest.mark.parametrize("method", ["BidiGenerateContent", "BidiGenerateContentConstrained"])
def test_gemini_paths(version: str, method: str) -> None:
    route = parse_route(GEMINI.format(version, method) + "?key=abc")
    assert route is not None
    assert (route.backend, route.api_version, route.method) == ("gemini", version, method)
    assert parse_route("//" + GEMINI.format(version, method).lstrip("/")) == route


def test_vertex_and_unknown_paths() -> None:
    vertex = parse_route("/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent")
    assert vertex is not None and (vertex.backend, vertex.api_version) == ("vertex", "v1beta1")
    for bad in ["/", "/ws/google.ai.generativelanguage.v2.GenerativeService.BidiGenerateContent",
                "/ws/google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent",
                "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/Other", "/favicon.ico"]:
        assert parse_route(bad) is None, bad


def test_credentials_from_every_place() -> None:
    assert find_credential("/p", {"x-goog-api-key": "k1"}) == "k1"
    assert find_credential("/p", {"Authorization": "Token auth_tokens/t"}) == "auth_tokens/t"
    assert find_credential("/p", {"Authorization": "Bearer ya29"}) == "ya29"
    assert find_credential("/p?key=k2", {}) == "k2"
    assert find_credential("/p?access_token=auth_tokens/x", {}) == "auth_tokens/x"
    assert find_credential("/p?key=", {"Authorization": "Basic abc"}) is None
    assert credential_accepted(None, None) and credential_accepted(None, "anything")
    assert credential_accepted("k", "k") and not credential_accepted("k", "K")
    assert not credential_accepted("k", None)


# ---- handles, pacing, tokens -------------------------------------------------------------------


def test_handles_expire_and_are_opaque() -> None:
    now = [0.0]
    store = HandleStore(ttl_s=10, max_handles=2, clock=lambda: now[0])
    snap = Snapshot("gemini-3.8-live", (Turn("user", "hi"),))
    first = store.issue(snap)
    assert len(first) >= 24 and store.restore(first) == snap
    assert store.restore("nope") is None
    now[0] = 10.0
    assert store.restore(first) is None
    a, b, c = store.issue(snap), store.issue(snap), store.issue(snap)
    assert store.restore(a) is None and store.restore(b) == snap and store.restore(c) == snap


def test_playback_clock_keeps_the_lead_and_scales_with_pace() -> None:
    now = [100.0]
    clock = PlaybackClock(pace=1.0, lead_s=0.5, clock=lambda: now[0])
    assert clock.delay_before() == 0.0
    clock.sent(2.0)
    assert clock.delay_before() == pytest.approx(1.5)
    assert clock.remaining_s() == pytest.approx(2.0)
    now[0] += 1.5
    assert clock.delay_before() == pytest.approx(0.0)
    half = PlaybackClock(pace=0.5, lead_s=0.0, clock=lambda: now[0])
    half.sent(2.0)
    assert half.remaining_s() == pytest.approx(1.0)
    free = PlaybackClock(pace=0)
    free.sent(10)
    assert free.delay_before() == 0 and free.remaining_s() == 0


def test_token_estimates_and_usage_details() -> None:
    assert text_tokens("") == 0 and text_tokens("abcd") == 1 and text_tokens("abcde") == 2
    assert audio_tokens(1.0) == 32 and audio_tokens(0.01) == 1
    usage = UsageEstimate()
    usage.prompt_text("x" * 40)
    usage.prompt_audio(2.0)
    usage.response_audio(1.0)
    meta = usage.to_usage()
    assert (meta.prompt_token_count, meta.response_token_count, meta.total_token_count) == (
        74, 32, 106)
    assert [(d.modality, d.token_count) for d in meta.prompt_tokens_details or []] == [
        ("AUDIO", 64), ("TEXT", 10)]


def test_sliding_window_keeps_recent_turns_starting_with_a_user_turn() -> None:
    history = [Turn("user" if i % 2 == 0 else "model", "w" * 40) for i in range(10)]  # 10 tok
    assert trim_history(history, trigger=200, target=50) == history
    kept = trim_history(history, trigger=60, target=30)
    assert kept == history[-2:] and kept[0].role == "user"


# ---- echo helpers and reply chunking -------------------------------------------------------


def test_function_names_are_matched_by_their_words() -> None:
    assert name_words("get_current_weather") == ["get", "current", "weather"]
    assert name_words("turnOnTheLights") == ["turn", "on", "the", "lights"]
    tools = [ToolSpec("get_current_weather"), ToolSpec("turnOnTheLights")]
    assert named_tools("Get me the current weather in Paris", tools) == [tools[0]]
    assert named_tools("turn the lights on", tools) == [tools[1]]
    assert named_tools("what is the weather", tools) == []


def test_string_argument_is_taken_from_the_words_after_the_name() -> None:
    tool = ToolSpec("get_current_weather", {
        "type": "OBJECT", "properties": {"unit": {"type": "INTEGER"},
                                         "location": {"type": "STRING"}},
        "required": ["location"]})
    assert extract_args("get the current weather in the Paris area", tool) == {
        "location": "Paris area"}
    assert extract_args("get current weather", tool) == {}
    assert extract_args("get current weather in Oslo", ToolSpec("get_current_weather")) == {}


def test_reply_pieces_reassemble_exactly() -> None:
    text = "You said: hello there, how are you today?"
    groups = word_groups(text, 3)
    assert "".join(groups) == text and len(groups) == 3
    feeder = TranscriptFeeder(" Hello there friend.")
    first = feeder.advance(0.5)  # 7 characters due
    assert first == " Hello"
    assert first + feeder.advance(0.6) + feeder.rest() == " Hello there friend."
    assert split_sentences("One. Two! " + "x " * 200)[:2] == ["One.", "Two!"]
    assert all(len(s) <= 240 for s in split_sentences("word " * 300))
    ids = {new_call_id() for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == len("function-call-") + 19 for i in ids)


def test_close_reasons_fit_a_close_frame() -> None:
    assert fit_reason("ok") == "ok"
    assert len(fit_reason("é" * 100).encode()) <= 123
