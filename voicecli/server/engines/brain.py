"""`OpenAIEngine`: the local server thinks with any OpenAI-compatible chat-completions endpoint.

The local server already hears (pocketsphinx) and speaks (espeak-ng); `EchoAssistant` only repeats
the user. This engine lets a real language model answer — Ollama, llama.cpp's server, vLLM,
LM Studio or a hosted API — streamed token by token, so speech can start with the first words.

Mapping (live-protocol.md §3.1.4, §3.4, §5.3, §5.5):
* the system instruction becomes a `system` message, the history `user`/`assistant` messages
  (consecutive turns of one role merged, since some chat templates insist on alternation); the
  request names the configured model, never the Live model of the session;
* declared functions become `tools`, their Gemini schemas (`"type": "STRING"`) JSON Schema;
* `delta.content` pieces are yielded as `Say` deltas as they arrive; `delta.tool_calls` pieces
  are gathered by `index` and, when the stream ends, become `CallTools`. Blocking results go
  back as `tool` messages and the model is asked again (at most `MAX_TOOL_ROUNDS` times);
  NON_BLOCKING calls are answered at once with a "running, the result follows" note, and their
  late results arrive as a `ToolResults` prompt, told to the model as a user message;
* the text of a round after a tool call is set apart from the text before it by a space;
  an empty user turn (noise the recogniser made nothing of) is answered without asking;
* any failure of the endpoint (unreachable, HTTP error, broken stream) is logged as one warning
  line and answered with a short apology, so the voice session carries on;
* barge-in closes the generator (or cancels its task), which aborts the HTTP connection at once:
  the endpoint sees the disconnect and stops generating.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from voicecli.errors import ConfigError
from voicecli.numbers import whole_number
from voicecli.server.engines.echo_assistant import describe_result
from voicecli.server.engines.interface import (
    CallTools,
    Dialogue,
    PlannedCall,
    Prompt,
    ReplyEvent,
    Say,
    ToolResult,
    ToolResults,
    ToolSpec,
    UserText,
)
from voicecli.server.engines.openai_http import (
    BaseUrl,
    HttpError,
    Timeouts,
    error_excerpt,
    get_json,
    stream_events,
)

log = logging.getLogger("voicecli.server")

APOLOGY = "Sorry, the language model is not answering."
NOT_HEARD = "Sorry, I did not catch that."
MAX_TOOL_ROUNDS = 5
CONNECT_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 5.0
#: What the model is told at once about a NON_BLOCKING call (§3.1.4).
RUNNING = {"status": "running", "note": "The result will arrive in a later message."}
#: Gemini schema keys that may come snake_cased (SDK field names) → their JSON Schema spelling.
_CAMEL_KEYS = {
    "any_of": "anyOf",
    "max_items": "maxItems",
    "min_items": "minItems",
    "max_length": "maxLength",
    "min_length": "minLength",
    "max_properties": "maxProperties",
    "min_properties": "minProperties",
    "property_ordering": "propertyOrdering",
}
#: int64 fields of the Gemini schema, which protobuf JSON may write as strings ("5").
_INTEGER_KEYS = {"maxItems", "minItems", "maxLength", "minLength", "maxProperties", "minProperties"}
_SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions"}
_SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
_SCHEMA_ONE = {"items", "additionalProperties", "not"}


class ModelStreamError(Exception):
    """The endpoint answered 2xx but the stream is not a chat-completions stream."""


# ---- the engine -------------------------------------------------------------------------------


class OpenAIEngine:
    """An `Engine` backed by `POST {base_url}/chat/completions` with `"stream": true`."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        temperature: float | None = None,
    ) -> None:
        if not model.strip():
            raise ConfigError("name the language model to use (e.g. llama3.2)")
        if api_key and not all(" " < ch <= "~" for ch in api_key):
            raise ConfigError("the language model API key contains spaces or non-ASCII characters")
        if timeout_s <= 0:
            raise ConfigError("the language model timeout must be positive")
        self.base = BaseUrl.parse(base_url)
        self.model = model.strip()
        self.timeout_s = timeout_s
        self.temperature = temperature
        self._api_key = api_key or None

    def __repr__(self) -> str:
        key = "'***'" if self._api_key else "None"
        return f"OpenAIEngine(base_url='{self.base}', model='{self.model}', api_key={key})"

    def describe(self) -> str:
        """One line for the `serve` banner; never includes the key."""
        return f"language model {self.model} at {self.base} (OpenAI-compatible)"

    async def probe(self) -> str:
        """Check that the endpoint answers `GET /models`; one line, or `ConfigError`."""
        short = min(PROBE_TIMEOUT_S, self.timeout_s)
        try:
            listing = await get_json(
                self.base, "/models", api_key=self._api_key, timeouts=Timeouts(short, short)
            )
        except HttpError as exc:
            if exc.status is None:
                raise ConfigError(f"cannot reach the language model at {self.base}: {exc}") \
                    from None
            hint = _missing_v1_hint(exc.status, self.base)
            raise ConfigError(f"the language model at {self.base} refused: {exc}{hint}") \
                from None
        return f"{self.model} at {self.base}{_listing_note(self.model, listing)}"

    async def respond(
        self, conversation: Dialogue, prompt: Prompt
    ) -> AsyncGenerator[ReplyEvent, None]:
        if isinstance(prompt, UserText) and not prompt.text.strip():
            yield Say(NOT_HEARD)  # noise or an empty message: nothing to ask the model
            return
        messages = chat_messages(conversation, prompt)
        try:
            sampling = sampling_options(conversation)
            async with aclosing(self._turn(messages, conversation.tools, sampling)) as events:
                async for event in events:
                    yield event
        except (HttpError, ModelStreamError) as exc:
            log.warning("the language model at %s failed: %s", self.base, exc)
            yield Say(APOLOGY)

    # ---- one turn: streamed requests, tool rounds in between ----------------------------------

    async def _turn(
        self, messages: list[dict[str, Any]], specs: list[ToolSpec],
        sampling: dict[str, Any] | None = None,
    ) -> AsyncGenerator[ReplyEvent, None]:
        tools = tool_declarations(specs)
        said = ""  # the text of earlier rounds
        for round_no in range(MAX_TOOL_ROUNDS + 1):
            last = round_no == MAX_TOOL_ROUNDS
            streamed = StreamedReply()
            body = {**self._body(messages, tools, last), **(sampling or {})}
            async with aclosing(self._stream(body, streamed)) as s:
                async for text in s:
                    first = text == streamed.text  # the round's first piece
                    yield Say(set_apart(said, text) if first else text)
            said += set_apart(said, streamed.text)
            calls = streamed.calls(round_no)
            if not calls:
                return
            if last:
                log.debug("tool calls after %d rounds ignored", MAX_TOOL_ROUNDS)
                return
            messages.append(assistant_message(streamed.text, calls))
            async with aclosing(_call_tools(calls, specs, messages)) as events:
                async for event in events:
                    yield event

    def _body(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], last: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True}
        if tools:
            body["tools"] = tools
            if last:
                body["tool_choice"] = "none"
        if self.temperature is not None:
            body["temperature"] = self.temperature
        return body

    async def _stream(
        self, body: dict[str, Any], streamed: StreamedReply
    ) -> AsyncGenerator[str, None]:
        """Text deltas of one streamed completion; tool-call pieces gather in `streamed`."""
        timeouts = Timeouts(min(CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s)
        events = stream_events(
            self.base, "/chat/completions", body, api_key=self._api_key, timeouts=timeouts
        )
        try:
            async with aclosing(events):
                async for payload in events:
                    if payload.strip() == "[DONE]":
                        streamed.finished = True
                        break
                    text = streamed.apply(payload)
                    if text:
                        yield text
        except HttpError as exc:
            if not streamed.finished:
                raise
            log.debug("the stream failed after its finish_reason (%s); the reply is complete", exc)
        if not streamed.finished:
            raise ModelStreamError("the stream ended before the reply was complete")


async def _call_tools(
    calls: list[ModelCall], specs: list[ToolSpec], messages: list[dict[str, Any]]
) -> AsyncGenerator[ReplyEvent, None]:
    """Ask the client to run `calls`; append one `tool` message per call to `messages`."""
    declared = {spec.name: spec for spec in specs}
    answers: dict[str, Any] = {
        c.id: {"error": f"no function named {c.name} is declared"}
        for c in calls
        if c.name not in declared
    }
    background = [c for c in calls if c.name in declared and not declared[c.name].blocking]
    blocking = [c for c in calls if c.name in declared and declared[c.name].blocking]
    if background:
        yield CallTools([PlannedCall(c.name, c.args) for c in background], blocking=False)
        answers.update({c.id: RUNNING for c in background})
    if blocking:
        request = CallTools([PlannedCall(c.name, c.args) for c in blocking])
        yield request
        results = await request.results
        answers.update(match_results(blocking, request.ids, results))
    messages.extend(tool_message(c.id, answers[c.id]) for c in calls)


def match_results(
    calls: list[ModelCall], live_ids: list[str], results: list[ToolResult]
) -> dict[str, Any]:
    """The response to each call (by the Live id the session gave it, else by position)."""
    by_live_id = {result.id: result.response for result in results}
    if len(live_ids) == len(calls) and all(i in by_live_id for i in live_ids):
        return {c.id: by_live_id[i] for c, i in zip(calls, live_ids, strict=True)}
    answers: dict[str, Any] = {c.id: {"error": "no result"} for c in calls}
    answers.update({c.id: r.response for c, r in zip(calls, results, strict=False)})
    return answers


# ---- the streamed reply -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCall:
    """A finished tool call of the model: the OpenAI id, the function and its arguments."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass
class CallPieces:
    """A tool call as its pieces arrive (`delta.tool_calls[]` entries of one `index`)."""

    id: str = ""
    name: str = ""
    arguments: str | dict[str, Any] = ""

    def add(self, entry: dict[str, Any]) -> None:
        self.id = self.id or str(entry.get("id") or "")
        function = _object(entry.get("function"))
        name = function.get("name")
        if isinstance(name, str) and name and name != self.name:
            self.name += name
        piece = function.get("arguments")
        if isinstance(piece, dict):  # a few servers send the object itself
            self.arguments = piece
        elif isinstance(piece, str) and isinstance(self.arguments, str):
            self.arguments += piece


@dataclass
class StreamedReply:
    """What one streamed completion said: text so far, tool-call pieces, whether it finished."""

    text: str = ""
    pieces: dict[int, CallPieces] = field(default_factory=dict)
    finished: bool = False

    def apply(self, payload: str) -> str:
        """Take in one `data:` payload; return its text delta."""
        chunk = _decode_chunk(payload)
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return ""  # e.g. the usage chunk of `stream_options.include_usage`
        choice = _object(choices[0])
        delta = _object(choice.get("delta") or choice.get("message"))
        if choice.get("finish_reason"):
            self.finished = True
        entries = delta.get("tool_calls")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                self._slot(entry).add(entry)
        text = delta.get("content")
        text = text if isinstance(text, str) else ""
        self.text += text
        return text

    def _slot(self, entry: dict[str, Any]) -> CallPieces:
        index = entry.get("index")
        if not isinstance(index, int):
            index = self._index_of(entry.get("id"))
        return self.pieces.setdefault(index, CallPieces())

    def _index_of(self, call_id: Any) -> int:
        """For servers that omit `index`: a known id's slot, a new slot for a new id, else the
        latest slot (a continuation)."""
        for index, pieces in self.pieces.items():
            if call_id and pieces.id == call_id:
                return index
        if call_id or not self.pieces:
            return max(self.pieces, default=-1) + 1
        return max(self.pieces)

    def calls(self, round_no: int) -> list[ModelCall]:
        """The finished tool calls, in index order (ids made up when the server sent none)."""
        calls = []
        for index in sorted(self.pieces):
            pieces = self.pieces[index]
            if not pieces.name:
                log.debug("a streamed tool call without a function name ignored")
                continue
            call_id = pieces.id or f"call_{round_no}_{index}"
            calls.append(ModelCall(call_id, pieces.name, parse_arguments(pieces.arguments)))
        return calls


def _decode_chunk(payload: str) -> dict[str, Any]:
    try:
        chunk = json.loads(payload)
    except ValueError:
        raise ModelStreamError("a stream event is not JSON") from None
    if not isinstance(chunk, dict):
        raise ModelStreamError("a stream event is not a JSON object")
    if chunk.get("error"):
        raise ModelStreamError(f"error event: {error_excerpt(payload.encode())}")
    return chunk


def _object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else `{}` (a foreign stream may send anything)."""
    return value if isinstance(value, dict) else {}


def parse_arguments(arguments: str | dict[str, Any]) -> dict[str, Any]:
    """The arguments of a call; `{}` (and a debug line) when they are not a JSON object."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        log.debug("tool call arguments are not valid JSON; using {}")
        return {}
    if not isinstance(value, dict):
        log.debug("tool call arguments are not a JSON object; using {}")
        return {}
    return value


# ---- requests ---------------------------------------------------------------------------------


def sampling_options(conversation: Dialogue) -> dict[str, Any]:
    """The setup's temperature and maxOutputTokens (§3.1.2); they win over the brain's own."""
    pairs = (("temperature", conversation.temperature),
             ("max_tokens", conversation.max_output_tokens))
    return {name: value for name, value in pairs if value is not None}


def chat_messages(conversation: Dialogue, prompt: Prompt) -> list[dict[str, Any]]:
    """System instruction, history, and (for late tool results) a user message stating them."""
    turns = [("assistant" if t.role == "model" else "user", t.text) for t in conversation.history]
    if isinstance(prompt, ToolResults):
        turns.append(("user", results_text(prompt)))
    elif not turns or turns[-1][0] != "user":  # the session normally appended it already
        turns.append(("user", prompt.text))
    messages: list[dict[str, Any]] = []
    if conversation.system_instruction.strip():
        messages.append({"role": "system", "content": conversation.system_instruction})
    for role, text in turns:
        if not text.strip():
            continue
        if messages and messages[-1]["role"] == role != "system":
            messages[-1]["content"] += "\n\n" + text
        else:
            messages.append({"role": role, "content": text})
    return messages


def set_apart(earlier: str, text: str) -> str:
    """`text` (a new round's first words) with a space before it when `earlier` needs one."""
    if earlier and not earlier[-1].isspace() and text and not text[0].isspace():
        return " " + text
    return text


def results_text(prompt: ToolResults) -> str:
    """`Function results: get_weather returned {"sky": "clear"}.`"""
    return "Function results: " + "; ".join(describe_result(r) for r in prompt.results) + "."


def assistant_message(text: str, calls: list[ModelCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.args)},
            }
            for call in calls
        ],
    }


