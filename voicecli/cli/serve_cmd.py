"""`voicecli serve`: the local Live-protocol server."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voicecli.cli.options import ConfigPath, settings_from_flags
from voicecli.cli.output import notice
from voicecli.errors import ConfigError, UsageError, VoicecliError
from voicecli.logs import register_secret

if TYPE_CHECKING:
    from voicecli.server import RunningServer
    from voicecli.server.transport.tls import TlsFiles

ENGINE = "Local engine"


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="TCP port (0 = any free port).")] = 8765,
    require_key: Annotated[
        str | None,
        typer.Option("--require-key", envvar="VOICECLI_SERVE_KEY",
                     help="Accept only this key/token (VOICECLI_SERVE_KEY)."),
    ] = None,
    lifetime: Annotated[
        float | None,
        typer.Option("--lifetime", help="Send goAway this many seconds into each connection."),
    ] = None,
    fault: Annotated[
        str | None,
        typer.Option("--fault", envvar="VOICECLI_SERVE_FAULTS",
                     help="Fault injection for tests, e.g. close-after=5:1011,goaway-after=2."),
    ] = None,
    pace: Annotated[
        float, typer.Option("--pace", help="Reply audio pacing: 1 = real time, 0 = unpaced.")
    ] = 1.0,
    max_sessions: Annotated[int, typer.Option("--max-sessions", help="Concurrent sessions.")] = 64,
    idle_timeout: Annotated[
        float | None,
        typer.Option("--idle-timeout", help="Send goAway to, then close, a session whose client "
                     "sent nothing for this many seconds (default 600, config "
                     "local_idle_timeout_s; 0 = never)."),
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option("--allow-origin", help="Let web pages from this Origin connect, e.g. "
                     "http://localhost:3000 (repeatable; * = any). Others are refused."),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve wss:// with a self-signed certificate for "
                           "localhost, made once in ~/.local/state/voicecli/tls.")
    ] = False,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Serve wss:// with this certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="The private key of --tls-cert (PEM).")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local: the configured brain (else the echo "
                          "assistant); echo: always the echo assistant.", rich_help_panel=ENGINE)
    ] = "local",
    asr: Annotated[
        str | None, typer.Option("--asr", help="Recogniser: whisper (bundled tiny.en; the "
                                 "default) | pocketsphinx (lighter, demo quality).",
                                 rich_help_panel=ENGINE)
    ] = None,
    asr_model: Annotated[
        str | None, typer.Option("--asr-model", help="whisper: a model folder, or a name (base, "
                                 "small, …; downloaded on first use).", rich_help_panel=ENGINE)
    ] = None,
    tts: Annotated[
        str | None, typer.Option("--tts", help="Voice: piper (en_US-joe-medium for English, "
                                 "espeak-ng for other languages; the default) | espeak.",
                                 rich_help_panel=ENGINE)
    ] = None,
    brain: Annotated[
        str | None, typer.Option("--brain", help="A local model server by name: ollama, "
                                 "llamacpp or lmstudio, optionally :MODEL (default: the first "
                                 "it lists). Without a brain, serve looks for one of these.",
                                 rich_help_panel=ENGINE)
    ] = None,
    brain_url: Annotated[
        str | None, typer.Option("--brain-url", help="OpenAI-compatible endpoint, e.g. "
                                 "http://127.0.0.1:11434/v1 (Ollama).", rich_help_panel=ENGINE)
    ] = None,
    brain_model: Annotated[
        str | None, typer.Option("--brain-model", help="The model it serves, e.g. llama3.2.",
                                 rich_help_panel=ENGINE)
    ] = None,
    config_path: ConfigPath = None,
) -> None:
    """Run a local server that speaks the Gemini Live protocol with offline speech parts.

    The brain's key, if the endpoint needs one, comes from VOICECLI_BRAIN_KEY or the config
    file's local_brain_key (never from the command line, where others can read it).
    """
    from voicecli.client.backends import LOCAL_HINT, local_engine_installed

    if not local_engine_installed():
        raise ConfigError(f"voicecli serve needs the offline engine, which is not installed: "
                          f"{LOCAL_HINT}")
    from voicecli.server import FaultPlan, serve_forever
    from voicecli.server.transport.assembly import config_from_settings

    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0–65535, not {port}")
    _check_numbers(pace=pace, max_sessions=max_sessions, lifetime=lifetime,
                   idle_timeout=idle_timeout)
    _check_host(host)
    try:
        faults = FaultPlan.parse(fault) if fault else FaultPlan()
    except ValueError as exc:
        raise UsageError(f"--fault: {exc}") from None
    if require_key:
        register_secret(require_key)
    if not _is_loopback(host):
        notice(f"voicecli serve: warning: listening on {host}, reachable from other machines")
    if engine not in ("local", "echo"):
        raise UsageError(f"--engine must be local or echo, not {engine!r}")
    if brain and brain_url:
        raise UsageError("--brain and --brain-url are two ways to name the brain: give one")
    settings = settings_from_flags(config_path, local_asr=asr, local_asr_model=asr_model,
                                   local_tts=tts, local_brain_url=brain_url,
                                   local_brain_model=brain_model)
    idle = settings.local.idle_timeout_s if idle_timeout is None else idle_timeout
    config = config_from_settings(
        settings, host=host, port=port, require_key=require_key, faults=faults,
        connection_lifetime_s=lifetime, pace=pace, max_sessions=max_sessions,
        tls=_tls_files(tls, tls_cert, tls_key), idle_timeout_s=idle or None,
        allowed_origins=_origins(allow_origin or []), brain=brain,
    )
    if brain:
        config.brain_url = None  # --brain wins over the config file's local_brain_url
    if engine == "echo":
        config.brain_url, config.brain, config.discover_brain = None, None, False
    try:
        asyncio.run(serve_forever(config, on_ready=_announce))
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the exit
        notice("voicecli serve: stopped")


def _check_numbers(*, pace: float, max_sessions: int, lifetime: float | None,
                   idle_timeout: float | None) -> None:
    """Bad values are one line now, not a server that misbehaves later."""
    if not (math.isfinite(pace) and pace >= 0):
        raise UsageError(f"--pace must be a number >= 0 (1 = real time, 0 = unpaced), not {pace}")
    if max_sessions < 1:
        raise UsageError(f"--max-sessions must be at least 1, not {max_sessions}")
    if lifetime is not None and not (math.isfinite(lifetime) and lifetime > 0):
        raise UsageError(f"--lifetime must be a number of seconds > 0, not {lifetime}")
    if idle_timeout is not None and not (math.isfinite(idle_timeout) and idle_timeout >= 0):
        raise UsageError(f"--idle-timeout must be a number of seconds >= 0, not {idle_timeout}")


def _check_host(host: str) -> None:
    """An address that does not resolve is refused before anything starts."""
    try:
        socket.getaddrinfo(host or None, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"--host {host!r} is not an address of this machine: {reason}") from None


def _origins(values: list[str]) -> tuple[str, ...]:
    """`--allow-origin` values as browsers send them: scheme://host[:port], no path."""
    origins = []
    for value in values:
        origin = value.strip().rstrip("/")
        if origin != "*" and (origin.count("://") != 1 or "/" in origin.split("://", 1)[1]):
            raise UsageError(f"--allow-origin takes scheme://host[:port] (or *), not {value!r}")
        origins.append(origin)
    return tuple(origins)


def _tls_files(tls: bool, cert: Path | None, key: Path | None) -> TlsFiles | None:
    from voicecli.server.transport.tls import TlsFiles, self_signed  # the server loads lazily

    if (cert is None) != (key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if cert is not None and key is not None:
        for path in (cert, key):
            if not path.is_file():
                raise UsageError(f"no such file: {path}")
        files = TlsFiles(cert, key)
        files.server_context()  # a bad pair is one line now, not a failure per connection
        return files
    return self_signed() if tls else None


async def _announce(server: RunningServer) -> None:
    notice(f"voicecli serve: listening on {server.url}")
    if server.config.tls is not None:
        notice(f"voicecli serve: clients must trust {server.config.tls.cert} "
               f"(e.g. SSL_CERT_FILE={server.config.tls.cert})")
    for part, what in server.loaded():
        notice(f"voicecli serve: {part}: {what}")
    probe = getattr(server.engine, "probe", None)
    if callable(probe):
        try:
            await probe()
        except VoicecliError as exc:
            notice(f"voicecli serve: warning: {exc}; replies apologise until it answers")
    notice(f"voicecli serve: {server.describe()}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
