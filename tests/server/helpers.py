"""A tiny raw Live client for the server tests: real WebSockets, JSON frames, no SDK."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from voicecli.server import FaultPlan, RunningServer, ServerConfig, start_server

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
TEXT_MODEL = "models/gemini-live-2.5-flash-preview"  # half-cascade: answers in TEXT (§7.1)
AUDIO_MODEL = "models/gemini-3.8-live"
CHUNK_MS = 20


def setup_msg(model: str = TEXT_MODEL, modality: str = "TEXT", **extra: Any) -> dict[str, Any]:
    setup: dict[str, Any] = {"model": model, "generationConfig": {"responseModalities": [modality]}}
    setup.update(extra)
    return {"setup": setup}


def audio_msg(pcm: bytes, rate: int = 16000) -> dict[str, Any]:
    data = base64.b64encode(pcm).decode()
    return {"realtimeInput": {"audio": {"mimeType": f"audio/pcm;rate={rate}", "data": data}}}


@dataclass
class Frame:
    raw: bytes | str
    at: float
    msg: dict[str, Any]

    @property
    def content(self) -> dict[str, Any]:
        return self.msg.get("serverContent", {})

    def kind(self) -> str:
        """A short label: text, audio, outTx, inTx, generationComplete, turnComplete, …"""
        c = self.content
        if "modelTurn" in c:
            part = c["modelTurn"]["parts"][0]
            return "audio" if "inlineData" in part else "text"
        for name in ("inputTranscription", "interimInputTranscription", "outputTranscription",
                     "generationComplete", "interrupted", "turnComplete"):
            if name in c:
                return name
        return next(iter(self.msg), "empty")


@dataclass
class Client:
    ws: ClientConnection
    frames: list[Frame] = field(default_factory=list)

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(msg))

    async def recv(self, limit_s: float = 20.0) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), limit_s)
        frame = Frame(raw, time.monotonic(), json.loads(raw))
        self.frames.append(frame)
        return frame

    async def until(self, kind: str, limit_s: float = 20.0) -> list[Frame]:
        """Frames up to and including the first of `kind`."""
        got: list[Frame] = []
        deadline = time.monotonic() + limit_s
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            got.append(frame)
            if frame.kind() == kind:
                return got

    async def until_said(self, chars: int = 12, limit_s: float = 20.0) -> list[Frame]:
        """Frames until `chars` of outputTranscription (or text) arrived, or the turn ended."""
        got: list[Frame] = []
        while len(text_of(got, "outputTranscription") + text_of(got)) < chars:
            got.append(await self.recv(limit_s))
            if got[-1].kind() == "turnComplete":
                break
        return got

    async def turn(self, limit_s: float = 20.0) -> list[Frame]:
        return await self.until("turnComplete", limit_s)

    async def stream(self, pcm: bytes, rate: int = 16000, realtime: bool = False) -> None:
        step = rate * 2 * CHUNK_MS // 1000
        for i in range(0, len(pcm), step):
            await self.send(audio_msg(pcm[i : i + step], rate))
            if realtime:
                await asyncio.sleep(CHUNK_MS / 1000)

    async def closed(self, limit_s: float = 10.0) -> tuple[int | None, str]:
        """Wait for the server to close; (code, reason) of its close frame."""
        try:
            async with asyncio.timeout(limit_s):
                while True:
                    await self.recv(limit_s)
        except ConnectionClosed:
            pass
        frame = self.ws.protocol.close_rcvd
        return (frame.code, frame.reason) if frame else (None, "")


@asynccontextmanager
async def connect(
    server: RunningServer | str, path: str = PATH, headers: dict[str, str] | None = None
) -> AsyncIterator[Client]:
    url = server if isinstance(server, str) else server.url
    async with websockets.connect(
        url + path, additional_headers=headers, max_size=None, compression=None, open_timeout=10
    ) as ws:
        yield Client(ws)


@asynccontextmanager
async def session(
    server: RunningServer, setup: dict[str, Any] | None = None, **kw: Any
) -> AsyncIterator[Client]:
    """Connected and set up (setupComplete received)."""
    async with connect(server, **kw) as client:
        await client.send(setup or setup_msg())
        first = await client.recv()
        assert "setupComplete" in first.msg, first.msg
        yield client


@asynccontextmanager
async def running(faults_spec: str = "", **config: Any) -> AsyncIterator[RunningServer]:
    config.setdefault("port", 0)
    config["faults"] = FaultPlan.parse(faults_spec)
    config.setdefault("pace", 0.0)
    async with await start_server(ServerConfig(**config)) as server:
        yield server


def text_of(frames: list[Frame], kind: str = "text") -> str:
    if kind == "text":
        return "".join(f.content["modelTurn"]["parts"][0]["text"] for f in frames
                       if f.kind() == "text")
    return "".join(f.content[kind].get("text", "") for f in frames if f.kind() == kind)


def audio_of(frames: list[Frame]) -> bytes:
    return b"".join(base64.b64decode(f.content["modelTurn"]["parts"][0]["inlineData"]["data"])
                    for f in frames if f.kind() == "audio")
