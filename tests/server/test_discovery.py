"""Brain discovery (server/engines/discovery.py): real OpenAI-compatible stub servers on the
ports the probe is pointed at (VOICECLI_BRAIN_PROBE; the real 11434/8080/1234 may be in use
here)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.cli.test_cli import clean_env, default_sigint, free_port
from tests.server.openai_stub import OpenAIStub, Text
from voicecli.errors import ConfigError
from voicecli.server import start_server
from voicecli.server.engines import discovery
from voicecli.server.engines.echo_assistant import NO_BRAIN_NOTICE
from voicecli.server.transport.assembly import config_from_settings
from voicecli.settings import load_settings

from .helpers import AUDIO_MODEL, session, setup_msg, text_of

NAMES = ("ollama", "llamacpp", "lmstudio")


def probe_env(ports: dict[str, int]) -> str:
    return ",".join(f"{name}=127.0.0.1:{ports[name]}" for name in NAMES)


@asynccontextmanager
async def stubs(*listing: tuple[str, ...] | None) -> AsyncIterator[dict[str, object]]:
    """One stub per candidate (None: nothing listens on its port); yields name → stub/port."""
    started: dict[str, object] = {}
    try:
        for name, models in zip(NAMES, listing, strict=True):
            if models is None:
                started[name] = free_port()
            else:
                stub = await OpenAIStub(models=models).start()
                stub.script(Text(f"{name} answers."))
                started[name] = stub
        yield started
    finally:
        for value in started.values():
            if isinstance(value, OpenAIStub):
                await value.close()


def ports(started: dict[str, object]) -> dict[str, int]:
    return {n: v.port if isinstance(v, OpenAIStub) else int(v)  # type: ignore[arg-type]
            for n, v in started.items()}


@pytest.mark.parametrize("which", range(3))
async def test_each_probed_server_is_found_when_it_alone_lists_a_model(
    which: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    listing: list[tuple[str, ...] | None] = [None, None, None]
    listing[which] = ("model-a", "model-b")
    async with stubs(*listing) as started:
        monkeypatch.setenv(discovery.PROBE_ENV, probe_env(ports(started)))
        found = await discovery.discover()
        assert found is not None
        assert found.candidate.name == NAMES[which] and found.models == ("model-a", "model-b")
        assert found.base_url == started[NAMES[which]].base_url  # type: ignore[attr-defined]


async def test_the_first_in_order_that_lists_a_model_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with stubs((), ("llama3.2",), ("qwen",)) as started:  # ollama runs but lists none
        monkeypatch.setenv(discovery.PROBE_ENV, probe_env(ports(started)))
        found = await discovery.discover()
    assert found is not None and found.candidate.label == "llama.cpp server"


async def test_a_server_that_never_answers_costs_at_most_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    mute = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = mute.sockets[0].getsockname()[1]
        async with stubs(None, None, ("late-model",)) as started:
            where = ports(started) | {"ollama": port}
            monkeypatch.setenv(discovery.PROBE_ENV, probe_env(where))
            start = time.perf_counter()
            found = await discovery.discover()
            took = time.perf_counter() - start
    finally:
        mute.close()
    assert took < discovery.PROBE_BUDGET_S + 0.1
    assert found is None or found.candidate.name == "lmstudio"  # never the mute one


async def test_the_found_brain_answers_and_the_start_up_line_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with stubs(None, ("llama3.2",), None) as started:
        monkeypatch.setenv(discovery.PROBE_ENV, probe_env(ports(started)))
        config = config_from_settings(load_settings({}), port=0, pace=0.0)
        async with await start_server(config) as server:
            brain = dict(server.loaded())["brain"]
            async with session(server) as c:
                await c.send({"realtimeInput": {"text": "hello"}})
                frames = await c.turn()
    assert "llama3.2" in brain and "found: llama.cpp server" in brain, brain
    assert text_of(frames) == "llamacpp answers."


async def test_with_none_found_the_echo_assistant_says_so_once_spoken_and_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with stubs(None, (), None) as started:
        monkeypatch.setenv(discovery.PROBE_ENV, probe_env(ports(started)))
        config = config_from_settings(load_settings({}), port=0, pace=0.0)
        async with await start_server(config) as server:
            assert "no language model found" in dict(server.loaded())["brain"]
            setup = setup_msg(AUDIO_MODEL, "AUDIO", outputAudioTranscription={})
            async with session(server, setup) as c:
                await c.send({"realtimeInput": {"text": "hello"}})
                first = await c.turn()
                await c.send({"realtimeInput": {"text": "again"}})
                second = await c.turn()
    spoken = text_of(first, "outputTranscription")
    assert spoken == f"{NO_BRAIN_NOTICE} You said: hello."
    assert "Gemini API key" in spoken and "Ollama" in spoken
    assert sum(len(f.content["modelTurn"]["parts"][0]["inlineData"]["data"]) for f in first
               if f.kind() == "audio") > 100_000  # the notice is spoken, not only written
    assert text_of(second, "outputTranscription").startswith("You said: again.")


async def test_brain_shorthand_uses_the_named_server_and_its_first_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with stubs(("gemma3", "llama3.2"), None, None) as started:
        monkeypatch.setenv(discovery.PROBE_ENV, probe_env(ports(started)))
        config = config_from_settings(load_settings({}), port=0, pace=0.0, brain="ollama")
        async with await start_server(config) as server:
            assert config.brain_model == "gemma3" and config.brain_found == "Ollama"
            assert server.engine.model == "gemma3"  # type: ignore[attr-defined]
        config = config_from_settings(load_settings({}), port=0, brain="ollama:llama3.2")
        async with await start_server(config) as server:
            assert server.engine.model == "llama3.2"  # type: ignore[attr-defined]
        config = config_from_settings(load_settings({}), port=0, brain="lmstudio")
        with pytest.raises(ConfigError, match="LM Studio at http://127.0.0.1:.* is not answer"):
            await start_server(config)
        with pytest.raises(ConfigError, match="--brain must be ollama, llamacpp or lmstudio"):
            await start_server(config_from_settings(load_settings({}), port=0, brain="gpt"))


def test_serve_start_up_line_says_which_server_it_found(tmp_path: Path) -> None:
    async def run() -> str:
        async with stubs(("llama3.2",), None, None) as started:
            env = clean_env(tmp_path, VOICECLI_BRAIN_PROBE=probe_env(ports(started)))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "voicecli", "serve", "--port", str(free_port()), env=env,
                stderr=asyncio.subprocess.PIPE, preexec_fn=default_sigint)
            assert proc.stderr is not None
            lines = [(await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
                     for _ in range(5)]
            proc.terminate()
            await proc.wait()
            return "".join(lines)

    banner = asyncio.run(run())
    assert "brain: language model llama3.2 at http://127.0.0.1:" in banner, banner
    assert "found: Ollama" in banner, banner
