"""Running a spoken conversation from the command line (talk and translate): the live screen or
NDJSON, the session summary on stderr, exit 130 when interrupted (library: voicecli.talk.run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicecli.cli.output import notice

if TYPE_CHECKING:
    from voicecli.settings import Settings
    from voicecli.talk.options import TalkOptions
    from voicecli.talk.run import TalkResult
    from voicecli.tools import ToolUse


def run_conversation(settings: Settings, options: TalkOptions, *, json_out: bool,
                     tools: ToolUse | None, command: str = "talk") -> None:
    """Run talk (or translate) on the live screen, or as NDJSON when asked or not on a terminal;
    then the session summary, and exit 130 when it was interrupted."""
    import asyncio

    import typer

    from voicecli.cli.env import current_env
    from voicecli.errors import ExitCode
    from voicecli.talk.run import run_talk

    env = current_env()
    live_screen = not json_out and env.stdout_tty
    sink = None if live_screen else env.json_lines()  # the funnel ends it on an error
    console = env.console() if live_screen else None
    result = asyncio.run(run_talk(settings, options, console=console, emit=sink, notify=notice,
                                  tools=tools))
    session_summary(result, options, command)
    if result.reason == "interrupted":
        raise typer.Exit(ExitCode.INTERRUPTED)


def session_summary(result: TalkResult, options: TalkOptions, command: str = "talk") -> None:
    """The session summary on stderr: turns, duration, tokens by modality, how to resume."""
    from voicecli.cli.session_options import usage_line

    saved = [str(p) for p in (options.transcript, options.record_dir) if p is not None]
    where = f"; saved to {', '.join(saved)}" if saved else ""
    minutes, seconds = divmod(round(result.duration_s), 60)
    took = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    notice(f"voicecli: {result.turns} turn(s) in {took}, {result.reason}{where}")
    if result.usage.reports:
        notice(usage_line(result.usage))
    if result.video_frames:
        notice(f"voicecli: {result.video_frames} video frame(s) sent")
    if result.resume_handle:
        notice(f"voicecli: to continue: voicecli {command} --resume {result.resume_handle}")
