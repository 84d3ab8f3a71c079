"""Finding a language model where users keep one: the usual local OpenAI-compatible servers.

With no brain configured, `voicecli serve` and the embedded local engine ask each candidate for
``GET /v1/models`` at once (:data:`PROBE_BUDGET_S` for all of them together) and use the first,
in :data:`CANDIDATES` order, that lists a model: Ollama (11434), llama.cpp's server (8080), LM
Studio (1234). `--brain ollama[:MODEL]` (and ``llamacpp``, ``lmstudio``) names one directly.

`VOICECLI_BRAIN_PROBE` replaces the candidates (``name=host:port,…``; tests point it at their
stub servers) or turns probing ``off``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

from voicecli.errors import ConfigError
from voicecli.numbers import is_digits
from voicecli.server.engines.openai_http import BaseUrl, HttpError, Timeouts, get_json

log = logging.getLogger("voicecli.server")

PROBE_BUDGET_S = 0.3
PROBE_ENV = "VOICECLI_BRAIN_PROBE"


@dataclass(frozen=True)
class Candidate:
    """A local server that may be running: its short name, what users call it, where."""

    name: str
    label: str
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"


CANDIDATES = (
    Candidate("ollama", "Ollama", "127.0.0.1", 11434),
    Candidate("llamacpp", "llama.cpp server", "127.0.0.1", 8080),
    Candidate("lmstudio", "LM Studio", "127.0.0.1", 1234),
)
_ALIASES = {"llama.cpp": "llamacpp", "llama-cpp": "llamacpp", "llama-server": "llamacpp",
            "lm-studio": "lmstudio"}
_LABELS = {c.name: c.label for c in CANDIDATES}


@dataclass(frozen=True)
class Found:
    """A server that answered with at least one model."""

    candidate: Candidate
    models: tuple[str, ...]

    @property
    def base_url(self) -> str:
        return self.candidate.base_url


def candidates() -> tuple[Candidate, ...]:
    """The servers to probe: :data:`CANDIDATES`, or `VOICECLI_BRAIN_PROBE`'s (``()`` = off)."""
    wanted = os.environ.get(PROBE_ENV, "").strip()
    if not wanted:
        return CANDIDATES
    if wanted.lower() in ("off", "0", "no", "none"):
        return ()
    return tuple(_parse_candidate(item) for item in wanted.split(",") if item.strip())


def _parse_candidate(item: str) -> Candidate:
    name, sep, where = item.strip().partition("=")
    host, colon, port = where.rpartition(":")
    if not sep or not colon or not is_digits(port) or not host:
        raise ConfigError(f"{PROBE_ENV}: expected name=host:port, not {item.strip()!r}")
    name = _ALIASES.get(name.strip().lower(), name.strip().lower())
    return Candidate(name, _LABELS.get(name, name), host.strip("[]"), int(port))


def shorthand(brain: str, probe: tuple[Candidate, ...] | None = None) -> Candidate | None:
    """The candidate `--brain NAME[:MODEL]` names (its NAME part), or None if it is not one."""
    name = brain.partition(":")[0].strip().lower()
    name = _ALIASES.get(name, name)
    pool = {c.name: c for c in CANDIDATES}
    pool.update({c.name: c for c in (probe or ())})
    return pool.get(name)


async def discover(found_in: tuple[Candidate, ...] | None = None,
                   budget_s: float = PROBE_BUDGET_S) -> Found | None:
    """The first of `found_in` (default :func:`candidates`) that lists a model, or None.

    All are asked at once; the whole probe takes at most `budget_s`.
    """
    pool = candidates() if found_in is None else found_in
    if not pool:
        return None
    tasks = [asyncio.ensure_future(_models(c, budget_s)) for c in pool]
    done, pending = await asyncio.wait(tasks, timeout=budget_s)
    for task in pending:
        task.cancel()
    for candidate, task in zip(pool, tasks, strict=True):
        if task in done and not task.cancelled() and task.exception() is None and task.result():
            return Found(candidate, task.result())
    return None


async def list_models(candidate: Candidate, timeout_s: float = 2.0) -> tuple[str, ...]:
    """The model ids `candidate` lists; ConfigError (one line) when it does not answer."""
    try:
        return _ids(await get_json(BaseUrl.parse(candidate.base_url), "/models", api_key=None,
                                   timeouts=Timeouts(timeout_s, timeout_s)))
    except HttpError as exc:
        raise ConfigError(f"{candidate.label} at {candidate.base_url} is not answering: {exc}; "
                          f"is it running?") from None


async def _models(candidate: Candidate, timeout_s: float) -> tuple[str, ...]:
    try:
        listing = await get_json(BaseUrl.parse(candidate.base_url), "/models", api_key=None,
                                 timeouts=Timeouts(timeout_s, timeout_s))
    except (HttpError, OSError, ValueError) as exc:
        log.debug("brain probe: %s: %s", candidate.label, exc)
        return ()
    return _ids(listing)


def _ids(listing: Any) -> tuple[str, ...]:
    """Model ids of an OpenAI `/models` listing (``{"data": [{"id": …}, …]}``)."""
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        return ()
    return tuple(str(m["id"]) for m in data
                 if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"].strip())
