"""Hostile clients against the real local server: sockets that never set up, idle sessions, web
pages, malformed HTTP, floods of garbage, and `voicecli serve` values that cannot work.

Everything talks to a real server on the loopback: in-process (`running`) where the test needs
the server's own counters, `voicecli serve` as a subprocess where the user's view matters (its
stderr, its exit code).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.server.helpers import PATH, Client, connect, running, session, setup_msg, text_of
from voicecli.server import RunningServer
from voicecli.server.transport.connection import full_reason, idle_reason

SILENT_CLOSE = (1008, "No setup message received in time.")


async def _raw(server: RunningServer | tuple[str, int], data: bytes, limit_s: float = 5.0,
               ) -> bytes:
    """Send `data` on a plain TCP connection; everything the server answers until it closes."""
    host, port = (server.host, server.port) if isinstance(server, RunningServer) else server
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(limit_s):
            return await reader.read()  # to EOF: the server closes after answering
    finally:
        writer.close()


async def _silent(stack: contextlib.AsyncExitStack, server: RunningServer, n: int,
                  ) -> list[Client]:
    """`n` upgraded sockets that send nothing."""
    return [await stack.enter_async_context(connect(server)) for _ in range(n)]


async def _served_promptly(server: RunningServer | str, limit_s: float = 3.0) -> float:
    """One good session (setup, a question, the whole turn); seconds it took. (A `voicecli
    serve` subprocess here does not look for a language model: VOICECLI_BRAIN_PROBE=off.)"""
    started = time.monotonic()
    async with asyncio.timeout(limit_s):
        async with connect(server) as client:
            await client.send(setup_msg())
            assert "setupComplete" in (await client.recv()).msg
            await client.send({"realtimeInput": {"text": "are you there"}})
            assert text_of(await client.turn()) == "You said: are you there."
    return time.monotonic() - started


async def _setup_complete_after(url: str) -> float:
    """Seconds from connecting to setupComplete."""
    started = time.monotonic()
    async with asyncio.timeout(10), connect(url) as client:
        await client.send(setup_msg())
        assert "setupComplete" in (await client.recv()).msg
    return time.monotonic() - started


# ---- sockets that never send setup ---------------------------------------------------------


async def test_silent_upgrades_hold_no_session_slot_and_are_closed_in_seconds() -> None:
    async with running(max_sessions=2, setup_timeout_s=1.5) as server, \
            contextlib.AsyncExitStack() as stack:
        silent = await _silent(stack, server, 10)
        started = time.monotonic()
        assert server.sessions_active == 0 and server.shared.pending == 10
        await _served_promptly(server, limit_s=1.4)  # before any of them timed out
        async with session(server), session(server):
            assert server.sessions_active == 2  # the cap counts set-up sessions only
        closes = await asyncio.gather(*(client.closed(5) for client in silent))
        assert set(closes) == {SILENT_CLOSE}
        assert 1.4 <= time.monotonic() - started <= 4.0
        assert server.shared.pending == 0


async def test_sixty_four_silent_sockets_do_not_lock_out_a_good_client() -> None:
    """The issue's report: 64 silent sockets gave every good client HTTP 503 for 30 s."""
    async with running() as server, contextlib.AsyncExitStack() as stack:
        await _silent(stack, server, 64)  # the defaults: 64 sessions, setup within 5 s
        assert server.sessions_active == 0
        assert await _served_promptly(server) < 3.0


async def test_too_many_waiting_sockets_get_503_until_they_are_gone() -> None:
    async with running(max_pending=4, setup_timeout_s=1.0) as server, \
            contextlib.AsyncExitStack() as stack:
        silent = await _silent(stack, server, 4)
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.url + PATH)
        assert refused.value.response.status_code == 503
        await asyncio.gather(*(client.closed(5) for client in silent))
        await _served_promptly(server)


async def test_the_session_cap_is_a_close_with_a_reason() -> None:
    async with running(max_sessions=1) as server, session(server):
        async with connect(server) as second:  # closed at once, or after its setup
            with contextlib.suppress(websockets.ConnectionClosed):
                await second.send(setup_msg())
            assert await second.closed() == (1013, full_reason(1)) and len(full_reason(64)) <= 123
        assert server.sessions_active == 1
    async with running(max_sessions=1) as server:
        async with session(server):
            pass
        await _served_promptly(server)  # the slot came back


