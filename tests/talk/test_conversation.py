"""`run_talk` against the real local server over loopback WebSockets, with device stand-ins.

The microphone is an ArrayMicrophone fed espeak speech at 1× and the speaker a NullSpeaker that
consumes at 1×; everything else is real: the Live protocol, the server's VAD, ASR and TTS, the
conversation's tasks, the keys (through a real pseudo-terminal) and the files it writes.
(The same conversation on real PulseAudio devices and a real terminal: tests/e2e.)
"""

from __future__ import annotations

import asyncio
import io
import os
import pty
import re
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.speechgen import speech_pcm16
from tests.wer import normalize
from voicecli.audio.fakes import ArrayMicrophone, NullSpeaker
from voicecli.errors import AudioDeviceError
from voicecli.server import FaultPlan, ServerConfig, start_server
from voicecli.settings import Settings
from voicecli.talk.keys import KeyReader
from voicecli.talk.options import TalkOptions
from voicecli.talk.run import TalkResult, run_talk

QUESTION = "what is the weather like in london today"
THANKS = "thank you very much"  # Whisper tiny.en hears "hello there" as "hello mayor"


def echoed(heard: str) -> str:
    """The echo assistant's rendering of what was heard: its words, punctuation dropped."""
    return " ".join(re.findall(r"[\w']+", heard))
SILENCE_1S = bytes(32000)


class FeedMicrophone(ArrayMicrophone):
    """An ArrayMicrophone you can speak into while it runs: `say(pcm)` is heard next."""

    def __init__(self, chunk_ms: int = 20) -> None:
        super().__init__(b"", chunk_ms=chunk_ms)

    def say(self, pcm16: bytes) -> None:
        served = self._data[: self._pos]
        served += bytes(self._pos - len(served))  # the silence already served
        self._data = served + bytes(pcm16)


class Talk:
    """One conversation in the background; `events` collects its NDJSON stream."""

    def __init__(self, url: str, options: TalkOptions, mic: ArrayMicrophone,
                 keys: bool = False) -> None:
        self.settings = Settings.of(base_url=url)
        self.options, self.mic, self.speaker = options, mic, NullSpeaker()
        self.events: list[dict[str, Any]] = []
        self.stop = asyncio.Event()
        self.result: TalkResult | None = None
        self._keys = keys
        self._task: asyncio.Task[TalkResult] | None = None
        self.master = -1
        self.run_kwargs: dict[str, Any] = {}  # more run_talk arguments (tools=, console=)

    async def __aenter__(self) -> Talk:
        stdin = None
        if self._keys:  # a real terminal for the key reader
            self.master, slave = pty.openpty()
            stdin = os.fdopen(slave, "r")
        self._task = asyncio.create_task(self._run(stdin))
        await self.wait_for(lambda e: e["type"] == "setup_complete")
        return self

    async def _run(self, stdin: Any) -> TalkResult:
        async with self.mic, self.speaker:
            if stdin is None:
                return await run_talk(self.settings, self.options, emit=self.events.append,
                                      mic=self.mic, speaker=self.speaker, read_keys=False,
                                      stop=self.stop, **self.run_kwargs)
            with stdin:
                return await _run_with_terminal(self, stdin)

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self._task is not None
        self.result = await asyncio.wait_for(self._task, 10)
        if self.master >= 0:
            os.close(self.master)

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    async def wait_for(self, match: Callable[[dict[str, Any]], bool],
                       within_s: float = 20.0) -> dict[str, Any]:
        async with asyncio.timeout(within_s):
            while True:
                if self._task is not None and self._task.done():
                    self._task.result()  # raise what ended it
                    raise AssertionError(f"talk ended early; events: {self.events}")
                for event in self.events:
                    if match(event):
                        return event
                await asyncio.sleep(0.02)

    def turns(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "turn"]


async def _run_with_terminal(talk: Talk, stdin: Any) -> TalkResult:
    import voicecli.talk.run as run_module

    original = run_module.KeyReader
    run_module.KeyReader = lambda: KeyReader(stdin)  # type: ignore[assignment,misc]
    try:
        return await run_talk(talk.settings, talk.options, emit=talk.events.append,
                              mic=talk.mic, speaker=talk.speaker, stop=talk.stop,
                              **talk.run_kwargs)
    finally:
        run_module.KeyReader = original  # type: ignore[misc]


@asynccontextmanager
async def local_server(**config: Any) -> AsyncIterator[str]:
    async with await start_server(ServerConfig(port=0, **config)) as server:
        yield server.url


