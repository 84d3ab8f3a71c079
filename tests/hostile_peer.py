"""A Live peer on a real loopback WebSocket that answers every question with frames you choose.

It speaks the documented handshake (live-protocol.md §5.1: `setup` → `setupComplete`) and then,
for each end of a question — `clientContent` with turnComplete, `realtimeInput.text`, or
`activityEnd` (§3.2, §3.3) — sends the frames of `script` exactly as given (raw text, so lone
surrogate escapes, odd digits and wrong JSON types reach the client untouched), then a plain
`turnComplete`. A `toolResponse` (§3.4) is answered with a `turnComplete`. With `push=True` the
script is sent right after `setupComplete`, unasked (talk streams audio and never "asks").

It runs in a thread of its own, so a `python -m voicecli` subprocess and an in-process client in
the test's event loop can both use it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import websockets

TURN_COMPLETE = json.dumps({"serverContent": {"turnComplete": True}})


def frame_text(frame: Any) -> str:
    """A frame as the wire text: ASCII JSON, so a lone surrogate travels as ``\\ud800``."""
    return frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=True)


def _ends_question(message: dict[str, Any]) -> bool:
    content = message.get("clientContent") or message.get("client_content")
    if isinstance(content, dict):
        return bool(content.get("turnComplete") or content.get("turn_complete"))
    realtime = message.get("realtimeInput") or message.get("realtime_input")
    if isinstance(realtime, dict):
        return "text" in realtime or "activityEnd" in realtime or "activity_end" in realtime
    return False


class HostilePeer:
    def __init__(self, push: bool = False) -> None:
        self.script: list[str] = []
        self.push = push
        self.connections = 0
        self.questions = 0
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def set_script(self, frames: list[Any]) -> None:
        self.script = [frame_text(f) for f in frames]

    async def _send_script(self, ws: websockets.ServerConnection) -> None:
        for text in list(self.script):
            await ws.send(text)
        await ws.send(TURN_COMPLETE)

    async def _handler(self, ws: websockets.ServerConnection) -> None:
        self.connections += 1
        try:
            await ws.recv()  # setup
            await ws.send(json.dumps({"setupComplete": {}}))
            if self.push:
                await self._send_script(ws)
            async for raw in ws:
                message = json.loads(raw)
                if "toolResponse" in message or "tool_response" in message:
                    await ws.send(TURN_COMPLETE)
                elif _ends_question(message):
                    self.questions += 1
                    await self._send_script(ws)
        except websockets.ConnectionClosed:
            pass

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with websockets.serve(self._handler, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/ws/hostile"
            self._ready.set()
            await self._stop.wait()

    def start(self) -> HostilePeer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile peer did not start")
        return self

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@contextmanager
def hostile_peer(push: bool = False) -> Iterator[HostilePeer]:
    peer = HostilePeer(push).start()
    try:
        yield peer
    finally:
        peer.close()


# ---- every documented server frame type (live-protocol.md §4), as samples to mutate ----------

AUDIO = "AAABAAIAAwAEAAUA"  # 8 samples of PCM16

SERVER_FRAME_SAMPLES: dict[str, dict[str, Any]] = {
    "setupComplete": {"setupComplete": {"sessionId": "s-1"}},  # §4.1
    "modelTurn.text": {"serverContent": {"modelTurn": {"parts": [{"text": "Paris."}]}}},  # §4.2
    "modelTurn.thought": {"serverContent": {"modelTurn": {"parts": [
        {"text": "Thinking about it", "thought": True, "thoughtSignature": "AAAA"}]}}},
    "modelTurn.audio": {"serverContent": {"modelTurn": {"parts": [{"inlineData": {
        "mimeType": "audio/pcm;rate=24000", "data": AUDIO}}]}}},
    "modelTurn.code": {"serverContent": {"modelTurn": {"parts": [
        {"executableCode": {"language": "PYTHON", "code": "print(2**64)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "18446744073709551616\n"}}]}}},
    "inputTranscription": {"serverContent": {"inputTranscription": {"text": "what is",
                                                                    "finished": False}}},
    "interimInputTranscription": {"serverContent": {"interimInputTranscription": {
        "text": "what"}}},
    "outputTranscription": {"serverContent": {"outputTranscription": {"text": "Paris is"}}},
    "groundingMetadata": {"serverContent": {"groundingMetadata": {
        "webSearchQueries": ["capital of france"],
        "groundingChunks": [{"web": {"uri": "https://example.org/paris", "title": "Paris"}}]}}},
    "urlContextMetadata": {"serverContent": {"urlContextMetadata": {"urlMetadata": [
        {"retrievedUrl": "https://example.org",
         "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_SUCCESS"}
    ]}}},
    "interrupted": {"serverContent": {"interrupted": True}},
    "generationComplete": {"serverContent": {"generationComplete": True}},
    "turnComplete": {"serverContent": {"turnComplete": True, "turnCompleteReason": "STOP",
                                       "waitingForInput": True}},
    "toolCall": {"toolCall": {"functionCalls": [  # §4.3
        {"id": "call-1", "name": "lookup", "args": {"city": "Paris", "n": 2}}]}},
    "toolCallCancellation": {"toolCallCancellation": {"ids": ["call-1"]}},  # §4.4
    "goAway": {"goAway": {"timeLeft": "50s"}},  # §4.5
    "sessionResumptionUpdate": {"sessionResumptionUpdate": {  # §4.6
        "newHandle": "handle-1", "resumable": True, "lastConsumedClientMessageIndex": "3"}},
    "usageMetadata": {"usageMetadata": {  # §4.7
        "promptTokenCount": 10, "responseTokenCount": 5, "totalTokenCount": 15,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 10}],
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 5}]}},
    "voiceActivity": {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "0.5s"}},  # §4.8
    "voiceActivityDetectionSignal": {"voiceActivityDetectionSignal": {
        "vadSignalType": "VAD_SIGNAL_TYPE_SOS"}},
    "error": {"error": {"code": 400, "message": "Request contains an invalid argument."}},
}

#: Values that have broken clients: lone surrogates (in text, ids, names, keys), digits that
#: str.isdigit() takes and int() refuses, digits of other scripts, wrong JSON types, extremes.
HOSTILE_VALUES: list[Any] = [
    "\ud800", "tail \udfff", "\udc00\ud800 pair reversed", "²", "١٢", "audio/pcm;rate=²",
    "audio/pcm;rate=١٦٠٠٠", "audio/pcm;rate=1", "audio/pcm;rate=99999999", "audio/pcm;rate=-5",
    "[bold]markup[/]", "\x1b[2J", "", 0, -1, 2**63, 1e308, -0.0, True, None, [], {}, [1, "a"],
    {"\ud800": "\udfff"}, "NaN", "1e999s",
]