# ---- idle sessions ---------------------------------------------------------------------------


async def test_an_idle_session_gets_go_away_then_a_close() -> None:
    async with running(idle_timeout_s=0.6, go_away_grace_s=0.4) as server:
        async with session(server) as client:
            started = time.monotonic()
            frame = await client.recv(5)
            assert frame.msg == {"goAway": {"timeLeft": "0.4s"}}
            assert 0.5 <= time.monotonic() - started <= 2.0
            assert await client.closed(5) == (1008, idle_reason(0.6))
        assert server.sessions_active == 0


async def test_a_talking_client_or_a_long_reply_is_not_idle() -> None:
    async with running(idle_timeout_s=0.6, go_away_grace_s=0.3) as server:
        async with session(server) as client:
            for n in range(6):  # 1.8 s of messages, each quiet gap shorter than the limit
                await client.send({"realtimeInput": {"text": f"message {n}"}})
                assert "You said" in text_of(await client.turn())
                await asyncio.sleep(0.3)
            assert not [f for f in client.frames if "goAway" in f.msg]
    # a reply that takes longer than the limit (delay-ms) is the server's silence, not the client's
    async with running("delay-ms=300", idle_timeout_s=0.5, go_away_grace_s=0.3) as server:
        async with session(server) as client:
            await client.send({"realtimeInput": {"text": "one two three four five six"}})
            frames = await client.turn(10)
            assert not [f for f in frames if "goAway" in f.msg]


async def test_idle_timeout_off() -> None:
    async with running(idle_timeout_s=None) as server, session(server) as client:
        with pytest.raises(TimeoutError):
            await client.recv(1.0)


# ---- web pages -------------------------------------------------------------------------------


async def test_a_web_page_cannot_connect_unless_its_origin_is_allowed() -> None:
    async with running() as server:
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.url + PATH, origin="https://evil.example")
        assert refused.value.response.status_code == 403
        await _served_promptly(server)  # no Origin header: a program, served as before
        reply = await _raw(server, _post("/v1beta/auth_tokens", b"{}",
                                         origin="https://evil.example"))
        assert reply.startswith(b"HTTP/1.1 403 ")
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]["status"] == (
            "PERMISSION_DENIED")
    async with running(allowed_origins=("http://localhost:3000",)) as server:
        async with websockets.connect(server.url + PATH, origin="http://localhost:3000") as ws:
            await ws.send(json.dumps(setup_msg()))
            assert "setupComplete" in json.loads(await ws.recv())
        with pytest.raises(InvalidStatus):
            await websockets.connect(server.url + PATH, origin="http://localhost:3001")
        reply = await _raw(server, _post("/v1beta/auth_tokens", b"{}",
                                         origin="http://localhost:3000"))
        assert reply.startswith(b"HTTP/1.1 200 ")
    async with running(allowed_origins=("*",)) as server:
        async with websockets.connect(server.url + PATH, origin="https://any.example"):
            pass


# ---- malformed HTTP --------------------------------------------------------------------------


def _post(path: str, body: bytes, *, length: str | None = None, origin: str | None = None,
          ) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1",
            f"Content-Length: {len(body) if length is None else length}"]
    if origin is not None:
        head.append(f"Origin: {origin}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body


@pytest.mark.parametrize("request_bytes", [
    _post("/v1beta/auth_tokens", b"{}", length="²"),  # str.isdigit() is True for it
    _post("/v1beta/auth_tokens", b"{}", length="٣"),  # Arabic-Indic three
    _post("/v1beta/auth_tokens", b"{}", length="-1"),
    _post("/v1beta/auth_tokens", b"{}", length="0x10"),
    _post("/v1beta/auth_tokens", b"{}", length="99999999999999999999"),
    b"POST\r\n\r\n",
    b"DELETE \xff\xfe HTTP/1.1\r\nX\x00: \x01\r\n\r\n",
])
async def test_malformed_http_gets_a_4xx_and_no_traceback(
    request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with running() as server:
        reply = await _raw(server, request_bytes)
        status = int(reply.split(b" ", 2)[1])
        assert 400 <= status < 500, reply
        assert "error" in json.loads(reply.split(b"\r\n\r\n", 1)[1])
        await _served_promptly(server)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_an_unfinished_http_request_is_dropped() -> None:
    async with running(setup_timeout_s=1.0) as server:
        started = time.monotonic()
        assert await _raw(server, b"POST /v1beta/auth_tokens HTTP/1.1\r\nContent-", 5) == b""
        assert time.monotonic() - started < 3.0


# ---- a flood of garbage, against `voicecli serve` --------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICECLI_", "GEMINI"))}
    env["VOICECLI_BRAIN_PROBE"] = "off"  # other programs' ports are not probed (conftest.py)
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "voicecli", "serve", *args], env=env,
                            stderr=subprocess.PIPE, text=True)


