"""What a key does in a conversation: a command, or an edit of the message being typed."""

from __future__ import annotations

from enum import Enum

from voicecli.talk.keys import BACKSPACE, ENTER, ESCAPE


class KeyCommand(Enum):
    QUIT = "quit"  # q
    MUTE = "mute"  # m: toggles
    TYPE = "type"  # t: start typing a message
    PUSH_TO_TALK = "push_to_talk"  # space, with --ptt


def command_for(key: str, *, typing_allowed: bool, ptt: bool) -> KeyCommand | None:
    if key in ("q", "Q"):
        return KeyCommand.QUIT
    if key in ("m", "M"):
        return KeyCommand.MUTE
    if key in ("t", "T") and typing_allowed:  # translate: audio only (§7.1)
        return KeyCommand.TYPE
    if key == " " and ptt:
        return KeyCommand.PUSH_TO_TALK
    return None


def edit_typing(typed: str, key: str) -> tuple[str | None, str | None]:
    """(what is being typed afterwards, None when typing ended; the message to send, if any)."""
    if key == ESCAPE:
        return None, None
    if key == BACKSPACE:
        return typed[:-1], None
    if key == ENTER:
        return None, typed.strip() or None
    return typed + key, None


__all__ = ["KeyCommand", "command_for", "edit_typing"]
