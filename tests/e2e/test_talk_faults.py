"""The fault matrix's talk cases on the real virtual devices (issue 13): `voicecli talk` in a
subprocess on the PulseAudio virtual mic and speaker, `voicecli serve --fault …` in another,
speech made by the real TTS (tests/speechgen.py) played into the mic in real time.

Asserted is what the user keeps: every utterance in the history (NDJSON turns and the
--transcript file) exactly once, each reply whole, and a reply cut by the reconnect marked once.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.harness import client_env, default_sigint, local_server_process, speak
from tests.speechgen import speech_pcm16
from tests.talk.test_conversation import echoes, said

TALK = [sys.executable, "-m", "voicecli", "talk"]
QUESTION = "what is the weather like in london today"
LONG_QUESTION = ("please tell me about the weather in london and paris and berlin "
                 "and rome today")
FOLLOW_UP = "hello there"


class JsonTalk:
    """`voicecli talk` without a terminal: NDJSON events on stdout, read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[str] = queue.Queue()  # a thread reads: a silent talk cannot
        threading.Thread(target=self._read, daemon=True).start()  # hang the test

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put("")  # EOF

    def read_until(self, match: Any, within_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                break
            event = json.loads(line)
            self.events.append(event)
            if match(event):
                return event
        raise AssertionError(f"not seen within {within_s} s; events: {self._brief()}")

    def turns(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "turn"]

    def _brief(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] not in ("status", "output_transcript")]


@contextmanager
def talk_through(tmp_path: Path, env: dict[str, str], fault: str,
                 transcript: Path) -> Iterator[JsonTalk]:
    with local_server_process(client_env(tmp_path), tmp_path / "server.log",
                              extra_args=["--fault", fault]) as server:
        proc = subprocess.Popen([*TALK, "--transcript", str(transcript)],
                                env={**env, **server.env()}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                preexec_fn=default_sigint, text=True)
        talk = JsonTalk(proc)
        try:
            talk.read_until(lambda e: e["type"] == "setup_complete", within_s=30)
            yield talk
        finally:
            proc.send_signal(2)
            try:
                proc.wait(timeout=15)
            finally:
                if proc.poll() is None:
                    proc.kill()
            err = proc.stderr.read() if proc.stderr is not None else ""
            assert "Traceback" not in err, err
            assert proc.returncode == 130, err


def converse(talk: JsonTalk, env: dict[str, str], question: str) -> dict[str, Any]:
    """Say `question`, wait for its turn, say the follow-up, wait for that turn too."""
    speak(speech_pcm16(question), env)
    first = talk.read_until(lambda e: e["type"] == "turn", within_s=60)
    speak(speech_pcm16(FOLLOW_UP), env)
    talk.read_until(lambda e: e["type"] == "turn" and "hello" in said(e["user"]), within_s=60)
    return first


def assert_each_utterance_once(talk: JsonTalk, transcript: Path, keyword: str) -> None:
    users = [said(t["user"]) for t in talk.turns()]
    assert len(users) == 2, users  # none lost, none doubled
    assert users[0].count(keyword) == 1 and "hello" not in users[0], users
    assert users[1].count("hello") == 1, users
    first, second = talk.turns()
    assert echoes(first["model"], first["user"]), first  # whole
    # the server's history has the first utterance once too: this is turn 2, not 3
    assert said(second["model"]) == (f"you said {users[1]} this is turn 2 before that you "
                                     f"said {users[0]}"), second
    assert "connection_lost" not in first and "connection_lost" not in second
    text = transcript.read_text()
    you = re.findall(r"^\*\*You:\*\* (.*)$", text, flags=re.M)
    assert [said(line) for line in you] == users, text  # the history has each one once


def test_a_drop_mid_utterance_keeps_the_utterance_once(virtual_audio, tmp_path) -> None:
    # frames 1 setupComplete, 2 resumption, 3 the first interim transcript: the connection
    # drops (1006) while the question is still being spoken; its audio goes out again
    env = client_env(tmp_path, virtual_audio)
    transcript = tmp_path / "talk.md"
    with talk_through(tmp_path, env, "drop-after=3,connections=1", transcript) as talk:
        first = converse(talk, env, QUESTION)
    reconnected = [e for e in talk.events if e["type"] == "reconnected"]
    assert len(reconnected) == 1 and reconnected[0]["resumed"] is True, reconnected
    assert "reply_cut" not in reconnected[0] and "reply_cut" not in first, first
    assert_each_utterance_once(talk, transcript, "london")


def test_a_goaway_mid_reply_asks_again_and_marks_the_cut_once(virtual_audio, tmp_path) -> None:
    # goAway with timeLeft 1.5 s, 1 s into the reply's audio (however long the recogniser took
    # to start it): the client rotates 0.5 s later, mid-turn (client/live.py rotation_delay),
    # while the reply (~6 s of audio at real-time pace) is playing.
    env = client_env(tmp_path, virtual_audio)
    transcript = tmp_path / "talk.md"
    fault = "goaway-in-reply=1.0:1.5,connections=1"
    with talk_through(tmp_path, env, fault, transcript) as talk:
        first = converse(talk, env, LONG_QUESTION)
    kinds = [e["type"] for e in talk.events]
    assert "go_away" in kinds, talk.events
    reconnected = [e for e in talk.events if e["type"] == "reconnected"]
    assert len(reconnected) == 1 and reconnected[0].get("reply_cut") is True, reconnected
    assert first.get("reply_cut") is True, first  # marked once: on the turn it cut
    assert sum(1 for t in talk.turns() if t.get("reply_cut")) == 1
    assert_each_utterance_once(talk, transcript, "london")
    marks = transcript.read_text().count("the connection was lost mid-reply")
    assert marks == 1, transcript.read_text()
