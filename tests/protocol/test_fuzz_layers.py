"""The fuzz test of test_fuzz.py carried through every layer: hostile server frames, sent by a real
peer on a loopback WebSocket (tests/hostile_peer.py), down to what the user sees.

Every documented server frame type (live-protocol.md §4) is mutated — a value anywhere replaced
by a lone surrogate, digits int() refuses, a wrong JSON type, an extreme — and sent as the reply
to `ask` (text and --json), `transcribe`, `batch` (the real CLI funnel, run in-process with a
strict UTF-8 stdout like a pipe's) and `talk` (the conversation with its NDJSON stream and the
screen drawn into a terminal console). Whatever arrives, each ends with a documented exit code
(or the typed error its library raises), one error line at most, output that encodes as UTF-8,
NDJSON that parses and that ends with an `error` event when the command failed.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile_peer import HOSTILE_VALUES, SERVER_FRAME_SAMPLES, HostilePeer, hostile_peer
from voicecli.audio.fakes import ArrayMicrophone, NullSpeaker
from voicecli.cli import main
from voicecli.cli.output import JsonLines
from voicecli.errors import VoicecliError
from voicecli.settings import Secret, Settings
from voicecli.talk.options import TalkOptions
from voicecli.talk.run import run_talk

LAYER_FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow,
                                             HealthCheck.function_scoped_fixture])
DOCUMENTED_EXITS = {0, 2, 3, 4, 5}  # README "Exit codes": never 1 (a bug) for a peer's frame

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
           | st.text(st.characters(codec=None), max_size=8) | st.sampled_from(HOSTILE_VALUES))
json_values = st.recursive(
    scalars, lambda kids: st.lists(kids, max_size=3)
    | st.dictionaries(st.text(max_size=5) | st.sampled_from(["text", "web", "uri", "\ud800"]),
                      kids, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a frame a value can be put: each key and list index, at any depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


@st.composite
def hostile_frame(draw: st.DrawFn) -> Any:
    """A documented frame with 1–3 values replaced (hostile ones first), or a key respelt."""
    name = draw(st.sampled_from(sorted(SERVER_FRAME_SAMPLES)))
    frame = json.loads(json.dumps(SERVER_FRAME_SAMPLES[name]))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(frame))
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent = frame
        for step in parent_path:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.integers(0, 9)) == 0:
            parent[draw(st.sampled_from(["\ud800", key + "\udfff"]))] = parent.pop(key)
        else:
            parent[key] = draw(st.sampled_from(HOSTILE_VALUES) | json_values)
    return frame


replies = st.lists(hostile_frame(), min_size=1, max_size=4)


@pytest.fixture(scope="module")
def peer() -> Iterator[HostilePeer]:
    with hostile_peer() as running:
        yield running


@pytest.fixture(scope="module")
def pushing_peer() -> Iterator[HostilePeer]:
    with hostile_peer(push=True) as running:
        yield running


class StrictStream(io.TextIOWrapper):
    """A pipe's stdout: UTF-8, strict, so text no UTF-8 can carry fails as it would for real."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


@contextmanager
def captured() -> Iterator[tuple[StrictStream, StrictStream]]:
    out, err = StrictStream(), StrictStream()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved


