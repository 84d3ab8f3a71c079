"""`voicecli models`, `voicecli voices` and the model-option flags, through the real entry point.

Bad values end in one stderr line and exit 2 (usage, errors.py: CapabilityError/ConfigError),
before any connection: the endpoint given is a port nobody listens on, which would be exit 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import assert_one_line_error, clean_env, free_port, voicecli
from voicecli.protocol.models import DEFAULT_MODEL, KNOWN_MODELS
from voicecli.protocol.voices import PREBUILT_VOICES

NATIVE_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
X_THINKING = "gemini-3.8-live-extended-thinking"


def test_models_table(tmp_path: Path) -> None:
    proc = voicecli("models", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = lines[0].split()
    assert header[:4] == ["MODEL", "STATUS", "REPLIES", "THINKING"]
    assert {"AFFECTIVE", "PROACTIVE", "SEARCH", "CODE", "TRANSLATE", "LANGUAGE",
            "BACKENDS"} <= set(header)
    table = lines[1:1 + len(KNOWN_MODELS)]
    rows = {line[2:].split()[0]: line[2:] for line in table}
    assert set(rows) == set(KNOWN_MODELS)
    default = next(line for line in lines if line.startswith(f"* {DEFAULT_MODEL} "))
    assert "always" in default.split() and "transcription" in default.split()
    native = rows[NATIVE_25].split()
    assert native[1:5] == ["preview", "AUDIO", "budget", "≤24576"]
    assert native.count("v1alpha") == 2  # affective and proactive need it (§1.3)
    assert "level" in rows[X_THINKING] and "only" in rows[X_THINKING].split()
    assert "sent unchecked" in proc.stdout


def test_models_json_one_per_line(tmp_path: Path) -> None:
    proc = voicecli("models", "--json", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    models = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [m["id"] for m in models] == list(KNOWN_MODELS)
    assert [m["id"] for m in models if m["default"]] == [DEFAULT_MODEL]
    by_id = {m["id"]: m for m in models}
    assert by_id[X_THINKING]["thinking_levels"] == ["LOW", "MEDIUM", "HIGH"]
    assert by_id["gemini-live-2.5-flash-preview"]["language_code"] is True


def test_voices_table_and_json(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    table = voicecli("voices", env=env)
    assert table.returncode == 0, table.stderr
    rows = [line.split() for line in table.stdout.splitlines()[1:31]]
    assert {(name, style) for name, style, *_ in rows} >= {("Kore", "Firm"), ("Puck", "Upbeat")}
    assert len(rows) == 30 and table.stdout.startswith("VOICE")
    as_json = voicecli("voices", "--json", env=env)
    voices = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {v["name"]: v["style"] for v in voices} == PREBUILT_VOICES


def unreachable_env(tmp_path: Path) -> dict[str, str]:
    """A configured endpoint that refuses connections: reaching it would be exit 3."""
    return clean_env(tmp_path, VOICECLI_BASE_URL=f"http://127.0.0.1:{free_port()}",
                     GEMINI_API_KEY="AIza-test-not-used")


@pytest.mark.parametrize(("args", "fragment"), [
    (["--voice", "Korre"], "did you mean Kore?"),
    (["--language", "he"], "did you mean iw?"),
    (["--model", NATIVE_25, "--language", "de"], "Drop --language"),
    (["--model", NATIVE_25, "--thinking-level", "low"], "--thinking-budget instead"),
    (["--model", X_THINKING, "--thinking-budget", "100"], "--thinking-level instead"),
    (["--show-thoughts"], "gemini-3.8-live does not accept thinkingConfig"),
    (["--affective"], "--affective"),
    (["--no-proactive"], "--no-proactive"),
    (["--model", NATIVE_25, "--affective", "--api-version", "v1beta"], "needs the v1alpha API"),
    (["--temperature", "3"], "--temperature must be between 0 and 2"),
    (["--max-output-tokens", "70000"], "at most 65536"),
    (["--media-resolution", "ultra"], "--media-resolution must be one of low, medium, high"),
    (["--model", NATIVE_25, "--turn-coverage", "audio-activity-and-all-video"],
     "--turn-coverage only-activity, all-input"),
])
def test_ask_refuses_bad_options_before_connecting(
        tmp_path: Path, args: list[str], fragment: str) -> None:
    proc = voicecli("ask", *args, "hello", env=unreachable_env(tmp_path))
    assert_one_line_error(proc, 2, fragment)
    assert proc.stdout == ""


def test_talk_refuses_before_opening_devices(tmp_path: Path) -> None:
    proc = voicecli("talk", "--show-thoughts", "--json", env=unreachable_env(tmp_path))
    assert_one_line_error(proc, 2, "--show-thoughts")
    last = json.loads(proc.stdout.splitlines()[-1])
    assert (last["type"], last["code"]) == ("error", "capability")


def test_batch_refuses_per_job_with_exit_2(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"id": "a", "text": "hi"}\n{"id": "b", "text": "hi", "language": "de"}\n')
    env = unreachable_env(tmp_path)
    proc = voicecli("batch", str(jobs), "--out", str(tmp_path / "out"), "--model", NATIVE_25,
                    "--thinking-level", "high", env=env)
    assert proc.returncode == 2, proc.stderr
    results = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text()
               .splitlines()]
    assert {r["id"]: r["error"]["code"] for r in results} == {"a": "capability",
                                                              "b": "capability"}
    assert "--thinking-budget instead" in results[0]["error"]["message"]
    assert all(r["attempts"] == 1 for r in results)  # never retried


def test_ask_shows_thoughts_dimmed_apart_from_the_answer(tmp_path: Path) -> None:
    args = ("ask", "--model", X_THINKING, "--thinking-level", "medium", "--show-thoughts")
    proc = voicecli(*args, "what time is it", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "You said: what time is it."  # stdout stays the answer
    assert "thinking: The user typed 4 words; I will repeat them back." in proc.stderr
    as_json = voicecli(*args, "--json", "hi", env=clean_env(tmp_path))
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.index("thought") < kinds.index("output_transcript")
    assert events[kinds.index("thought")]["text"] == (
        "The user typed one word; I will repeat it back.")
    assert events[-1]["usage"]["thoughts_tokens"] > 0


def test_v1alpha_options_work_end_to_end_on_the_local_engine(tmp_path: Path) -> None:
    proc = voicecli("ask", "--model", NATIVE_25, "--affective", "--proactive",
                    "--thinking-budget", "0", "--temperature", "0.3", "--voice", "puck",
                    "hello", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "hello" in proc.stdout.lower()
