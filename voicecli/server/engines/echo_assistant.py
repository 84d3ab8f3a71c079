"""`EchoAssistant`: an honest assistant that answers with the user's own words.

It never pretends to understand. It says `You said: <words>.`, remembers earlier turns (so a
resumed session visibly continues), and calls a declared function when the user names it: every
word of the function's name (split on `_` and camelCase) must appear in what the user said.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator
from typing import Any

from voicecli.server.engines.interface import (
    CallTools,
    Dialogue,
    PlannedCall,
    Prompt,
    ReplyEvent,
    Say,
    Think,
    ToolResult,
    ToolResults,
    ToolSpec,
    UserText,
)
from voicecli.server.engines.standins import standin_reply

_WORD = re.compile(r"[A-Za-z0-9']+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# Words that introduce an argument: "weather in Paris", "lights in the kitchen".
_INTRO = ("in", "for", "at", "to", "about", "called", "named", "of", "on")
_FILLER = {"the", "a", "an", "please", "my"}
MAX_ECHO_WORDS = 60

NO_BRAIN = ("echo assistant: it repeats what it heard (no language model configured; set "
            "local_brain_url and local_brain_model, or --brain-url and --brain-model)")
NOT_FOUND = ("echo assistant: it repeats what it heard (no language model found: none "
             "configured, and no Ollama, llama.cpp server or LM Studio answering on this machine)")
#: The echo assistant's first words in each session when it is the default, not a choice (§3 of
#: issue 15): spoken and in the transcript.
NO_BRAIN_NOTICE = ("I have no language model, so I can only repeat what I hear. For real "
                   "answers, set a Gemini API key, or run a local model server such as Ollama.")


def name_words(name: str) -> list[str]:
    """`get_current_weather` / `getCurrentWeather` → ["get", "current", "weather"]."""
    words: list[str] = []
    for piece in re.split(r"[_\-.:\s]+", name):
        words.extend(w.lower() for w in _CAMEL.findall(piece))
    return words


def spoken_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def named_tools(text: str, tools: list[ToolSpec]) -> list[ToolSpec]:
    """The declared functions whose every name word occurs in `text` (case-insensitive)."""
    said = set(spoken_words(text))
    return [tool for tool in tools if (words := name_words(tool.name)) and set(words) <= said]


def extract_args(text: str, tool: ToolSpec) -> dict[str, Any]:
    """Fill the first declared string parameter with what follows the name (after an intro word
    like "in", and filler like "the"), verbatim up to a final . ? or !; else `{}`. Verbatim:
    the user's own characters, punctuation included, are what the model passes on."""
    param = _first_string_param(tool.parameters)
    if param is None:
        return {}
    words = list(_WORD.finditer(text))
    name = set(name_words(tool.name))
    last = max((i for i, w in enumerate(words) if w.group().lower() in name), default=-1)
    tail = words[last + 1 :]
    for i, word in enumerate(tail):
        if word.group().lower() in _INTRO:
            tail = tail[i + 1 :]
            break
    while tail and tail[0].group().lower() in _FILLER:
        tail = tail[1:]
    value = text[tail[0].start() :].strip() if tail else ""
    value = value[:-1].rstrip() if value[-1:] in (".", "?", "!") else value
    return {param: value} if value else {}


def _first_string_param(schema: dict[str, Any] | None) -> str | None:
    properties = (schema or {}).get("properties") or {}
    if not isinstance(properties, dict):
        return None
    required = list((schema or {}).get("required") or [])
    ordered = [p for p in required if p in properties]
    ordered += [p for p in properties if p not in required]
    for name in ordered:
        spec = properties.get(name)
        if isinstance(spec, dict) and str(spec.get("type", "")).upper() == "STRING":
            return str(name)
    return None


