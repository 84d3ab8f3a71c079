"""What answering REST on the WebSocket port costs the WebSocket: the local server with its
`FrontConnection` (voicecli/server/transport/front.py) against the same server with websockets'
plain `ServerConnection`, on loopback, interleaved so both see the same machine load.

Measures the opening (TCP connect → upgrade → setup → setupComplete), a text turn (send →
turnComplete, unpaced echo engine), a 640-byte audio frame written and read back by a WebSocket
echo on the raw connection class, and `POST /v1beta/auth_tokens`. Prints a table and writes
benchmarks/results/http_front.json.

    .venv/bin/python benchmarks/bench_http_front.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import platform
import statistics
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection

from voicecli.server import ServerConfig, start_server
from voicecli.server.transport import app
from voicecli.server.transport.front import FrontConnection
from voicecli.server.transport.rest import HttpReply, HttpRequest

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = json.dumps({"setup": {"model": "models/gemini-live-2.5-flash-preview",
                              "generationConfig": {"responseModalities": ["TEXT"]}}})
FRAME = b"\x01" * 640  # 20 ms of 16 kHz PCM16


class PlainConnection(ServerConnection):
    """websockets' own connection class (what the server used before the front)."""

    def __init__(self, *args: Any, rest: object = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


async def timed(fn: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def opening(url: str) -> None:
    async with websockets.connect(url + PATH, compression=None) as ws:
        await ws.send(SETUP)
        await ws.recv()


async def turn(ws: websockets.ClientConnection) -> None:
    await ws.send(json.dumps({"realtimeInput": {"text": "one two three"}}))
    while b"turnComplete" not in await ws.recv(decode=False):
        pass


async def echo_round_trip(ws: websockets.ClientConnection) -> None:
    await ws.send(FRAME)
    await ws.recv()


async def measure(kind: type[ServerConnection], rounds: int) -> dict[str, list[float]]:
    original = app.FrontConnection
    app.FrontConnection = kind  # type: ignore[misc]
    try:
        server = await start_server(ServerConfig(port=0, pace=0))
    finally:
        app.FrontConnection = original  # type: ignore[misc]
    results: dict[str, list[float]] = {}
    async with server:
        results["opening"] = await timed(lambda: opening(server.url), rounds)
        async with websockets.connect(server.url + PATH, compression=None) as ws:
            await ws.send(SETUP)
            await ws.recv()
            results["text turn"] = await timed(lambda: turn(ws), rounds)
        if kind is FrontConnection:
            url = f"http://127.0.0.1:{server.port}/v1beta/auth_tokens"
            results["POST auth_tokens"] = await timed(lambda: asyncio.to_thread(post, url), rounds)
    results["frame echo"] = await echo_samples(kind, rounds * 10)
    return results


async def echo_samples(kind: type[ServerConnection], rounds: int) -> list[float]:
    """The per-frame path alone: a bare echo handler on the connection class under test."""
    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    def rest(request: HttpRequest) -> HttpReply:
        return HttpReply(404, {})

    factory = functools.partial(kind, rest=rest)
    async with websockets.serve(echo, "127.0.0.1", 0, create_connection=factory,  # type: ignore[arg-type]
                                compression=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        async with websockets.connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
            return await timed(lambda: echo_round_trip(ws), rounds)


def post(url: str) -> None:
    request = urllib.request.Request(url, b"{}", {"Content-Type": "application/json"},
                                     method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        response.read()


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
            "mean_ms": round(statistics.fmean(ordered), 3), "n": len(ordered)}


async def main(rounds: int) -> dict[str, Any]:
    merged: dict[str, dict[str, list[float]]] = {"plain": {}, "front": {}}
    for _ in range(3):  # interleave, so drift in machine load hits both alike
        for name, kind in (("plain", PlainConnection), ("front", FrontConnection)):
            for metric, samples in (await measure(kind, rounds // 3)).items():
                merged[name].setdefault(metric, []).extend(samples)
    return {name: {m: summary(s) for m, s in metrics.items()} for name, metrics in merged.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    results = asyncio.run(main(parser.parse_args().rounds))
    print(f"{'metric':18} {'plain p50':>10} {'front p50':>10} {'plain p95':>10} {'front p95':>10}")
    for metric in results["front"]:
        plain = results["plain"].get(metric, {})
        front = results["front"][metric]
        print(f"{metric:18} {plain.get('p50_ms', float('nan')):10.3f} {front['p50_ms']:10.3f} "
              f"{plain.get('p95_ms', float('nan')):10.3f} {front['p95_ms']:10.3f}")
    out = Path(__file__).parent / "results" / "http_front.json"
    results["machine"] = {"python": platform.python_version(), "cpu": platform.processor()}
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
