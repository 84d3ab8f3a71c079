"""The setup `talk` (and `translate`) sends, and what follows it at once.

On top of `build_setup` (voicecli/client/setup.py): the translation setup for `translate`
(voicecli/translate), context window compression whenever video is on (§5.7: audio + video
sessions end after 2 minutes without it), the handle of `--resume` (§5.6), and the history of
`--context` with historyConfig where the model needs it (§3.2, §3.1.11; voicecli/client/history).
"""

from __future__ import annotations

import dataclasses

from voicecli.client.history import Seed, plan_history, with_resume
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import CapabilityError
from voicecli.protocol.messages import ContextWindowCompression, Setup, SlidingWindow
from voicecli.protocol.models import model_info
from voicecli.settings import Settings
from voicecli.talk.options import TalkOptions
from voicecli.translate.setup import translation_setup


def talk_setup(settings: Settings, model: str, options: TalkOptions,
               setup_options: SetupOptions | None = None) -> tuple[Setup, Seed | None]:
    """The setup for this conversation and the history to seed it with (None: nothing).
    `setup_options` defaults to `options.setup_options()`."""
    if options.translation is not None:
        setup = translation_setup(settings, model, options.translation,
                                  setup_options.tools if setup_options else ())
    else:
        setup = build_setup(settings, model, setup_options or options.setup_options())
    if options.video_wanted:
        setup = with_video(setup)
    setup = with_resume(setup, options.resume)
    return plan_history(setup, options.context or [])


def with_video(setup: Setup) -> Setup:
    """§5.7: compression lifts the 2-minute cap of audio + video sessions; audio-only models
    (live-translate, live-transcribe) take no video (§7.1)."""
    info = model_info(setup.model)
    if info is not None and not info.video_input:
        raise CapabilityError(f"{info.id} takes audio only (§7.1): drop --camera/--screen")
    if setup.context_window_compression is not None:
        return setup
    compression = ContextWindowCompression(sliding_window=SlidingWindow())
    return dataclasses.replace(setup, context_window_compression=compression)