def spoken(text: str, pause_s: float = 2.0) -> bytes:
    return speech_pcm16(text) + bytes(int(32000 * pause_s))


def said(text: str) -> str:
    """The words of a transcript or reply, lower case, without punctuation: Whisper writes
    "London today?", the echo brain answers "London today." (server/echo.py)."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def echoes(reply: str, user: str) -> bool:
    """The echo brain's reply is `You said: <the user's words>.` and nothing else: whole."""
    return said(reply) == f"you said {said(user)}"


async def test_a_spoken_question_is_answered_aloud_and_timed(tmp_path: Path) -> None:
    options = TalkOptions(record_dir=tmp_path / "rec", transcript=tmp_path / "t.md")
    async with local_server() as url:
        mic = ArrayMicrophone(SILENCE_1S + spoken(QUESTION))
        async with Talk(url, options, mic) as talk:
            turn = await talk.wait_for(lambda e: e["type"] == "turn")
            heard = talk.speaker.heard
    # Whisper hears the question word for word, and the reply echoes exactly that
    assert normalize(turn["user"]) == QUESTION.split(), turn["user"]
    assert turn["model"].startswith(f"You said: {echoed(turn['user'])}.")
    assert turn["interrupted"] is False
    assert 0 < turn["latency_ms"] < 5000  # end of speech → first reply sample heard
    assert len(heard) > 24000 * 2  # more than a second of reply reached the speaker
    statuses = [e["status"] for e in talk.events if e["type"] == "status"]
    assert statuses[:3] == ["you're speaking", "thinking", "speaking"]
    assert talk.result is not None and talk.result.turns == 1
    text = (tmp_path / "t.md").read_text()
    assert f"**You:** {turn['user']}" in text and "**Gemini:** You said:" in text
    assert (tmp_path / "rec" / "transcript.md").read_text().count("**Gemini:**") == 1
    with wave.open(str(tmp_path / "rec" / "mic.wav")) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000 * 3
    events = (tmp_path / "rec" / "events.jsonl").read_text().splitlines()
    assert any('"type":"turn"' in line for line in events)


async def test_speaking_over_a_reply_cuts_it_off() -> None:
    long_question = ("please tell me about the weather in london and paris and berlin "
                     "and rome today")
    async with local_server() as url:
        mic = FeedMicrophone()
        async with Talk(url, TalkOptions(), mic) as talk:
            mic.say(spoken(long_question, pause_s=0.2))
            await talk.wait_for(lambda e: e["type"] == "status" and e["status"] == "speaking")
            await asyncio.sleep(1.0)  # well into the reply
            mic.say(spoken("stop", pause_s=3.0))
            await talk.wait_for(lambda e: e["type"] == "interrupted")
            first = await talk.wait_for(lambda e: e["type"] == "turn")
            buffered_after_flush = talk.speaker.buffered_ms
            second = await talk.wait_for(lambda e: e["type"] == "turn" and e is not first)
    assert first["interrupted"] is True
    assert 0 < first["heard_ms"] < first["received_ms"]  # cut off part-way
    assert buffered_after_flush == 0
    assert talk.speaker.stats.flushes == 1
    assert normalize(second["user"]) == ["stop"] and second["interrupted"] is False


async def test_no_barge_in_lets_the_reply_finish() -> None:
    async with local_server() as url:
        mic = FeedMicrophone()
        async with Talk(url, TalkOptions(barge_in=False), mic) as talk:
            mic.say(spoken("tell me about the weather in london and paris", pause_s=0.2))
            await talk.wait_for(lambda e: e["type"] == "status" and e["status"] == "speaking")
            mic.say(spoken("stop", pause_s=2.0))
            first = await talk.wait_for(lambda e: e["type"] == "turn")
    assert first["interrupted"] is False
    assert not any(e["type"] == "interrupted" for e in talk.events)


async def test_mute_stops_sending_and_typing_sends_text() -> None:
    async with local_server() as url:
        mic = FeedMicrophone()
        async with Talk(url, TalkOptions(), mic, keys=True) as talk:
            talk.press("m")
            await asyncio.sleep(0.2)
            mic.say(spoken(QUESTION))
            await asyncio.sleep(4.0)
            assert talk.turns() == [], "a muted mic must not reach the service"
            talk.press("m")
            talk.press("thello there\r")
            typed = await talk.wait_for(lambda e: e["type"] == "turn")
    assert typed["typed"] is True and typed["user"] == "hello there"
    assert "hello there" in typed["model"]


async def test_push_to_talk_sends_one_manual_activity_with_preroll() -> None:
    async with local_server() as url:
        mic = FeedMicrophone()
        async with Talk(url, TalkOptions(ptt=True), mic, keys=True) as talk:
            mic.say(spoken(QUESTION, pause_s=0.5))
            await asyncio.sleep(0.25)  # the first word is already spoken: pre-roll keeps it
            talk.press(" ")
            await asyncio.sleep(3.2)
            assert talk.turns() == [], "no turn before the key is released (VAD is off)"
            talk.press(" ")
            turn = await talk.wait_for(lambda e: e["type"] == "turn")
    assert normalize(turn["user"]) == QUESTION.split(), turn["user"]  # the first word too


async def test_a_connection_lost_mid_reply_is_resumed_and_the_question_asked_again() -> None:
    # the first connection is closed with 1011 after its 60th frame (§5.9 close codes): the
    # reply is cut, the session resumes, the utterance goes out again (§5.6) and is answered
    # in full, in the same turn, marked once; the talk then goes on
    async with local_server(faults=FaultPlan.parse("close-after=60:1011,connections=1")) as url:
        mic = FeedMicrophone()
        async with Talk(url, TalkOptions(), mic) as talk:
            mic.say(spoken(QUESTION))
            await talk.wait_for(lambda e: e["type"] == "reconnected")
            try:
                first = await talk.wait_for(lambda e: e["type"] == "turn")
            except TimeoutError:
                print([e for e in talk.events if e["type"] not in ("audio", "status")])
                raise
            mic.say(spoken(THANKS))
            turn = await talk.wait_for(lambda e: e["type"] == "turn"
                                       and normalize(e["user"]) == THANKS.split())
    assert turn["model"].startswith("You said:") and turn["interrupted"] is False
    assert normalize(first["user"]) == QUESTION.split() and first.get("reply_cut") is True
    assert first["model"] == f"You said: {echoed(first['user'])}.", "the reply is whole"
    assert "connection_lost" not in first
    users = [normalize(t["user"]) for t in talk.turns()]
    assert users == [QUESTION.split(), THANKS.split()], users  # each utterance once
    assert talk.result is not None and talk.result.reconnects >= 1


async def test_goaway_rotates_the_connection_between_turns() -> None:
    # the server sends goAway 4 s into every connection (§4.5); the client moves to a new one
    async with local_server(connection_lifetime_s=4.0) as url:
        mic = FeedMicrophone()
        async with Talk(url, TalkOptions(), mic) as talk:
            await talk.wait_for(lambda e: e["type"] == "go_away")
            await talk.wait_for(lambda e: e["type"] == "reconnected")
            mic.say(spoken(THANKS))
            turn = await talk.wait_for(lambda e: e["type"] == "turn")
    assert normalize(turn["user"]) == THANKS.split() and turn["model"].startswith("You said:")


async def test_a_microphone_that_dies_ends_the_talk_with_a_device_error() -> None:
    async with local_server() as url:
        mic = FeedMicrophone()
        talk = Talk(url, TalkOptions(), mic)
        async with asyncio.timeout(10):
            with pytest.raises(AudioDeviceError, match="stopped: unplugged"):
                async with talk:
                    mic.fail("unplugged")
                    await asyncio.sleep(5)


async def test_the_silent_mic_notice_goes_once_speech_is_heard() -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=120, force_terminal=True, color_system=None)
    notice = "the microphone has given only digital silence"
    async with local_server() as url:
        mic = FeedMicrophone()  # zeros until it is spoken into: a muted mic, so far
        talk = Talk(url, TalkOptions(silent_mic_s=0.5), mic)
        talk.run_kwargs = {"console": console}
        async with talk:
            for _ in range(200):  # 10 s
                if notice in screen.getvalue():
                    break
                await asyncio.sleep(0.05)
            assert notice in screen.getvalue()
            mic.say(spoken(QUESTION))
            await talk.wait_for(lambda e: e.get("status") == "you're speaking")
            await asyncio.sleep(0.3)  # the next watch tick has seen the signal
            spoken_at = len(screen.getvalue())
            await asyncio.sleep(0.5)  # several redraws of the live region
            later = screen.getvalue()[spoken_at:]
    assert "● you're speaking" in later or "● thinking" in later
    assert notice not in later