async def _garbage(port: int, n: int) -> None:
    """One of eight kinds of rubbish, by n."""
    host = "127.0.0.1"
    kind = n % 8
    if kind == 0:  # raw bytes that are not HTTP
        await _raw((host, port), os.urandom(64))
    elif kind == 1:  # an HTTP head that never ends
        await _raw((host, port), b"GET " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n", 10)
    elif kind == 2:  # a REST body that never comes
        await _raw((host, port), _post("/v1beta/auth_tokens", b"", length="100"), 10)
    elif kind == 3:  # a malformed length
        await _raw((host, port), _post("/v1beta/auth_tokens", b"{}", length="¹"))
    else:
        url = f"ws://{host}:{port}{PATH}"
        try:
            ws = await websockets.connect(url, open_timeout=10, compression=None)
        except (InvalidStatus, OSError, TimeoutError):
            return
        try:
            if kind == 4:
                await ws.send(b"\xff\x00not json")
            elif kind == 5:
                await ws.send(json.dumps({"realtimeInput": {"text": "no setup first"}}))
            elif kind == 6:
                await ws.send(json.dumps(setup_msg()))
                await ws.send("{" * 5000)
            await asyncio.sleep(0.2)  # kind 7: silent
        except websockets.ConnectionClosed:
            pass
        ws.transport.abort()  # no close frame


async def test_two_hundred_garbage_connections_then_a_good_client_is_served_promptly(
    tmp_path: Path,
) -> None:
    port = _free_port()
    proc = _serve(tmp_path, "--port", str(port), "--pace", "0")
    try:
        assert proc.stderr is not None and "listening" in proc.stderr.readline()
        url = f"ws://127.0.0.1:{port}"
        await _served_promptly(url, limit_s=20)  # warm
        flood = asyncio.gather(*(_garbage(port, n) for n in range(200)))
        await asyncio.sleep(0.05)  # the flood is connecting
        during = await _setup_complete_after(url)
        await flood
        after = await _setup_complete_after(url)
        assert during <= 1.5 and after <= 1.5, (during, after)
        assert await _served_promptly(url) < 1.5
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    assert "Traceback" not in stderr and "Error" not in stderr, stderr


# ---- serve values that cannot work -----------------------------------------------------------


@pytest.mark.parametrize(("args", "fragment"), [
    (["--pace", "-1"], "--pace"),
    (["--pace", "nan"], "--pace"),
    (["--max-sessions", "0"], "--max-sessions"),
    (["--lifetime", "-1"], "--lifetime"),
    (["--idle-timeout", "-5"], "--idle-timeout"),
    (["--host", "no-such-host.invalid"], "no-such-host.invalid"),
    (["--allow-origin", "evil.example"], "--allow-origin"),
])
def test_bad_serve_values_are_one_line_exit_2_before_listening(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    port = _free_port()
    proc = _serve(tmp_path, "--port", str(port), *args)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    assert len(stderr.strip().splitlines()) == 1 and fragment in stderr, stderr
    assert "listening" not in stderr and "Traceback" not in stderr


def test_a_port_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(tmp_path, "--port", str(port))
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], stderr


@pytest.mark.parametrize("data", [bytes(range(1, 17)), b"\x16\x03\x01\x02\x00\x01",
                                  b"SSH-2.0-OpenSSH_9.2 x"])
async def test_bytes_that_are_not_http_are_answered_400_at_once(data: bytes) -> None:
    async with running(setup_timeout_s=5.0) as server:
        started = time.monotonic()
        reply = await _raw(server, data, limit_s=2.0)  # not held until the 5 s timeout
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    assert time.monotonic() - started < 1.0
