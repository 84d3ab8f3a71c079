"""`voicecli serve --tls`: the self-signed certificate, and wss end to end with our own CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.cli.test_cli import assert_one_line_error, clean_env, default_sigint, free_port, voicecli
from voicecli.server import ServerConfig, start_server
from voicecli.server.transport.tls import self_signed


@pytest.mark.parametrize("maker", ["cryptography", "openssl"])
async def test_the_certificate_serves_wss_to_a_client_trusting_it(
    tmp_path: Path, maker: str
) -> None:
    files = self_signed(tmp_path, maker=maker)
    assert stat.S_IMODE(os.stat(files.key).st_mode) == 0o600
    async with await start_server(ServerConfig(port=0, tls=files)) as server:
        assert server.url.startswith("wss://127.0.0.1:")
        path = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        url = server.url + path
        async with connect(url, ssl=files.client_context()) as ws:
            await ws.send('{"setup": {"model": "models/gemini-live-2.5-flash-preview"}}')
            assert "setupComplete" in str(await ws.recv())
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            async with connect(url):  # the system's trust store does not know it
                pass


def test_the_certificate_is_made_once_and_reused(tmp_path: Path) -> None:
    first = self_signed(tmp_path)
    made = first.cert.read_bytes()
    again = self_signed(tmp_path)
    assert again == first and again.cert.read_bytes() == made
    old = first.cert.stat().st_mtime - 900 * 86400
    os.utime(first.cert, (old, old))  # near the end of its validity: renewed
    assert self_signed(tmp_path).cert.read_bytes() != made


def test_serve_tls_and_ask_over_wss(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "state"
    env = clean_env(tmp_path, XDG_STATE_HOME=str(state))
    server = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "serve", "--port", str(port), "--pace", "0", "--tls"],
        env=env, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    try:
        assert server.stderr is not None
        assert f"listening on wss://127.0.0.1:{port}" in server.stderr.readline()
        cert = state / "voicecli" / "tls" / "cert.pem"
        assert str(cert) in server.stderr.readline()
        ask_env = dict(env, SSL_CERT_FILE=str(cert), GEMINI_API_KEY="any-key")
        proc = voicecli("ask", "--base-url", f"https://127.0.0.1:{port}", "hello over tls",
                        env=ask_env)
        assert proc.returncode == 0, proc.stderr
        assert "hello over tls" in proc.stdout.lower()
        untrusted = voicecli("ask", "--base-url", f"https://127.0.0.1:{port}", "hello",
                             env=dict(env, GEMINI_API_KEY="any-key"))
        assert untrusted.returncode != 0 and "Traceback" not in untrusted.stderr
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
    (["--tls-cert", "missing.pem", "--tls-key", "missing.pem"], "no such file"),
    (["--tls-cert", "bad.pem", "--tls-key", "bad.pem"], "cannot use TLS certificate"),
])
def test_bad_tls_flags_are_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    args = [str(tmp_path / a) if a.endswith(".pem") else a for a in args]
    proc = voicecli("serve", "--port", str(free_port()), *args, env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, fragment)
