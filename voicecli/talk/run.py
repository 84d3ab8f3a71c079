"""`run_talk`: the whole conversation, usable from Python without typer.

    result = asyncio.run(run_talk(load_settings(), TalkOptions(), console=Console()))

Order of events: refuse bad settings before touching anything; connect, and open the devices
once the setup is on the wire (voicecli.talk.connecting: a missing device closes the connection
and is the error; with the local engine, which has no network to overlap, or an ephemeral token,
whose uses are counted, the devices open first); then run the conversation until `q`, Ctrl-C,
SIGTERM, the server ending it, or an error. Every exit path closes the socket with 1000, restores
the terminal and flushes the transcript.

Only what the setup needs is imported with this module: numpy, PortAudio, Rich and the
conversation itself load after the setup is sent (tests/cli/test_startup.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from voicecli.audio.aec_extra import aec_available, aec_missing
from voicecli.audio.opening import open_microphone, open_speaker
from voicecli.client.backends import connect_options, open_endpoint, resolve_backend
from voicecli.client.history import resume_refused, send_seed
from voicecli.client.live import LiveSession
from voicecli.client.usage import TokenTally
from voicecli.errors import ServiceRefused, Several
from voicecli.settings import Settings, replace
from voicecli.talk.connecting import connect_then_open
from voicecli.talk.keys import KeyReader
from voicecli.talk.options import TalkOptions
from voicecli.talk.session_setup import talk_setup
from voicecli.talk.stderr import stderr_to_file
from voicecli.ui.state import Status, ViewState

if TYPE_CHECKING:
    from rich.console import Console

    from voicecli.audio.capture import Microphone
    from voicecli.audio.interfaces import AudioInput, AudioOutput
    from voicecli.audio.playback import Speaker
    from voicecli.protocol import Setup
    from voicecli.talk.conversation import Conversation, Emit
    from voicecli.talk.record import Recording, TranscriptFile
    from voicecli.tools import ToolUse
    from voicecli.ui.live import LiveView
    from voicecli.video.feed import VideoFeed
    from voicecli.video.sources import FrameSource


@dataclass
class TalkResult:
    reason: str  # "quit" (q), "interrupted" (Ctrl-C / SIGTERM), or why the server ended it
    turns: int
    reconnects: int
    duration_s: float = 0.0  # from setupComplete to the end
    usage: TokenTally = field(default_factory=TokenTally)  # the session's tokens (§4.7)
    resume_handle: str | None = None  # the latest resumable handle: `talk --resume` (§5.6)
    video_frames: int = 0

    def summary_json(self) -> dict[str, Any]:
        """The NDJSON `summary` event that ends `talk --json`."""
        return {"type": "summary", "reason": self.reason, "turns": self.turns,
                "duration_s": round(self.duration_s, 1), "reconnects": self.reconnects,
                "usage": self.usage.to_json(), "video_frames": self.video_frames,
                "resume_handle": self.resume_handle}


async def run_talk(settings: Settings, options: TalkOptions, *, console: Console | None = None,
                   emit: Emit | None = None, notify: Callable[[str], None] | None = None,
                   mic: AudioInput | None = None, speaker: AudioOutput | None = None,
                   read_keys: bool = True, stop: asyncio.Event | None = None,
                   tools: ToolUse | None = None,
                   video: FrameSource | None = None) -> TalkResult:
    """Talk until the user quits (or `stop` is set). `console` draws the live UI; `emit` gets
    NDJSON events; `mic`/`speaker` replace the default devices (voicecli.audio.fakes); `tools`
    are declared and run (confirmed on screen when `console` and the keys allow); `video`
    replaces the camera or screen of `options` (voicecli.video.sources)."""
    settings = replace(settings, response="text" if options.text else "audio")
    setup_options = dataclasses.replace(options.setup_options(),
                                        tools=tools.tools if tools else ())
    # Built once, from the settings, so that bad settings fail before a device opens; the
    # endpoint only names the model its way.
    setup, seed = talk_setup(settings, settings.model, options, setup_options)
    if options.echo == "aec" and not options.text and not aec_available():
        raise aec_missing()
    state = ViewState(ptt=options.ptt, barge_in=options.barge_in, text_replies=options.text,
                      where=_where(settings), scrollback=console is not None)
    if options.translation is not None:  # the translate view: source and target side by side
        state.labels, state.typing_allowed = options.translation.labels, False
    held_back: list[str] = []
    async with AsyncExitStack() as stack:
        if console is not None and console.is_terminal:
            stack.enter_context(stderr_to_file(held_back))
        view = _live_view(stack, console)
        painter = _start_painter(stack, view, state)
        say = _notifier(state, notify, view is not None)
        if tools is not None and tools.mcp_servers:  # MCP servers start with the session
            from voicecli.tools import session_tools

            tools = await stack.enter_async_context(session_tools(tools, say))
            setup_options = dataclasses.replace(setup_options, tools=tools.tools)
            setup, seed = talk_setup(settings, settings.model, options, setup_options)  # + theirs
        recording, transcript = _outputs(stack, options, settings)
        video = video or _video_source(stack, options)  # like the devices: fails before network
        live, mic, speaker = await _open_session(stack, settings, options, setup, say, mic,
                                                 speaker)
        started = time.monotonic()
        await send_seed(live, seed)  # --context: before any audio (§3.2)
        convo = _conversation(live, state, options, mic, speaker, emit=emit,
                              recording=recording, transcript=transcript, tools=tools,
                              screen=view is not None)
        if stop is not None:
            convo.quit_requested = stop
        feed = _video_feed(live, video, state, convo) if video is not None else None
        keys = stack.enter_context(KeyReader()) if read_keys else None
        reason = await _converse(convo, keys, painter, feed)
        state.counters.reconnects = live.reconnects
        result = TalkResult(reason=reason, turns=state.turns_done,
                            reconnects=state.counters.reconnects,
                            duration_s=time.monotonic() - started, usage=state.usage,
                            resume_handle=live.resumption_handle, video_frames=state.video_frames)
        convo.emit(result.summary_json())
    for line in held_back:
        (notify or print)(line)
    return result


async def _open_session(stack: AsyncExitStack, settings: Settings, options: TalkOptions,
                        setup: Setup, say: Callable[[str], None] | None,
                        mic: AudioInput | None, speaker: AudioOutput | None,
                        ) -> tuple[LiveSession, AudioInput, AudioOutput | None]:
    """The connected session and the devices (both closed by `stack`): the setup goes out
    first, the devices open while its answer is on the way (voicecli.talk.connecting); with
    the local engine or an ephemeral token (§1.1: its uses are counted) the devices open
    first, as they always did."""
    if resolve_backend(settings) == "local":  # no network to overlap: devices fail first
        mic, speaker = await _devices(stack, options, mic, speaker)
    endpoint = await stack.enter_async_context(open_endpoint(settings, say, pace=1.0))
    if endpoint.credential == "token":  # a missing device must not spend an ephemeral token's use
        mic, speaker = await _devices(stack, options, mic, speaker)
    session = LiveSession(endpoint, endpoint.address(setup), connect_options(settings))
    live, opened = await connect_then_open(
        session, lambda: _connect(session, options.resume),
        lambda: _devices(stack, options, mic, speaker))
    stack.push_async_exit(live)
    return live, *opened


async def _connect(session: LiveSession, resume: str | None) -> LiveSession:
    try:
        return await session.__aenter__()
    except ServiceRefused as exc:
        raise resume_refused(exc, resume) from None


async def _devices(stack: AsyncExitStack, options: TalkOptions, mic: AudioInput | None,
                   speaker: AudioOutput | None) -> tuple[AudioInput, AudioOutput | None]:
    """The microphone and speaker of `options`, unless given (or already open)."""
    if mic is None:
        opened = await stack.enter_async_context(_microphone(options))
        mic = opened
    if speaker is None and not options.text:
        speaker = await stack.enter_async_context(_speaker(options))
    return mic, speaker


def _conversation(live: LiveSession, state: ViewState, options: TalkOptions, mic: AudioInput,
                  speaker: AudioOutput | None, **parts: Any) -> Conversation:
    from voicecli.audio.echo_path import EchoPath
    from voicecli.talk.conversation import Conversation

    echo = EchoPath.for_devices(options.echo, mic, speaker,
                                noise_suppression=options.noise_suppression,
                                auto_gain_control=options.auto_gain_control)
    return Conversation(live, state, options, mic, speaker, echo=echo, **parts)


def _live_view(stack: AsyncExitStack, console: Console | None) -> LiveView | None:
    if console is None:
        return None
    from voicecli.ui.live import LiveView

    return stack.enter_context(LiveView(console))


def _video_source(stack: AsyncExitStack, options: TalkOptions) -> FrameSource | None:
    """The camera or screen, opened before connecting so a missing one fails first."""
    if not options.video_wanted:
        return None
    from voicecli.video.sources import open_source

    source = open_source(camera=options.camera, screen=options.screen)
    stack.callback(source.close)
    return source


def _video_feed(live: LiveSession, source: FrameSource, state: ViewState,
                convo: Conversation) -> VideoFeed:
    from voicecli.video.feed import VideoFeed

    state.video = source.label

    def sent(image: Any) -> None:
        state.video_frames += 1
        convo.emit({"type": "video_frame", "n": state.video_frames, "bytes": len(image.data),
                    "width": image.width, "height": image.height})

    return VideoFeed(live, source, on_frame=sent)


async def _converse(convo: Conversation, keys: KeyReader | None,
                    painter: asyncio.Task[None] | None, feed: VideoFeed | None = None) -> str:
    from voicecli.talk.conversation import Quit

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a graceful quit, not a cancelled task
        loop.add_signal_handler(sig, convo.request_quit, "interrupted")
    try:
        async with asyncio.TaskGroup() as tg:
            convo.start(tg, keys)
            if feed is not None:
                tg.create_task(feed.run())
            if painter is not None:
                tg.create_task(_watch_painter(painter))
    except* Quit:
        pass
    except* Exception as group:  # each error for the funnel, not an ExceptionGroup
        raise _leaves(group) from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        convo.finish()
        await convo.tools.aclose()  # running tools are stopped (process groups killed)
    return convo.quit_reason


async def _watch_painter(painter: asyncio.Task[None]) -> None:
    """A rendering bug must end the conversation loudly, not freeze the screen."""
    await asyncio.wait([painter])
    painter.result()


def _start_painter(stack: AsyncExitStack, view: LiveView | None,
                   state: ViewState) -> asyncio.Task[None] | None:
    if view is None:
        return None
    painter = asyncio.create_task(view.run(state))

    def stop() -> None:
        painter.cancel()
        with suppress(Exception):
            view.draw(state)  # the final frame: status "closed", the last turn in place

    stack.callback(stop)
    return painter


def _notifier(state: ViewState, notify: Callable[[str], None] | None,
              has_view: bool) -> Callable[[str], None] | None:
    if not has_view:
        return notify

    def to_screen(message: str) -> None:  # stderr lines would tear the live region
        state.notice = message

    return to_screen


def _outputs(stack: AsyncExitStack, options: TalkOptions,
             settings: Settings) -> tuple[Recording | None, TranscriptFile | None]:
    if options.record_dir is None and options.transcript is None:
        return None, None
    from voicecli.talk.record import Recording, TranscriptFile  # numpy: only when saving

    title = f"voicecli talk · {datetime.now():%Y-%m-%d %H:%M:%S} · {settings.model}"
    recording = transcript = None
    if options.record_dir is not None:
        recording = Recording(options.record_dir, title)
        stack.callback(recording.close)
    if options.transcript is not None:
        transcript = TranscriptFile(options.transcript, title)
        stack.callback(transcript.close)
    return recording, transcript


def _microphone(options: TalkOptions) -> Microphone:
    return open_microphone(options.input_device, chunk_ms=options.chunk_ms,
                           latency=options.latency, silence_timeout_s=options.silent_mic_fatal_s)


def _speaker(options: TalkOptions) -> Speaker:
    return open_speaker(options.output_device, latency=options.latency)


def _where(settings: Settings) -> str:
    backend = resolve_backend(settings)
    base_url = settings.connection.base_url
    if backend == "gemini" and base_url:
        return f"{settings.model} · {urlsplit(base_url).netloc or base_url}"
    label = {"local": "local engine", "vertex": "Vertex AI", "gemini": "Gemini API"}[backend]
    return f"{settings.model} · {label}"


def _leaves(group: BaseExceptionGroup[Any]) -> BaseException:
    """The one error the tasks raised, or all of them as `Several` (one line each)."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop(0)
        if isinstance(error, BaseExceptionGroup):
            pending[:0] = error.exceptions
        else:
            leaves.append(error)
    return leaves[0] if len(leaves) == 1 else Several(leaves)


__all__ = ["TalkOptions", "TalkResult", "run_talk", "Status"]
