"""One accepted Live session: client messages in, model turns out (live-protocol.md §3, §5).

`ServedSession.handle` reacts to each client message without waiting on speech work: audio goes
through VAD at once (so barge-in is immediate, §5.3) and into the recogniser's bounded queue;
finished user turns queue up as prompts, answered one at a time by `Reply` tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from voicecli.protocol.messages import (
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    FunctionResponse,
    RealtimeInput,
    ToolResponse,
)
from voicecli.protocol.session import ServerSession
from voicecli.server.engines.interface import (
    CallTools,
    Engine,
    Prompt,
    ToolResult,
    ToolResults,
    Turn,
    UserText,
)
from voicecli.server.engines.translate import TranslationStandIn
from voicecli.server.session.audio_in import (
    ASR_RATE,
    Began,
    Ended,
    InputAudio,
    InvalidArgument,
    Step,
    input_rate,
)
from voicecli.server.session.failure import log_failure
from voicecli.server.session.handles import HandleStore, Snapshot
from voicecli.server.session.hearing import Ears
from voicecli.server.session.outbox import Outbox
from voicecli.server.session.plan import SessionPlan, SessionSettings
from voicecli.server.session.reply import Reply
from voicecli.server.session.speech_io import session_voice
from voicecli.server.session.usage import history_tokens, trim_history

log = logging.getLogger("voicecli.server")

MAX_QUEUED_PROMPTS = 32


@dataclass
class Queued:
    prompt: Prompt
    heard_s: float = 0.0
    recorded: bool = False  # already in the history (clientContent turns, §3.2)
    first_index: int = 0  # the first client message it is made of (§4.6, transparent)


class ServedSession:
    def __init__(
        self,
        plan: SessionPlan,
        *,
        config: SessionSettings,
        store: HandleStore,
        engine: Engine,
        proto: ServerSession,
        outbox: Outbox,
        session_id: str,
    ) -> None:
        self.plan = plan
        self.session_id = session_id  # for the log
        self.config = config
        self.store = store
        self.engine = engine
        self.proto = proto
        self.outbox = outbox
        self.conversation = plan.conversation
        self.output_transcription = plan.output_transcription
        translate_to = self.conversation.translate_to  # a translation session speaks the target
        self.voice = session_voice(config.tts, self.conversation.voice,
                                   translate_to or self.conversation.language)
        if translate_to is not None:
            self.engine = TranslationStandIn(self._spoken_language())
        self.seeding = plan.seeding  # historyConfig: clientContent seeds until turnComplete
        self._images = 0  # images received since the last turn began (usage, §4.7)
        self.input = InputAudio(plan.aad)
        self.ears = Ears(self.conversation.language, self._heard, self._transcript,
                         engine=config.asr, model=config.asr_model)
        self.prompts: asyncio.Queue[Queued] = asyncio.Queue(MAX_QUEUED_PROMPTS)
        self.current: Reply | None = None
        self.pending: dict[str, CallTools] = {}  # call id → the request it belongs to
        self._answers: dict[str, ToolResult] = {}
        self.failed: BaseException | None = None
        # §4.6 transparent resumption: which client messages the state includes
        self.received = 0  # client messages so far on this connection (setup = 0)
        self._waiting: list[Queued] = []  # queued prompts not started yet
        self._current_first = 0  # first message of the prompt being answered
        self._speech_from: int | None = None  # first message of the utterance being heard
        self._unheard: deque[int] = deque()  # utterances ended, not recognised yet
        self._recent_audio: deque[tuple[int, int]] = deque(maxlen=256)  # (index, 16 kHz bytes)

    # ---- tasks ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Recognition and turn-taking; runs until cancelled."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.ears.run())
                group.create_task(self._turns())
        finally:
            self.close()

    def close(self) -> None:
        """Give back the native parts (VAD detector, recogniser) for the next session.
        Idempotent; the connection calls it too, in case `run` never started."""
        self.input.close()
        self.ears.close()

    async def _turns(self) -> None:
        try:
            while True:
                queued = await self.prompts.get()
                if queued in self._waiting:
                    self._waiting.remove(queued)
                self._current_first = queued.first_index
                task = self._start(queued).task
                assert task is not None  # _start started it
                await asyncio.wait({task})
                self.current = None
        finally:
            if self.current is not None and self.current.task is not None:
                self.current.task.cancel()

    def _start(self, queued: Queued) -> Reply:
        prompt = queued.prompt
        if isinstance(prompt, UserText) and not queued.recorded:
            self.conversation.history.append(Turn("user", prompt.text))
        self._compress()
        reply = Reply(self, prompt, queued.heard_s)
        reply.task = asyncio.create_task(self._reply(reply))
        self.current = reply
        return reply

    async def _reply(self, reply: Reply) -> None:
        try:
            await reply.run()
        except asyncio.CancelledError:
            pass  # barge-in (already reported by Reply.interrupt) or the end of the connection
        except Exception as exc:  # noqa: BLE001 - an engine bug must not kill the server
            log_failure(self.session_id, "reply failed", exc)
            self.failed = exc
            self.outbox.close(1011, "Internal error occurred.")

    # ---- client messages --------------------------------------------------------------------

    async def handle(self, msg: ClientMessage) -> None:
        """React to one client message (after setup). Raises `InvalidArgument` (close 1007)."""
        self.received += 1
        if isinstance(msg, RealtimeInput):
            await self._realtime(msg)
        elif isinstance(msg, ClientContent):
            self._client_content(msg)
        elif isinstance(msg, ToolResponse):
            self._tool_response(msg.function_responses or [])

    async def _realtime(self, msg: RealtimeInput) -> None:
        if self.conversation.translate_to and (msg.text is not None or msg.video is not None):
            raise InvalidArgument()  # live-translate input is audio only (§7.1)
        if msg.video is not None:
            self._image(msg.video.mime_type)
        steps: list[Step] = []
        if msg.audio is not None or msg.media_chunks or msg.activity_start is not None:
            self.ears.prepare()  # load the decoder before speech starts
        if msg.audio is not None:
            steps += self.input.audio(msg.audio)
        for chunk in (msg.media_chunks or [])[:1]:  # §3.3: all but the first are ignored
            if (chunk.mime_type or "audio/").startswith("audio/"):
                steps += self.input.audio(chunk)
        if msg.activity_start is not None:
            steps += self.input.activity_start()
        if msg.activity_end is not None:
            steps += self.input.activity_end()
        if msg.audio_stream_end:
            steps += self.input.stream_end()
        if msg.audio is not None:
            self._recent_audio.append((self.received, _bytes_16k(msg.audio)))
        for step in steps:
            self._mark_speech(step)
            if isinstance(step, Began) and self.plan.interrupts:
                self.interrupt()  # §5.3: start of user activity cuts the model off
            await self.ears.put(step)
        if msg.text is not None:
            if self.plan.interrupts:
                self.interrupt()
            self._queue(Queued(UserText(msg.text), first_index=self.received))

    def _client_content(self, msg: ClientContent) -> None:
        """§3.2: turns are appended in order; turnComplete generates now and interrupts.
        §3.1.11: while seeding (historyConfig), turns only fill the history, and turnComplete
        ends the seeding without a model call."""
        if self.plan.info.client_content == "none":
            raise InvalidArgument()  # live-translate / live-transcribe: no history (§7.1)
        if self.seeding:
            self._seed(msg)
            return
        if msg.turn_complete:
            self.interrupt()
        last_user = None
        for content in msg.turns or []:
            self._images_in(content)
            text = _text_of(content)
            role = "model" if content.role == "model" else "user"
            self.conversation.history.append(Turn(role, text))
            if role == "user":
                last_user = text
        if msg.turn_complete:
            if last_user is None:
                last_user = next(
                    (t.text for t in reversed(self.conversation.history) if t.role == "user"), ""
                )
            self._queue(Queued(UserText(last_user), recorded=True, first_index=self.received))

    def _seed(self, msg: ClientContent) -> None:
        for content in msg.turns or []:
            role = "model" if content.role == "model" else "user"
            self.conversation.history.append(Turn(role, _text_of(content)))
        if msg.turn_complete:
            self.seeding = False
            self.checkpoint(resumable=True)  # a handle that includes the seeded history

    def _image(self, mime_type: str | None) -> None:
        """§3.3: video frames are images (the SDK insists on image/*); they are counted, not
        seen: the engines are blind."""
        if not (mime_type or "").startswith("image/"):
            raise InvalidArgument()
        self._images += 1
        self.conversation.images_seen += 1

    def _images_in(self, content: Content) -> None:
        for part in content.parts or []:
            if part.inline_data is not None and (part.inline_data.mime_type or "").startswith(
                    "image/"):
                self._image(part.inline_data.mime_type)

    def take_images(self) -> int:
        """Images received since the last call: the next turn's IMAGE prompt tokens."""
        count, self._images = self._images, 0
        return count

    def _spoken_language(self) -> str | None:
        """The language the recogniser hears (pocketsphinx, Whisper *.en: English only)."""
        from voicecli.speech.asr import supports_language

        language = self.conversation.language
        if self.config.hears_english_only() and not supports_language(language):
            return "en"
        return language

    def _transcript(self, text: str, finished: bool) -> None:
        """§4.2: the recogniser's partial hypothesis as interimInputTranscription while the user
        speaks (each one the whole provisional text: pocketsphinx revises earlier words, and
        inputTranscription deltas cannot be taken back), then the final text as
        inputTranscription."""
        if not self.plan.input_transcription:
            return
        if finished and text:
            self.proto.send_input_transcription(text, finished=True)
        elif not finished:
            self.proto.send_interim_input_transcription(text)
        self.outbox.push()

    async def _heard(self, text: str, seconds: float) -> None:
        """The recogniser finished an utterance."""
        first = self._unheard.popleft() if self._unheard else self.received
        self._queue(Queued(UserText(text, spoken=True), heard_s=seconds, first_index=first))

    def _queue(self, queued: Queued) -> None:
        try:
            self.prompts.put_nowait(queued)
        except asyncio.QueueFull:
            log.debug("prompt dropped: %d prompts already waiting", self.prompts.qsize())
            return
        self._waiting.append(queued)

    def _mark_speech(self, step: Step) -> None:
        """Where each utterance starts in the client's messages (its pre-roll included)."""
        if isinstance(step, Began):
            self._speech_from = self._message_holding(len(step.preroll))
        elif isinstance(step, Ended):
            start = self._speech_from if self._speech_from is not None else self.received
            self._unheard.append(start)
            self._speech_from = None

    def _message_holding(self, preroll_bytes: int) -> int:
        """The audio message `preroll_bytes` of 16 kHz audio before the newest one began."""
        start = self.received
        for index, size in reversed(self._recent_audio):
            start = index
            preroll_bytes -= size
            if preroll_bytes <= 0:
                break
        return start

    def consumed_index(self) -> int:
        """§4.6 lastConsumedClientMessageIndex: the last client message whose effect is all in
        the state a handle made now stands for; input still being heard, queued or answered
        is not."""
        firsts = [q.first_index for q in self._waiting] + list(self._unheard)
        if self._speech_from is not None:
            firsts.append(self._speech_from)
        if self.current is not None and not self.current.ended:
            firsts.append(self._current_first)
        return min([self.received, *(first - 1 for first in firsts)])

    def interrupt(self) -> None:
        """Barge-in: end the current model turn now (§5.3)."""
        if self.current is not None:
            self.current.interrupt()

    # ---- tool calls (§5.5) ------------------------------------------------------------------

    def expect_results(self, request: CallTools) -> None:
        for call_id in request.ids:
            self.pending[call_id] = request

    def cancel_calls(self, ids: list[str]) -> None:
        """§4.4: report calls that will not be waited for any more."""
        live = [i for i in ids if self.pending.pop(i, None) is not None]
        if live:
            self.proto.send_tool_call_cancellation(live)
            self.outbox.push()

    def _tool_response(self, responses: list[FunctionResponse]) -> None:
        for response in responses:
            request = self.pending.get(response.id or "")
            if request is None:
                log.debug("function response for an unknown or cancelled call ignored")
                continue
            result = ToolResult(response.id or "", response.name or "", response.response or {})
            if not response.will_continue:
                del self.pending[result.id]
            if request.blocking:
                self._answer_blocking(request, result)
            else:
                self._answer_background(result, str(response.scheduling or "WHEN_IDLE"))
        if self.current is None and not self.pending:
            self.checkpoint(resumable=True)

    def _answer_blocking(self, request: CallTools, result: ToolResult) -> None:
        self._answers[result.id] = result
        if all(i in self._answers for i in request.ids) and not request.results.done():
            request.results.set_result([self._answers.pop(i) for i in request.ids])

    def _answer_background(self, result: ToolResult, scheduling: str) -> None:
        """§3.4: SILENT only informs; INTERRUPT cuts in; WHEN_IDLE waits for the current turn."""
        scheduling = scheduling.upper()
        if scheduling == "SILENT":
            return
        if scheduling == "INTERRUPT":
            self.interrupt()
        self._queue(Queued(ToolResults((result,))))

    # ---- bookkeeping for Reply ----------------------------------------------------------------

    def prompt_text(self) -> str:
        """What the model reads for a turn (for the usage estimate)."""
        return self.conversation.system_instruction + " ".join(
            t.text for t in self.conversation.history
        )

    def busy(self) -> bool:
        """A reply, a tool call or a queued turn is under way: the client is waiting on us."""
        return self.current is not None or bool(self.pending) or not self.prompts.empty()

    def turn_ended(self) -> None:
        self.checkpoint(resumable=not self.pending)

    def checkpoint(self, resumable: bool) -> None:
        """§4.6: a new handle when resuming here would lose nothing, else resumable false."""
        if not self.plan.resumption:
            return
        if resumable:
            snapshot = Snapshot(self.plan.model, tuple(self.conversation.history))
            consumed = self.consumed_index() if self._transparent() else None
            self.proto.send_resumption_update(self.store.issue(snapshot), True, consumed)
        else:
            self.proto.send_resumption_update(None, False)
        self.outbox.push()

    def _transparent(self) -> bool:
        """§3.1.7: the setup asked for lastConsumedClientMessageIndex (Vertex)."""
        config = self.proto.setup.session_resumption if self.proto.setup else None
        return bool(config and config.transparent)

    def _compress(self) -> None:
        """§3.1.8 sliding window, before running a turn."""
        if self.plan.compression is None:
            return
        trigger, target = self.plan.compression
        conv = self.conversation
        before = history_tokens(conv.history, conv.system_instruction)
        conv.history = trim_history(conv.history, trigger, target, conv.system_instruction)
        if history_tokens(conv.history, conv.system_instruction) < before:
            log.debug("context compressed from %d tokens", before)


def _bytes_16k(blob: Blob) -> int:
    """How much 16 kHz PCM16 an audio message holds (§6: the rate is in the MIME type)."""
    return len(blob.data or b"") * ASR_RATE // input_rate(blob.mime_type)


def _text_of(content: Content) -> str:
    return " ".join(p.text for p in content.parts or [] if p.text)
