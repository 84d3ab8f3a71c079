"""Seeding a new session with earlier turns, and resuming one (live-protocol.md §3.2, §3.1.11,
§5.6, §7).

How history goes in depends on the model (`ModelInfo.client_content`):

- ``whole_session`` (2.5, 3.8, and ids voicecli does not know): one `clientContent` with the
  turns and ``turnComplete: false`` — appended to the context without asking for a reply (§3.2;
  the Live guide's own example of restoring context does the same).
- ``seed_only`` (3.1): ``historyConfig.initialHistoryInClientContent`` in the setup, then the
  turns with ``turnComplete: true``, which ends the seeding without a model call (§3.1.11).
- ``none`` (live-translate, live-transcribe): no conversation history; refused before connecting.

A resumed session (`--resume HANDLE`, §5.6) already has its history, so the two do not mix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicecli.client.live import LiveSession
from voicecli.errors import CapabilityError, UsageError
from voicecli.protocol.messages import Content, HistoryConfig, SessionResumptionConfig, Setup
from voicecli.protocol.models import model_info


@dataclass(frozen=True)
class Seed:
    """The `clientContent` to send right after setupComplete."""

    turns: list[Content]
    turn_complete: bool


@dataclass(frozen=True)
class SessionStart:
    """How a new session begins: with earlier turns (`--context`) or where one left off
    (`--resume`)."""

    context: list[Content] | None = None
    resume: str | None = None

    def apply(self, setup: Setup) -> tuple[Setup, Seed | None]:
        return plan_history(with_resume(setup, self.resume), self.context or [])


def plan_history(setup: Setup, turns: list[Content]) -> tuple[Setup, Seed | None]:
    """The setup to send (with historyConfig where the model needs it) and the seed message."""
    if not turns:
        return setup, None
    handle = setup.session_resumption.handle if setup.session_resumption else None
    if handle:
        raise UsageError("give either --context or --resume: a resumed session has its history")
    info = model_info(setup.model)
    use = info.client_content if info is not None else "whole_session"
    if use == "none":
        raise CapabilityError(f"{info.id if info else setup.model} takes no conversation history "
                              "(§3.2, §7.1): drop --context")
    if use == "seed_only":
        history = HistoryConfig(initial_history_in_client_content=True)
        return dataclasses.replace(setup, history_config=history), Seed(turns, True)
    return setup, Seed(turns, False)


def with_resume(setup: Setup, handle: str | None) -> Setup:
    """§3.1.7: continue the session a `newHandle` names (the model must be the same, §5.6)."""
    if not handle:
        return setup
    handle = handle.strip()
    if not handle or any(c.isspace() for c in handle):
        raise UsageError("--resume needs the handle voicecli printed at the end of a session")
    config = setup.session_resumption or SessionResumptionConfig()
    return dataclasses.replace(setup, session_resumption=dataclasses.replace(config,
                                                                             handle=handle))


def resume_refused(error: Exception, handle: str | None) -> Exception:
    """The service answers an unknown or expired handle by closing with 1007 (§5.9); say so."""
    if not handle:
        return error
    from voicecli.errors import ServiceRefused

    if isinstance(error, ServiceRefused) and error.close_code == 1007:
        return ServiceRefused(f"the session to --resume was refused ({error}): handles expire "
                              "2 h after the session ended and work only with the same model")
    return error


async def send_seed(live: LiveSession, seed: Seed | None,
                    emit: Callable[[dict[str, Any]], None] | None = None) -> None:
    """The `--context` turns, right after setupComplete and before any other input (§3.2)."""
    if seed is None:
        return
    await live.send_client_content(seed.turns, turn_complete=seed.turn_complete)
    if emit is not None:
        emit({"type": "context", "turns": len(seed.turns)})