def describe_result(result: ToolResult) -> str:
    """`get_current_weather returned {"condition": "rain"}` (an only `output` key unwrapped)."""
    response: Any = result.response
    if isinstance(response, dict) and set(response) == {"output"}:
        response = response["output"]
    return f"{result.name} returned {json.dumps(response, ensure_ascii=False)}"


def thought_summary(prompt: UserText, tools: list[ToolSpec]) -> str:
    """What the echo assistant 'thinks' (includeThoughts, §4.2): its plan, honestly."""
    if tools:
        return f"The user named {' and '.join(t.name for t in tools)}, so I will call it."
    words = len(_WORD.findall(prompt.text))
    heard = "said" if prompt.spoken else "typed"
    said = "one word" if words == 1 else f"{words} words"
    return f"The user {heard} {said}; I will repeat {'it' if words == 1 else 'them'} back."


class EchoAssistant:
    """The default engine of `voicecli serve` (see the module docstring).

    With a `notice`, the first reply of each session starts with it (the engine is the echo
    assistant because no language model was found, and says so once).
    """

    def __init__(self, notice: str | None = None, description: str | None = None) -> None:
        self.notice = notice
        self._description = description

    def describe(self) -> str:
        return self._description or NO_BRAIN

    async def respond(
        self, conversation: Dialogue, prompt: Prompt
    ) -> AsyncGenerator[ReplyEvent, None]:
        said = False
        if self.notice and not any(turn.role == "model" for turn in conversation.history):
            yield Say(self.notice)
            said = True
        async for event in self._events(conversation, prompt):
            if isinstance(event, Say):
                event = Say(" " + event.text) if said else event  # sentences apart
                said = True
            yield event

    async def _events(
        self, conversation: Dialogue, prompt: Prompt
    ) -> AsyncGenerator[ReplyEvent, None]:
        if isinstance(prompt, ToolResults):
            for result in prompt.results:
                yield Say(describe_result(result) + ".")
            return
        async for event in self._answer(conversation, prompt):
            yield event

    async def _answer(
        self, conversation: Dialogue, prompt: UserText
    ) -> AsyncGenerator[ReplyEvent, None]:
        tools = named_tools(prompt.text, conversation.tools)
        if conversation.include_thoughts:
            yield Think(thought_summary(prompt, tools))
        if tools:
            async for event in self._call(prompt.text, tools):
                yield event
            return
        standin = standin_reply(conversation, prompt.text)  # Google Search, code execution
        for event in standin or [Say(self._echo(conversation, prompt))]:
            yield event

    async def _call(self, text: str, tools: list[ToolSpec]) -> AsyncGenerator[ReplyEvent, None]:
        blocking = [t for t in tools if t.blocking]
        background = [t for t in tools if not t.blocking]
        if background:
            yield CallTools([PlannedCall(t.name, extract_args(text, t)) for t in background], False)
            names = " and ".join(t.name for t in background)
            yield Say(f"I am calling {names}; the result will follow.")
        if blocking:
            request = CallTools([PlannedCall(t.name, extract_args(text, t)) for t in blocking])
            yield request
            for result in await request.results:
                yield Say(describe_result(result) + ".")

    @staticmethod
    def _echo(conversation: Dialogue, prompt: UserText) -> str:
        words = _WORD.findall(prompt.text)
        if not words:
            return (
                "I heard you, but I could not make out any words."
                if prompt.spoken
                else "You sent an empty message."
            )
        said = " ".join(words[:MAX_ECHO_WORDS])
        reply = f"You said: {said}."
        earlier = conversation.user_turns()[:-1]
        if earlier:
            previous = " ".join(_WORD.findall(earlier[-1])[:MAX_ECHO_WORDS]) or "nothing"
            reply += f" This is turn {len(earlier) + 1}; before that you said: {previous}."
        if conversation.images_seen:  # video frames / images (§3.3): received, never seen
            n = conversation.images_seen
            reply += f" I received {n} image{'s' if n != 1 else ''} but cannot see images."
        return reply