def tool_message(call_id: str, response: Any) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": json.dumps(response, ensure_ascii=False),
    }


def tool_declarations(specs: list[ToolSpec]) -> list[dict[str, Any]]:
    """OpenAI `tools` for the declared functions (§3.1.4)."""
    tools = []
    for spec in specs:
        function: dict[str, Any] = {"name": spec.name}
        if spec.description:
            function["description"] = spec.description
        function["parameters"] = parameters_schema(spec.parameters)
        tools.append({"type": "function", "function": function})
    return tools


def parameters_schema(parameters: dict[str, Any] | None) -> dict[str, Any]:
    """A function's parameters as a JSON Schema object (OpenAI requires `type: object`)."""
    schema: dict[str, Any] = json_schema(parameters) if isinstance(parameters, dict) else {}
    schema.setdefault("type", "object")
    if schema["type"] == "object":
        schema.setdefault("properties", {})
    return schema


def json_schema(schema: Any) -> Any:
    """A Gemini (OpenAPI-subset) schema as JSON Schema: lowercase types, camelCase keywords,
    integer bounds as numbers, recursively. Unknown keywords (`nullable`, `propertyOrdering`,
    `example`) are kept: JSON Schema ignores them and servers accept them. A JSON Schema comes
    back unchanged."""
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for raw_key, value in schema.items():
        key = _CAMEL_KEYS.get(raw_key) or raw_key
        if key == "type":
            value = _json_type(value)
            if value is None:
                continue
        elif key in _INTEGER_KEYS:
            value = _integer(value)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            value = {name: json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            value = [json_schema(sub) for sub in value]
        elif key in _SCHEMA_ONE:
            value = json_schema(value)
        converted[key] = value
    return converted


def _json_type(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        return None if lowered in ("", "type_unspecified") else lowered
    if isinstance(value, list):
        return [str(v).lower() for v in value]
    return value


def _integer(value: Any) -> Any:
    number = whole_number(value, signed=True) if isinstance(value, str) else None
    return value if number is None else number


def _missing_v1_hint(status: int, base: BaseUrl) -> str:
    """A 404 on `/models` usually means the `/v1` of Ollama's or llama.cpp's URL is missing."""
    return " (does the URL need /v1?)" if status == 404 and "/v1" not in base.prefix else ""


def _listing_note(model: str, listing: Any) -> str:
    """Empty when `GET /models` lists `model` (or lists nothing usable), else a short note."""
    data = listing.get("data") if isinstance(listing, dict) else None
    names = [str(m.get("id")) for m in data or [] if isinstance(m, dict) and m.get("id")]
    if not names or model in names or f"{model}:latest" in names:
        return ""
    shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    return f" (not in its model list: {shown})"
