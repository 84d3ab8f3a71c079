"""The conversation: mic → wire, wire → speaker and screen, keys → controls.

Tasks in one TaskGroup (style-guide §5): `_capture` (mic chunks out), `_receive` (server events
in), `_watch` (device health, status, latency), `_keys`, and the UI task the caller adds. The
ViewState is changed only here, on the event loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

from voicecli.audio.echo_path import EchoPath
from voicecli.audio.interfaces import AudioInput, AudioOutput
from voicecli.audio.pcm import duration_ms, rms_dbfs
from voicecli.client.live import LiveSession, Reconnected, Reconnecting
from voicecli.client.ndjson import event_json
from voicecli.client.replies import error_text
from voicecli.protocol import events as ev
from voicecli.talk.counters import read_device_counters
from voicecli.talk.key_commands import KeyCommand, command_for, edit_typing
from voicecli.talk.keys import KeyReader
from voicecli.talk.latency import LatencyMeter
from voicecli.talk.options import TalkOptions
from voicecli.talk.push_to_talk import PttAction, PushToTalk
from voicecli.talk.record import Recording, TranscriptFile
from voicecli.talk.status import (
    MUTED_NOTICE,
    SilentMicNotice,
    go_away_notice,
    next_status,
    reconnected_notice,
    reconnecting_notice,
)
from voicecli.talk.tools import TalkTools
from voicecli.talk.transcript import cut_index, join_fragment
from voicecli.talk.turn_json import turn_json
from voicecli.tools import ToolUse
from voicecli.ui.state import Status, ViewState

VOICE_DBFS = -45.0  # a mic chunk louder than this counts as speech for status and latency
SPEECH_HOLD_S = 0.3  # "you're speaking" lingers this long after the last loud chunk
WATCH_PERIOD_S = 0.1  # device health, status and latency while something happens
WATCH_IDLE_PERIOD_S = 0.25  # idle listening: nothing changes but what the mic and wire say
# Idle listening (no voice for a while, nothing playing): the mic's audio goes out in batches of
# IDLE_BATCH_MS instead of one message per chunk, 8 messages a second instead of 50 (each costs
# an encode, a frame and a socket write on both ends). The first loud chunk goes out at once with
# the batch before it, so speech is not delayed; the idle wait outlasts the server VAD's end-of-
# speech silence, so the end of a turn is not delayed either.
# While you speak messages carry SPEECH_BATCH_MS (half the messages, none more than one chunk
# later), except that a loud chunk after a quiet one (an onset) goes out at once. While a reply
# plays and you are quiet, IDLE_BATCH_MS too: a barge-in is an onset, so it is not delayed, and
# no end of speech is pending.
SPEECH_BATCH_MS = 40
# While idle the mic also wakes the loop once per batch, not per chunk (Microphone.patience_ms);
# a block with a sample above WAKE_PEAK (the peak a chunk at VOICE_DBFS has at least) ends the wait.
IDLE_AFTER_S = 2.0
# Whatever the mode, chunks that arrived together (one 60 ms PortAudio block holds three) go out
# in one message: holding the first for the second delays nothing, and while a reply plays the
# mic's quiet audio takes 17 messages a second instead of 50. At most MAX_MESSAGE_MS in one.
MAX_MESSAGE_MS = 200
IDLE_BATCH_MS = 120  # two of the mic's 60 ms blocks (audio/opening.py MIC_BLOCK_MS): one wake-up
WAKE_PEAK = 10 ** (VOICE_DBFS / 20)
Emit = Callable[[dict[str, Any]], None]


class Quit(Exception):
    """Raised inside the TaskGroup to end the conversation; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Conversation:
    def __init__(self, live: LiveSession, state: ViewState, options: TalkOptions,
                 mic: AudioInput, speaker: AudioOutput | None, *,
                 emit: Emit | None = None, recording: Recording | None = None,
                 transcript: TranscriptFile | None = None,
                 echo: EchoPath | None = None, tools: ToolUse | None = None,
                 screen: bool = False) -> None:
        self.live, self.state, self.options = live, state, options
        self.mic, self.speaker, self.echo = mic, speaker, echo
        state.echo = echo.mode if echo is not None else "off"
        self._emit_json, self.recording, self.transcript = emit, recording, transcript
        self.quit_requested: asyncio.Event = asyncio.Event()
        self.quit_reason = "quit"
        self._dropping = False  # audio of an interrupted turn still arriving: not played
        self._last_voice_at = -math.inf
        self.latency = LatencyMeter()
        self.ptt = PushToTalk(tail_ms=options.ptt_tail_ms,
                              preroll_chunks=options.preroll_ms // options.chunk_ms)
        self._stream_end_due = False
        self._silent_notice = SilentMicNotice(options.silent_mic_s)
        self._voice_began_at: float | None = None  # first loud chunk not yet answered
        self._run_began_at = -math.inf  # first loud chunk of the current stretch of speech
        self._reasked = False  # the in-flight question went out again after a drop
        self._batch: list[bytes] = []  # idle listening: chunks not sent yet
        self._was_loud = False  # the chunk before this one was speech
        self._idle_after_s = max(IDLE_AFTER_S, (options.vad_silence_ms or 0) / 1000 + 0.5)
        self._events_wanted = emit is not None or recording is not None
        live.defer_rotation = self._user_busy  # a goAway waits until you finish speaking
        live.utterance_since = self._utterance_since  # its audio is kept for a replay
        self.tools = TalkTools(state, self.emit)
        self._tool_use, self._screen = tools or ToolUse(), screen

    # ---- running ---------------------------------------------------------------------------

    def start(self, tg: asyncio.TaskGroup, keys: KeyReader | None) -> None:
        """Start the tasks; the session is already set up (LiveSession took setupComplete)."""
        self.emit(event_json(self.live.setup_complete))
        self.emit({"type": "echo", "mode": self.state.echo})
        self.state.status = Status.LISTENING
        asking = self._screen and keys is not None and keys.active  # someone to confirm calls
        self.tools.attach(self.live, self._tool_use, self.live.model, interactive=asking)
        tg.create_task(self._capture())
        tg.create_task(self._receive())
        tg.create_task(self._watch())
        tg.create_task(self._until_quit())
        if keys is not None and keys.active:
            tg.create_task(self._keys(keys))

    def request_quit(self, reason: str) -> None:
        self.quit_reason = reason
        self.quit_requested.set()

    async def _until_quit(self) -> None:
        await self.quit_requested.wait()
        raise Quit(self.quit_reason)

    def finish(self) -> None:
        """Flush what the user made: the live turn goes to the transcript, marked partial."""
        turn = self.state.turn
        if self.transcript is not None:
            self.transcript.add_turn(turn, partial=True)
        if self.recording is not None:
            self.recording.transcript.add_turn(turn, partial=True)
        self.state.status = Status.CLOSED

    # ---- mic → wire ------------------------------------------------------------------------

    async def _capture(self) -> None:
        while True:
            chunk = await self.mic.read_chunk()
            now = time.monotonic()
            if self.echo is not None:  # what the service hears: the reply's echo removed
                chunk = self.echo.process(chunk, self.mic.chunk_captured_at)
                self.state.mic_dbfs = rms_dbfs(chunk)
            else:
                self.state.mic_dbfs = self.mic.level_dbfs
            if self.state.mic_dbfs > VOICE_DBFS and not self.state.muted:
                quiet_before = now - self._last_voice_at > SPEECH_HOLD_S
                if quiet_before:
                    self._run_began_at = now
                if self._voice_began_at is None:
                    self._voice_began_at = now
                self._last_voice_at = now
                self.latency.spoke(now)
                if quiet_before:  # "you're speaking" at once, not at the next (idle) watch
                    self._update_status(now)
            if self.recording is not None:
                self.recording.add_mic(chunk, now)
            await self._send_chunk(chunk, now)

    async def _send_chunk(self, chunk: bytes, now: float) -> None:
        if self._stream_end_due:  # muted: tell the service the stream paused (§5.3)
            self._stream_end_due = False
            await self.live.send_audio_stream_end()
        if self.state.muted:
            self._batch.clear()
            return
        if not self.options.ptt:
            await self._send_listening(chunk, now)
            return
        await self._push_to_talk(chunk, now)

    async def _send_listening(self, chunk: bytes, now: float) -> None:
        """One message per chunk, or per mic block (MAX_MESSAGE_MS); while you speak one per
        SPEECH_BATCH_MS, while idle one per IDLE_BATCH_MS (see there). What is held back goes
        out with the next chunk sent."""
        batch_ms = self._batch_ms(now)
        self._set_patience(batch_ms, wake=not self._was_loud)  # in a dip, an onset wakes it
        self._batch.append(chunk)
        held_ms = len(self._batch) * self.options.chunk_ms
        if held_ms < batch_ms:
            return
        if self.mic.chunk_ready and held_ms < MAX_MESSAGE_MS:
            return  # the rest of the mic's block is here already: it goes in this message
        audio = self._batch[0] if len(self._batch) == 1 else b"".join(self._batch)
        self._batch = []
        await self.live.send_audio(audio)

    def _batch_ms(self, now: float) -> int:
        """How much audio one message carries now: 0 (this chunk, and what is held, at once)."""
        was_loud = self._was_loud
        if self._idle(now):
            self._was_loud = False
            return IDLE_BATCH_MS
        loud = self._was_loud = self._last_voice_at == now
        if loud and not was_loud:
            return 0  # an onset (speech, a syllable after a dip) goes out at once
        if now - self._last_voice_at < SPEECH_HOLD_S:
            return SPEECH_BATCH_MS  # speech going on
        if self.speaker is not None and self.speaker.buffered_ms > 0:
            return IDLE_BATCH_MS  # a reply plays: nothing waits on the quiet mic (onsets: at once)
        return 0

    def _set_patience(self, ms: float, *, wake: bool) -> None:
        """Let a mic that can (capture.Microphone) wake the loop once per ``ms``, not per chunk;
        ``wake``: a loud block ends the wait early (an onset after quiet)."""
        self.mic.patience_ms = ms
        self.mic.wake_peak = WAKE_PEAK if wake else math.inf

    def _idle(self, now: float) -> bool:
        playing = self.speaker is not None and self.speaker.buffered_ms > 0
        return not playing and now - self._last_voice_at >= self._idle_after_s

    async def _push_to_talk(self, chunk: bytes, now: float) -> None:
        """Manual activity (§5.4): activityStart, pre-roll, audio, a short tail, activityEnd."""
        for action in self.ptt.on_chunk(now):  # voicecli/talk/push_to_talk.py: the table
            if action is PttAction.START:
                self.state.ptt_talking = True
                await self.live.send_activity_start()
                for held in self.ptt.take_preroll():
                    await self.live.send_audio(held)
                self._begin_user_turn()
            elif action is PttAction.KEEP:
                self.ptt.keep(chunk)
            elif action is PttAction.SEND:
                await self.live.send_audio(chunk)
            elif action is PttAction.END:
                self.state.ptt_talking = False
                await self.live.send_activity_end()
                self.latency.speech_ended(now)

    def _begin_user_turn(self) -> None:
        if self.state.turn.model:  # a new question after a finished reply starts a new turn
            self._finish_turn()

    def _user_busy(self) -> bool:
        return self.state.ptt_talking or time.monotonic() - self._last_voice_at < SPEECH_HOLD_S

    def _utterance_since(self) -> float | None:
        """When what you said and has no complete reply yet began (pre-roll included): that
        audio must reach a resumed connection again (client/journal.py)."""
        if self._voice_began_at is None:
            return None
        return self._voice_began_at - self.options.preroll_ms / 1000

    # ---- wire → speaker and screen ------------------------------------------------------------

    async def _receive(self) -> None:
        async for event in self.live.events():
            if self._events_wanted:  # no NDJSON built for nobody (the live screen, no --record)
                self.emit(event_json(event))
            await self._handle(event)
        self.request_quit("the server ended the session")

    async def _handle(self, event: object) -> None:
        state = self.state
        if self.tools.handle(event):  # tool calls run in tasks of their own: audio plays on
            return
        match event:
            case ev.SetupComplete():
                state.status = Status.LISTENING
            case ev.InterimInputTranscript(text=text):
                self._begin_user_turn()
                state.turn.user_interim = text
            case ev.InputTranscript(text=text):
                self._begin_user_turn()
                if self._reasked and not state.turn.typed:  # the same utterance, heard again
                    state.turn.user, self._reasked = "", False
                state.turn.user = join_fragment(state.turn.user, text)
                state.turn.user_interim = ""
            case ev.ModelAudio(data=data, rate=rate):
                self._on_audio(data, rate)
            case ev.ModelText(text=text) | ev.OutputTranscript(text=text) if not self._dropping:
                self._note_reply_start()
                state.turn.model = join_fragment(state.turn.model, text)
            case ev.Thought(text=text) if not self._dropping:
                state.turn.thoughts += text  # shown dimmed; not part of the reply (§4.2)
            case ev.Interrupted():
                self._on_interrupted()
            case ev.GenerationComplete():
                if self.speaker is not None:
                    self.speaker.end_of_turn()
            case ev.TurnComplete():
                self._on_turn_complete()
            case ev.Usage(usage=usage):
                self._on_usage(usage)
            case Reconnecting(reason=reason):
                state.status, state.notice = Status.RECONNECTING, reconnecting_notice(reason)
            case Reconnected():
                self._on_reconnected(event)
            case ev.GoAway(time_left_s=left):
                state.notice = go_away_notice(left)
            case ev.ServerErrorPayload():
                state.notice = f"server error: {error_text(event)}"

    def _on_audio(self, data: bytes, rate: int) -> None:
        ms = duration_ms(len(data), rate)
        if self._dropping:  # late audio of an interrupted turn is never played
            self.state.counters.late_audio_dropped_ms += ms
            return
        self._note_reply_start()
        self.state.turn.received_ms += ms
        if self.speaker is not None:
            self.speaker.play(data, rate)
            if self.state.status is not Status.SPEAKING:  # not at the next (idle) watch
                self._update_status(time.monotonic())
        if self.recording is not None:
            self.recording.add_speaker(data, time.monotonic())

    def _note_reply_start(self) -> None:
        turn = self.state.turn
        if turn.model or turn.received_ms:
            return
        text_latency = self.latency.reply_started(self._last_voice_at, time.monotonic(),
                                                  text_only=self.speaker is None)
        if text_latency is not None:  # text replies: at the first text
            turn.latency_ms = text_latency

    def _on_interrupted(self) -> None:
        turn = self.state.turn
        turn.interrupted = True
        if self.speaker is not None:
            turn.heard_ms = max(0.0, turn.received_ms - self.speaker.buffered_ms)
            self.speaker.flush()
        share = turn.heard_ms / turn.received_ms if turn.received_ms else 1.0
        turn.cut_at = cut_index(turn.model, share)
        self._dropping = True

    def _on_turn_complete(self) -> None:
        self._dropping = False
        self._reasked = False
        # answered: its audio is in the state; speech already going on is the next question
        self._voice_began_at = self._run_began_at if self._user_busy() else None
        if self.speaker is not None:
            self.speaker.end_of_turn()
            self.speaker.start_turn()  # after a flush, the next turn's audio is played again
        self._finish_turn()

    def _on_reconnected(self, event: Reconnected) -> None:
        state = self.state
        state.counters.reconnects += 1
        state.status = Status.LISTENING
        state.notice = reconnected_notice(resumed=event.resumed,
                                          dropped_audio_ms=event.dropped_audio_ms)
        self._dropping = False
        if event.reply_cut and event.replayed:
            self._restart_reply()
        elif event.reply_cut:
            self._on_connection_lost()
        elif event.replayed and self._utterance_unanswered():
            # heard but not answered when the connection went: its audio went out again
            # (§5.6), so its transcript comes again and replaces the first one, not joins it
            self._reasked = True

    def _utterance_unanswered(self) -> bool:
        turn = self.state.turn
        return bool(turn.user) and not turn.typed and not turn.model and not turn.received_ms

    def _restart_reply(self) -> None:
        """The question went out again (§5.6): its reply comes from the start, in this turn,
        which says once that it was cut (`reply_cut`)."""
        turn = self.state.turn
        turn.reply_cut, self._reasked = True, not turn.typed
        turn.model, turn.received_ms, turn.heard_ms, turn.cut_at = "", 0.0, 0.0, None
        turn.interrupted = False
        if self.speaker is not None:  # what was left of the cut reply is not played
            self.speaker.flush()
            self.speaker.start_turn()

    def _on_connection_lost(self) -> None:
        """A reply cut with no question to ask again: close the turn, marked, and let what is
        buffered play out."""
        if self.speaker is not None:
            self.speaker.end_of_turn()
            self.speaker.start_turn()
        if self.state.turn.model or self.state.turn.received_ms:
            self.state.turn.connection_lost = True
            self._finish_turn()

    def _finish_turn(self) -> None:
        self._update_latency()
        done = self.state.finish_turn()
        self.latency.turn_done()
        if not done.is_empty():
            self.emit(turn_json(done))
            if self.transcript is not None:
                self.transcript.add_turn(done)
            if self.recording is not None:
                self.recording.transcript.add_turn(done)

    def _on_usage(self, usage: Any) -> None:
        """§4.7: each report covers a turn; the session's tokens are their sum."""
        self.state.usage.add(usage)
        self.state.turn.usage.add(usage)

    # ---- health, status, latency ---------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            self.mic.raise_if_failed()
            if self.speaker is not None:
                self.speaker.raise_if_failed()
            self._update_latency()
            self._update_status(time.monotonic())
            self._update_counters()
            idle = self._idle(time.monotonic()) and self.state.status is Status.LISTENING
            await asyncio.sleep(WATCH_IDLE_PERIOD_S if idle else WATCH_PERIOD_S)

    def _update_latency(self) -> None:
        turn, speaker = self.state.turn, self.speaker
        if turn.latency_ms is not None or speaker is None:
            return
        latency = self.latency.heard(speaker.heard_at, received=bool(turn.received_ms))
        if latency is None:
            return
        turn.latency_ms = self.state.last_latency_ms = latency
        self.emit({"type": "latency", "ms": round(latency, 1)})

    def _update_status(self, now: float) -> None:
        state = self.state
        before = state.status
        playing = (self.speaker is not None and self.speaker.buffered_ms > 0
                   and not self._dropping)
        state.status = next_status(
            before, playing=playing,
            user_speaking=now - self._last_voice_at < SPEECH_HOLD_S or state.ptt_talking,
            thinking=self.latency.thinking(now))
        if state.status is not before:
            self.emit({"type": "status", "status": state.status.value})

    def _update_counters(self) -> None:
        read_device_counters(
            self.state.counters, self.mic.stats, self.mic.rate,
            speaker_stats=self.speaker.stats if self.speaker is not None else None,
            echo_stats=self.echo.stats if self.echo is not None else None)
        self.state.notice = self._silent_notice.update(self.state.notice, self.mic.stats)

    # ---- keys ---------------------------------------------------------------------------------

    async def _keys(self, keys: KeyReader) -> None:
        while True:
            key = await keys.get()
            if self.tools.key(key):  # a y/n question about a tool call is open
                continue
            if self.state.typing is not None:
                await self._typing_key(key)
            else:
                self._command_key(key)

    def _command_key(self, key: str) -> None:
        state = self.state
        command = command_for(key, typing_allowed=state.typing_allowed, ptt=self.options.ptt)
        if command is KeyCommand.QUIT:
            self.request_quit("quit")
        elif command is KeyCommand.MUTE:
            state.muted = not state.muted
            self._stream_end_due = state.muted
            state.notice = MUTED_NOTICE if state.muted else ""
        elif command is KeyCommand.TYPE:
            state.typing = ""
        elif command is KeyCommand.PUSH_TO_TALK:
            self.ptt.toggle()

    async def _typing_key(self, key: str) -> None:
        self.state.typing, message = edit_typing(self.state.typing or "", key)
        if message is not None:
            await self.send_typed(message)

    async def send_typed(self, text: str) -> None:
        """A typed message, sent as realtime text (§5.2): a user turn like speech."""
        self._begin_user_turn()
        self.state.turn.user = join_fragment(self.state.turn.user, text)
        self.state.turn.typed = True
        self.latency.asked(time.monotonic())
        await self.live.send_text(text)

    # ---- output -------------------------------------------------------------------------------

    def emit(self, obj: dict[str, Any] | None) -> None:
        """An NDJSON event out (--json) and into the recording (--record)."""
        if obj is None:
            return
        if self._emit_json is not None:
            self._emit_json(obj)
        if self.recording is not None:
            self.recording.add_event(obj)

