"""The fault matrix (issue 13): every `serve --fault` kind × ask, talk, transcribe and batch, at
the points of a turn where a reconnect used to lose it. Everything is real: the local server on
loopback, its faults, the client's journal and replay (client/journal.py). Asserted is what the
user gets: every question answered once and whole (or the cut marked), every utterance in the
history once, exit codes.

Points, in the server's frames of a text turn (setupComplete 1, resumption 2, resumable:false 3
— the question is being answered —, reply 4…, turnComplete, resumption): `before` breaks after
frame 2 (the question not consumed yet), `reply` in the reply's middle, `tool` right after the
toolCall frame. `connections=1` lets the resumed connection finish.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from tests.talk.test_conversation import FeedMicrophone, Talk, echoes, local_server, said, spoken
from tests.transcribe.audio import spoken as spoken_sentences
from voicecli.ask import Answer, Question, ask
from voicecli.batch import read_records, run_batch
from voicecli.client.endpoints import build_endpoint
from voicecli.errors import ExitCode, NetworkError
from voicecli.server import FaultPlan, ServerConfig, start_server
from voicecli.settings import Settings, load_settings
from voicecli.talk.options import TalkOptions
from voicecli.tools import AllowPolicy, ToolUse, tools_from_config
from voicecli.transcribe import TranscribeOptions, transcribe_at

TEXT_MODEL = "gemini-live-2.5-flash-preview"
TOOLS = ToolUse(tuple(tools_from_config(tomllib.loads(
    '[tools.echo]\ntarget = "tests.tools.sample_tools:slow_echo"\n'))), AllowPolicy(all=True))
QUESTION = "what is the capital of france"
TOOL_QUESTION = "please echo banana"

#: fault kind → the spec at a given frame (malformed: a broken frame *before* frame N)
KINDS = {
    "drop": "drop-after={n}",  # 1006, no close frame
    "1011": "close-after={n}:1011",
    "1001": "close-after={n}:1001",
    "malformed": "malformed-every={m}",
    "goaway": "goaway-after=0:0.3",  # timeLeft nearly spent at once: rotate mid-turn
}
POINTS = {"before": 2, "reply": 5, "tool": 4}


def spec(kind: str, point: str) -> str:
    n = POINTS[point]
    return KINDS[kind].format(n=n, m=n + 1) + ",connections=1"


async def ask_through(fault: str, question: str, tools: ToolUse | None = None) -> Answer:
    config = ServerConfig(host="127.0.0.1", port=0, pace=0, faults=FaultPlan.parse(fault))
    async with await start_server(config) as server:
        settings = Settings.of(backend="gemini", base_url=server.url, response="text",
                               model=TEXT_MODEL, reply_timeout_s=15.0)
        return await ask(settings, Question(text=question), tools=tools)


@pytest.mark.parametrize("point", ["before", "reply", "tool"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_ask_answers_once_and_whole(kind: str, point: str) -> None:
    fault = spec(kind, point)
    if point == "tool":
        answer = await ask_through(fault, TOOL_QUESTION, TOOLS)
        assert answer.text == 'echo returned "banana".', (fault, answer.text)
        assert answer.tools and all(t["name"] == "echo" for t in answer.tools)
    else:
        answer = await ask_through(fault, QUESTION)
        assert answer.text == f"You said: {QUESTION}.", (fault, answer.text)  # once, whole
    assert answer.reconnects >= 1, fault
    assert answer.replies_cut <= 1, fault  # a cut is said once


async def test_ask_gives_up_with_exit_3_when_every_connection_fails_mid_reply() -> None:
    with pytest.raises(NetworkError) as info:
        await ask_through("drop-after=5", QUESTION)  # every connection: re-asking cannot help
    assert info.value.exit_code == ExitCode.NETWORK


async def test_ask_gives_up_with_exit_3_on_broken_frames_in_a_row() -> None:
    with pytest.raises(NetworkError, match="broken frame") as info:
        await ask_through("malformed-every=3", QUESTION)
    assert info.value.exit_code == ExitCode.NETWORK


QUESTION_SPOKEN = "what is the weather like in london today"


@pytest.mark.parametrize("fault", [
    "drop-after=4,connections=1",  # during the interim transcripts: mid-utterance
    "close-after=40:1011,connections=1",  # mid-reply (audio frames)
    "goaway-after=1.0:1.5,connections=1",  # while speaking; rotated when nearly spent
])
async def test_talk_keeps_every_utterance_once(fault: str) -> None:
    async with local_server(faults=FaultPlan.parse(fault)) as url:
        mic = FeedMicrophone()
        async with Talk(url, TalkOptions(), mic) as talk:
            mic.say(spoken(QUESTION_SPOKEN))
            first = await talk.wait_for(lambda e: e["type"] == "turn", within_s=40)
            mic.say(spoken("hello there"))
            await talk.wait_for(lambda e: e["type"] == "turn" and "hello" in said(e["user"]),
                                within_s=40)
    turns = talk.turns()
    assert len(turns) == 2, turns  # no utterance lost, none doubled
    heard = said(first["user"])
    assert heard.count("london") == 1 and "hello" not in heard, first  # once, not joined twice
    assert echoes(first["model"], first["user"]), first  # whole
    assert "connection_lost" not in first
    assert any(e["type"] == "reconnected" for e in talk.events), fault


LONG = [("please open the window", "window"), ("turn on the kitchen light", "kitchen"),
        ("i would like a cup of coffee", "coffee")]


@pytest.mark.parametrize("fault", ["malformed-every=9,connections=2",
                                   "close-after=10:1001,connections=2"])
async def test_transcribe_keeps_every_segment_once(fault: str) -> None:
    config = ServerConfig(host="127.0.0.1", port=0, pace=0.0, faults=FaultPlan.parse(fault))
    async with await start_server(config) as server:
        settings = load_settings({"backend": "gemini", "base_url": server.url,
                                  "max_reconnects": 8, "model": "gemini-3.5-transcribe-live"},
                                 config_path=None)
        audio = spoken_sentences([s for s, _ in LONG], gap_ms=900)
        transcript = await transcribe_at(build_endpoint(settings), settings, audio.pcm,
                                         TranscribeOptions())
    texts = [s.text for s in transcript.segments]
    assert len(texts) == len(LONG), texts
    assert all(word in text for text, (_, word) in zip(texts, LONG, strict=True)), texts
    assert transcript.restarts >= 1


@pytest.mark.parametrize("fault", ["drop-after=5,connections=3", "malformed-every=5,connections=3",
                                   "close-after=5:1001,connections=3"])
async def test_batch_answers_every_job_once(tmp_path: Path, fault: str) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(f'{{"id": "q{i}", "text": "question number {i}"}}\n'
                            for i in range(6)))
    config = ServerConfig(host="127.0.0.1", port=0, pace=0.0, faults=FaultPlan.parse(fault))
    async with await start_server(config) as server:
        settings = Settings.of(backend="gemini", base_url=server.url, response="text",
                               model=TEXT_MODEL, reply_timeout_s=15.0)
        summary = await run_batch(settings, jobs, tmp_path / "out", jobs=3, max_attempts=4,
                                  backoff_base_s=0.01, backoff_cap_s=0.05)
    got = read_records(tmp_path / "out" / "results.jsonl")
    assert (summary.ok, summary.failed, summary.exit_code) == (6, 0, ExitCode.OK)
    assert Counter(r["id"] for r in got) == {f"q{i}": 1 for i in range(6)}
    for record in got:
        number = str(record["id"])[1:]
        assert record["text"] == f"You said: question number {number}.", record


async def test_transcribe_keeps_what_it_finished_and_says_where_it_stopped() -> None:
    """Every connection dies after 12 frames: the short first utterance fits, the long second
    never does; the first segment is kept and the error says where it stopped."""
    from voicecli.transcribe import TranscriptionStopped

    fault = "close-after=12:1011"
    config = ServerConfig(host="127.0.0.1", port=0, pace=0.0, faults=FaultPlan.parse(fault))
    async with await start_server(config) as server:
        settings = load_settings({"backend": "gemini", "base_url": server.url,
                                  "max_reconnects": 2, "model": "gemini-3.5-transcribe-live"},
                                 config_path=None)
        audio = spoken_sentences(["open the window", "turn on the kitchen light and the lamp "
                                  "by the window in the hall and the one upstairs"], gap_ms=900)
        with pytest.raises(TranscriptionStopped) as info:
            await transcribe_at(build_endpoint(settings), settings, audio.pcm,
                                TranscribeOptions())
    stopped = info.value
    assert stopped.exit_code == ExitCode.NETWORK
    assert [("window" in s.text) for s in stopped.transcript.segments] == [True]
    assert "stopped at" in str(stopped) and stopped.stopped_at_s > 0


async def test_transcribe_gives_up_within_15_s_on_a_server_that_never_answers() -> None:
    import time

    import websockets

    async def silent(ws: websockets.ServerConnection) -> None:
        await ws.wait_closed()  # accepts the upgrade, never answers setup

    async with websockets.serve(silent, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        settings = load_settings({"backend": "gemini", "base_url": f"http://127.0.0.1:{port}",
                                  "model": "gemini-3.5-transcribe-live"}, config_path=None)
        audio = spoken_sentences(["please open the window"], gap_ms=900)
        started = time.monotonic()
        with pytest.raises(NetworkError):
            await transcribe_at(build_endpoint(settings), settings, audio.pcm,
                                TranscribeOptions())
    assert time.monotonic() - started <= 15.5
