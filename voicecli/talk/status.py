"""What the status bar says and the notices: pure functions of what the conversation knows."""

from __future__ import annotations

from typing import Any

from voicecli.ui.state import Status

HELD = (Status.CONNECTING, Status.RECONNECTING, Status.CLOSED)  # set by events, not by the rule
MUTED_NOTICE = "muted: the service was told the audio stream ended"


def next_status(current: Status, *, playing: bool, user_speaking: bool,
                thinking: bool) -> Status:
    """Speaking (reply audio playing) beats you speaking beats thinking beats listening."""
    if current in HELD:
        return current
    if playing:
        return Status.SPEAKING
    if user_speaking:
        return Status.USER_SPEAKING
    if thinking:
        return Status.THINKING
    return Status.LISTENING


def reconnecting_notice(reason: str) -> str:
    return f"reconnecting ({reason})…"


def reconnected_notice(*, resumed: bool, dropped_audio_ms: float) -> str:
    notice = "reconnected" + ("" if resumed else " (a new session)")
    if dropped_audio_ms:
        notice += f"; {dropped_audio_ms / 1000:.1f} s of audio could not be resent"
    return notice


def go_away_notice(time_left_s: float | None) -> str:
    when = f" in {time_left_s:.0f} s" if time_left_s is not None else ""
    return f"the service ends this connection{when}; resuming on a new one"


class SilentMicNotice:
    """Up while the mic has given only zeros since it opened; down once it gives any signal
    (you spoke) — unless another notice replaced it."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self._shown = ""

    def update(self, notice: str, stats: Any) -> str:  # a CaptureStats
        """The notice to show now, given the one shown."""
        if not stats.signal_seen and stats.silent_s >= self.after_s:
            self._shown = (f"the microphone has given only digital silence for"
                           f" {stats.silent_s:.0f} s: muted, or no permission to use it?")
            return self._shown
        if self._shown:
            if notice == self._shown:
                notice = ""
            self._shown = ""
        return notice


__all__ = ["MUTED_NOTICE", "SilentMicNotice", "go_away_notice", "next_status",
           "reconnected_notice", "reconnecting_notice"]
