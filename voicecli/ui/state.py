"""What the talk screen shows, as plain data. Only event-loop code mutates it (style-guide §13)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from voicecli.client.usage import TokenTally


class Status(StrEnum):
    CONNECTING = "connecting"
    LISTENING = "listening"
    USER_SPEAKING = "you're speaking"
    THINKING = "thinking"
    SPEAKING = "speaking"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass
class ToolCallView:
    name: str
    args: str = ""
    result: str | None = None  # None while pending


@dataclass
class TurnView:
    """One exchange: what you said (or typed) and what came back."""

    user: str = ""
    user_interim: str = ""  # provisional words while you speak (interimInputTranscription)
    thoughts: str = ""  # the model's thought summaries (--show-thoughts, §4.2)
    typed: bool = False
    model: str = ""
    tools: list[ToolCallView] = field(default_factory=list)
    interrupted: bool = False
    cut_at: int | None = None  # index in `model` where the audio was cut (interrupted turns)
    heard_ms: float = 0.0
    received_ms: float = 0.0
    latency_ms: float | None = None  # end of your speech → first reply audio heard
    connection_lost: bool = False  # the connection failed before the reply was complete
    reply_cut: bool = False  # a drop cut the reply; the question was asked again (whole now)
    sources: list[tuple[str, str]] = field(default_factory=list)  # Google Search: (title, uri)
    code: list[tuple[str, str]] = field(default_factory=list)  # ("code PYTHON", source), …
    usage: TokenTally = field(default_factory=TokenTally)  # this turn's usage reports

    def is_empty(self) -> bool:
        return not (self.user or self.user_interim or self.model or self.tools or self.thoughts)


Usage = TokenTally  # token counts summed over usage reports, with the split by modality (§4.7)


@dataclass
class Counters:
    mic_dropped_ms: float = 0.0
    mic_overflows: int = 0
    underruns: int = 0
    reconnects: int = 0
    late_audio_dropped_ms: float = 0.0
    echo_erle_db: float | None = None  # echo removed while the reply plays (aec, gate)


@dataclass
class ViewState:
    status: Status = Status.CONNECTING
    where: str = ""  # model and backend, e.g. "gemini-3.8-live · local engine"
    muted: bool = False
    ptt: bool = False  # push-to-talk mode (manual activity detection)
    ptt_talking: bool = False
    barge_in: bool = True
    text_replies: bool = False
    echo: str = "off"  # echo handling in force: aec | gate | off
    mic_dbfs: float = -math.inf
    turn: TurnView = field(default_factory=TurnView)
    finished: list[TurnView] = field(default_factory=list)  # waiting to go to the scrollback
    typing: str | None = None  # the message being typed after `t`
    usage: Usage = field(default_factory=Usage)
    last_latency_ms: float | None = None
    counters: Counters = field(default_factory=Counters)
    notice: str = ""
    confirm: str | None = None  # a tool call waiting for y/n, e.g. "git_log(count=3)"
    scrollback: bool = True  # keep finished turns for the renderer (False: nobody draws them)
    labels: tuple[str, str] = ("You", "Gemini")  # translate: ("en", "es")
    typing_allowed: bool = True  # `t` (translate sessions take audio only)
    video: str | None = None  # the video source when one is on, e.g. "camera 0", "screen 1"
    video_frames: int = 0  # frames sent so far
    turns_done: int = 0

    def finish_turn(self) -> TurnView:
        """Move the live turn to the scrollback queue and start a new one."""
        done, self.turn = self.turn, TurnView()
        if not done.is_empty():
            self.turns_done += 1
            if self.scrollback:
                self.finished.append(done)
        return done

    def take_finished(self) -> list[TurnView]:
        done, self.finished = self.finished, []
        return done
