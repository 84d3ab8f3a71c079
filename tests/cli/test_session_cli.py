"""The real `voicecli` for images, history, resumption, token usage and translation: a
subprocess against `voicecli serve` (another subprocess) or the embedded engine."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.cli.test_cli import (
    SECRET,
    assert_one_line_error,
    clean_env,
    default_sigint,
    free_port,
    voicecli,
)
from tests.speechgen import speech_pcm16


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """One `voicecli serve` subprocess for this module: (url, process)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecli", "serve", "--port", str(port), "--pace", "0",
         "--require-key", SECRET],
        env=clean_env(tmp_path_factory.mktemp("serve")), stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert f"ws://127.0.0.1:{port}" in line, line
    yield f"http://127.0.0.1:{port}", proc
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)


def remote(served: tuple[str, object]) -> list[str]:
    return ["--base-url", served[0], "--api-key", SECRET]


def picture(tmp_path: Path, name: str, fmt: str, size: tuple[int, int] = (1600, 900)) -> Path:
    path = tmp_path / name
    Image.new("RGB", size, (30, 120, 200)).save(path, fmt)
    return path


def test_ask_about_an_image_with_usage(tmp_path: Path, served: tuple[str, object]) -> None:
    png = picture(tmp_path, "chart.png", "PNG")
    proc = voicecli("ask", *remote(served), "--image", str(png), "--usage",
                    "what is in this picture", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("You said: what is in this picture.")
    assert "I received 1 image but cannot see images." in proc.stdout
    usage = [line for line in proc.stderr.splitlines() if line.startswith("voicecli: tokens:")]
    assert len(usage) == 1 and "image 256" in usage[0] and "prompt " in usage[0], proc.stderr


def test_ask_image_json_reports_image_tokens(tmp_path: Path, served: tuple[str, object]) -> None:
    jpg = picture(tmp_path, "photo.jpg", "JPEG", (320, 240))
    proc = voicecli("ask", *remote(served), "--json", "--image", str(jpg), "describe it",
                    env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    final = json.loads(proc.stdout.splitlines()[-1])
    assert final["type"] == "turn_complete"
    assert final["usage"]["prompt_by_modality"]["image"] == 256


def test_a_bad_image_or_a_missing_extra_is_one_line(tmp_path: Path) -> None:
    gif = picture(tmp_path, "anim.gif", "GIF", (8, 8))
    proc = voicecli("ask", "--image", str(gif), "what", env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "GIF is not supported; give a JPEG or PNG image")
    blocked = tmp_path / "blocked"  # an importable PIL that fails like a missing one
    (blocked / "PIL").mkdir(parents=True)
    (blocked / "PIL" / "__init__.py").write_text("raise ImportError('not installed')\n")
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG")
    proc = voicecli("ask", "--image", str(png), "what",
                    env=clean_env(tmp_path, PYTHONPATH=str(blocked)))
    assert_one_line_error(proc, 2, "needs Pillow (the video extra): pip install 'voicecli[video]'")


def test_talk_video_sources_fail_first_in_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "cv2.py").write_text("raise ImportError('not installed')\n")
    proc = voicecli("talk", "--camera", "--json", env=clean_env(tmp_path, PYTHONPATH=str(blocked)))
    assert_one_line_error(proc, 2, "--camera needs opencv-python-headless (the video extra)")
    env = clean_env(tmp_path)
    env.pop("DISPLAY", None)
    proc = voicecli("talk", "--screen", env=env)
    assert_one_line_error(proc, 2, "--screen: cannot capture the screen")


def test_ask_with_context_and_an_expired_resume(tmp_path: Path,
                                                served: tuple[str, object]) -> None:
    context = tmp_path / "earlier.md"
    context.write_text("**You:** my name is bob\n\n**Gemini:** Hello Bob.\n")
    proc = voicecli("ask", *remote(served), "--context", str(context), "what is my name",
                    env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "This is turn 2; before that you said: my name is bob." in proc.stdout
    proc = voicecli("ask", *remote(served), "--resume", "no-such-handle", "hello",
                    env=clean_env(tmp_path))
    assert_one_line_error(proc, 5, "handles expire 2 h after the session ended")
    proc = voicecli("ask", "--context", str(context), "--resume", "H", "hi",
                    env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "either --context or --resume")


def test_translate_a_recording(tmp_path: Path, served: tuple[str, object]) -> None:
    question = tmp_path / "question.wav"
    pcm = np.frombuffer(speech_pcm16("what is the weather like in london today", 22050),
                        np.int16)
    sf.write(question, pcm, 22050)
    out = tmp_path / "spanish.wav"
    proc = voicecli("translate", *remote(served), "--to", "es", "--from", "en", "--audio",
                    str(question), "--audio-out", str(out), "--json", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    final = events[-1]
    assert final["type"] == "translation" and final["source"], final
    assert final["target"] == f"[es] {final['source']}"
    assert {"input_transcript", "output_transcript", "audio"} <= {e["type"] for e in events}
    assert final["usage"]["response_by_modality"]["audio"] > 0
    with wave.open(str(out)) as w:
        assert w.getframerate() == 24000 and w.getnframes() > 24000  # over a second of speech
    human = voicecli("translate", *remote(served), "--to", "es", "--audio", str(question),
                     env=clean_env(tmp_path))
    assert human.returncode == 0, human.stderr
    source, target = human.stdout.splitlines()
    assert source.startswith("source: ") and target == f"es: [es] {source[len('source: '):]}"


def test_translate_needs_a_target_language(tmp_path: Path) -> None:
    proc = voicecli("translate", "--audio", "x.wav", env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "missing --to")
    proc = voicecli("translate", "--to", "spanish please", env=clean_env(tmp_path))
    assert_one_line_error(proc, 2, "--to takes a BCP-47 language code")
