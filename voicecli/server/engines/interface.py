"""What an answering engine sees and produces.

The session layer owns the wire: it turns user audio into text (ASR), the engine's text into
speech (TTS) and transcripts, assigns function-call ids, and keeps the history of what was
actually sent. An engine only decides *what to say*: given the `Dialogue` and a `Prompt`,
it yields `Say` text deltas and `CallTools` requests. For a blocking call the engine awaits
`CallTools.results` (the session resolves it when the matching `toolResponse` arrives, §5.5);
cancelling the iteration (barge-in, §5.3) is always allowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Turn:
    """One entry of the conversation history."""

    role: str  # "user" | "model"
    text: str


@dataclass(frozen=True)
class ToolSpec:
    """A declared function (§3.1.4); `parameters` is the declared schema, verbatim."""

    name: str
    parameters: dict[str, Any] | None = None
    blocking: bool = True
    description: str = ""


@dataclass
class Dialogue:
    """The session as an engine sees it. `history` ends with the prompt being answered."""

    model: str
    modality: str = "AUDIO"  # "AUDIO" | "TEXT"
    system_instruction: str = ""
    tools: list[ToolSpec] = field(default_factory=list)
    voice: str | None = None
    language: str | None = None
    history: list[Turn] = field(default_factory=list)
    # the service's own tools declared in the setup (§3.1.4; stand-ins: server/engines/standins.py)
    google_search: bool = False
    code_execution: bool = False
    # model options of the setup (§3.1.2): honoured where the engine can
    include_thoughts: bool = False  # thinkingConfig.includeThoughts: say `Think` before answering
    temperature: float | None = None
    max_output_tokens: int | None = None
    # live-translate (§3.1 translationConfig): the target language, and whether speech already
    # in it is repeated (echoTargetLanguage)
    translate_to: str | None = None
    echo_target: bool = False
    images_seen: int = 0  # video frames and images received (§3.3); engines cannot see them

    def user_turns(self) -> list[str]:
        return [turn.text for turn in self.history if turn.role == "user"]


@dataclass(frozen=True)
class UserText:
    """A user turn: typed text, or what was recognised of speech (`spoken=True`)."""

    text: str
    spoken: bool = False


@dataclass(frozen=True)
class ToolResult:
    """One `functionResponses[]` entry, as received."""

    id: str
    name: str
    response: dict[str, Any]


@dataclass(frozen=True)
class ToolResults:
    """Results of non-blocking calls that arrived after their turn ended (§3.4 WHEN_IDLE)."""

    results: tuple[ToolResult, ...]


Prompt = UserText | ToolResults


@dataclass(frozen=True)
class Say:
    """A text delta of the reply, verbatim: it carries its own leading space if it needs one
    (like an LLM's tokens: "Par", "is", ",", " France")."""

    text: str


@dataclass(frozen=True)
class Think:
    """A thought summary (§4.2 ``{"text": …, "thought": true}``); only when the setup asked for
    them (``includeThoughts``). Never spoken, never in the history."""

    text: str


@dataclass(frozen=True)
class PlannedCall:
    name: str
    args: dict[str, Any]


@dataclass
class CallTools:
    """Ask the client to run functions. The session sets `ids` and resolves `results`."""

    calls: list[PlannedCall]
    blocking: bool = True
    ids: list[str] = field(default_factory=list)
    results: asyncio.Future[list[ToolResult]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass(frozen=True)
class Grounded:
    """The turn's Google Search grounding (§4.2 ``groundingMetadata``), sent as it is."""

    metadata: dict[str, Any]


@dataclass(frozen=True)
class RanCode:
    """Code the model ran with the code execution tool: an ``executableCode`` part, then a
    ``codeExecutionResult`` part (§4.2)."""

    language: str
    code: str
    outcome: str  # OUTCOME_OK | OUTCOME_FAILED | OUTCOME_DEADLINE_EXCEEDED
    output: str


ReplyEvent = Say | CallTools | Think | Grounded | RanCode


class Engine(Protocol):
    """Produces the model's side of a turn."""

    def respond(self, conversation: Dialogue, prompt: Prompt) -> AsyncGenerator[ReplyEvent, None]:
        """Yield the reply to `prompt`; the session may stop iterating at any point."""
        ...