def run_cli(*args: str) -> tuple[int, str, str]:
    with captured() as (out, err):
        try:
            main(list(args))
        except SystemExit as done:
            code = int(done.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
    return code, out.text(), err.text()


def assert_handled(code: int, stderr: str, *, error_line: bool = True) -> None:
    """A documented code, no traceback, at most one error line (exactly one on failure, but
    batch, whose failures are in its summary and results)."""
    assert code in DOCUMENTED_EXITS, (code, stderr)
    assert "unexpected" not in stderr and "Traceback" not in stderr, stderr
    assert sum(line.startswith("voicecli: error:") for line in stderr.splitlines()) <= 1, stderr
    if code and error_line:
        assert "voicecli: error:" in stderr, stderr


def assert_ndjson(code: int, stdout: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in events), events
    if code:
        assert events and events[-1]["type"] == "error", events[-3:]
    return events


CONNECT = ("--base-url", "", "--api-key", "fuzz-key", "--timeout", "2")


def connect_args(peer: HostilePeer) -> tuple[str, ...]:
    return (CONNECT[0], peer.url, *CONNECT[2:])


@LAYER_FUZZ
@given(replies)
def test_ask_prints_or_fails_in_one_line(peer: HostilePeer, frames: list[Any]) -> None:
    peer.set_script(frames)
    code, stdout, stderr = run_cli("ask", *connect_args(peer), "What is the capital of France?")
    assert_handled(code, stderr)


@LAYER_FUZZ
@given(replies)
def test_ask_json_is_ndjson_ending_in_an_error_event(peer: HostilePeer, frames: list[Any]) -> None:
    peer.set_script(frames)
    code, stdout, stderr = run_cli("ask", "--json", *connect_args(peer), "Capital of France?")
    assert_handled(code, stderr)
    events = assert_ndjson(code, stdout)
    assert events[0]["type"] == "setup_complete"


@pytest.fixture(scope="module")
def utterance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tone burst between silences: one utterance for transcribe's splitter."""
    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    pcm = np.concatenate([np.zeros(8000, np.int16), tone, np.zeros(16000, np.int16)])
    path = tmp_path_factory.mktemp("audio") / "utterance.wav"
    sf.write(path, pcm, 16000, subtype="PCM_16")
    return path


@settings(LAYER_FUZZ, max_examples=15)
@given(replies, st.sampled_from(["text", "json", "srt"]))
def test_transcribe_writes_or_fails_in_one_line(peer: HostilePeer, utterance: Path,
                                                frames: list[Any], fmt: str) -> None:
    hostile = [{"serverContent": {"inputTranscription": {"text": "hello \ud800 there"}}}, *frames]
    peer.set_script(hostile)
    code, stdout, stderr = run_cli("transcribe", str(utterance), "-f", fmt, *connect_args(peer))
    assert_handled(code, stderr)
    if fmt == "json" and code == 0:
        json.loads(stdout)


@settings(LAYER_FUZZ, max_examples=15)
@given(replies)
def test_batch_records_every_job(peer: HostilePeer, tmp_path_factory: pytest.TempPathFactory,
                                 frames: list[Any]) -> None:
    peer.set_script(frames)
    work = tmp_path_factory.mktemp("batch")
    jobs = work / "jobs.jsonl"
    jobs.write_text('{"id": "q1", "text": "Capital of France?"}\n'
                    '{"id": "q2", "text": "And of Spain?"}\n')
    code, _, stderr = run_cli("batch", str(jobs), "--out", str(work / "out"), "--jobs", "2",
                              "--max-attempts", "1", "--response", "text",
                              "-m", "gemini-live-2.5-flash-preview", *connect_args(peer))
    assert_handled(code, stderr, error_line=False)
    results = [json.loads(line) for line in (work / "out" / "results.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in results) == ["q1", "q2"]
    assert all(r["status"] in ("ok", "error") for r in results), results


async def _talk(url: str) -> tuple[list[dict[str, Any]], str, BaseException | None]:
    """One talk session: NDJSON through the real writer, the screen into a terminal console."""
    from rich.console import Console

    ndjson, screen = StrictStream(), StrictStream()
    console = Console(file=screen, force_terminal=True, width=80, color_system="truecolor")
    stop = asyncio.Event()
    emit = JsonLines(ndjson)
    error: BaseException | None = None
    mic, speaker = ArrayMicrophone(bytes(32000 * 3)), NullSpeaker()

    async def stop_soon() -> None:
        await asyncio.sleep(1.0)
        stop.set()

    stopper = asyncio.create_task(stop_soon())
    try:
        async with mic, speaker:
            await run_talk(Settings.of(base_url=url, api_key=Secret("fuzz-key"), reply_timeout_s=4),
                           TalkOptions(), console=console, emit=emit, mic=mic, speaker=speaker,
                           read_keys=False, stop=stop)
    except VoicecliError as exc:  # typed: the CLI funnel turns it into one line and its code
        error = exc
    finally:
        stopper.cancel()
    events = [json.loads(line) for line in ndjson.text().splitlines()]
    return events, screen.text(), error


@settings(LAYER_FUZZ, max_examples=15)
@given(replies)
def test_talk_json_and_screen_survive(pushing_peer: HostilePeer, frames: list[Any]) -> None:
    pushing_peer.set_script(frames)
    events, screen, error = asyncio.run(_talk(pushing_peer.url))
    assert all(isinstance(e.get("type"), str) for e in events)
    if error is None:
        assert events[-1]["type"] == "summary", events[-3:]
    assert "\ud800" not in screen


# ---- one frame of each documented type, each with a hostile value, through the real process --


def test_every_frame_type_is_mutated() -> None:
    """The strategy draws from every §4 frame type (none forgotten when one is added)."""
    assert {"setupComplete", "toolCall", "toolCallCancellation", "goAway",
            "sessionResumptionUpdate", "usageMetadata", "voiceActivity",
            "voiceActivityDetectionSignal"} <= set(SERVER_FRAME_SAMPLES)
    content = {k for k in SERVER_FRAME_SAMPLES if k.split(".")[0] in {
        "modelTurn", "inputTranscription", "interimInputTranscription", "outputTranscription",
        "groundingMetadata", "urlContextMetadata", "interrupted", "generationComplete",
        "turnComplete"}}
    assert len(content) == 12
