"""The one error funnel (voicecli.cli.app.run): an injected Env, the NDJSON `error` record written
by the funnel, every error of a talk task group said, and `python -m voicecli.batch` through it."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import assert_one_line_error, clean_env, free_port
from voicecli.cli.app import main, report
from voicecli.cli.env import Env
from voicecli.errors import (
    AudioDeviceError,
    ExitCode,
    NetworkError,
    Several,
    UsageError,
)
from voicecli.talk.run import _leaves


def streams() -> tuple[io.StringIO, io.StringIO]:
    return io.StringIO(), io.StringIO()


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("voicecli: error:")]


def test_main_writes_to_the_injected_env_and_ends_json_with_the_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("VOICECLI_", "GEMINI", "GOOGLE"))]:
        if name != "VOICECLI_BRAIN_PROBE":  # tests/conftest.py
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no user config leaks in
    out, err = streams()
    env = Env(stdout=out, stderr=err)
    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit) as done:
        main(["ask", "--json", "--base-url", nobody, "hi"], env)
    assert done.value.code == ExitCode.NETWORK
    last = json.loads(out.getvalue().splitlines()[-1])
    assert (last["type"], last["code"]) == ("error", "network")
    (line,) = error_lines(err.getvalue())
    assert "cannot connect" in line and "cannot connect" in last["message"]
    assert env.json is not None  # the command said it was in JSON mode


def test_no_json_record_outside_json_mode() -> None:
    out, err = streams()
    code = report(UsageError("bad flag"), Env(stdout=out, stderr=err))
    assert code == ExitCode.USAGE
    assert out.getvalue() == "" and error_lines(err.getvalue()) == ["voicecli: error: bad flag"]


def test_several_errors_are_each_said_with_the_most_severe_exit_code() -> None:
    records: list[dict[str, object]] = []
    out, err = streams()
    env = Env(stdout=out, stderr=err, json=records.append)
    both = Several([NetworkError("the connection dropped"), AudioDeviceError("the mic is gone")])
    assert report(both, env) == ExitCode.AUDIO_DEVICE  # a device to fix outranks a retry
    assert error_lines(err.getvalue()) == ["voicecli: error: the connection dropped",
                                           "voicecli: error: the mic is gone"]
    assert [(r["code"], r["message"]) for r in records] == [
        ("network", "the connection dropped"), ("audio_device", "the mic is gone")]
    assert "Traceback" not in err.getvalue()


def test_a_bug_among_several_is_the_most_severe_and_shown_with_debug() -> None:
    out, err = streams()
    bug = Several([NetworkError("dropped"), KeyError("state")])
    assert report(bug, Env(stdout=out, stderr=err, debug=True)) == ExitCode.UNEXPECTED
    assert error_lines(err.getvalue()) == ["voicecli: error: dropped",
                                           "voicecli: error: unexpected KeyError: 'state'"]


async def test_talk_keeps_every_error_its_tasks_raised() -> None:
    async def fail(error: Exception) -> None:
        raise error

    async def together(*errors: Exception) -> BaseException:
        raised: list[BaseException] = []
        try:
            async with asyncio.TaskGroup() as tg:
                for error in errors:
                    tg.create_task(fail(error))
        except* Exception as group:
            raised.append(_leaves(group))
        (said,) = raised
        return said

    mic, net = AudioDeviceError("the mic is gone"), NetworkError("the connection dropped")
    one = await together(mic)
    assert one is mic  # one error stays itself: the same line and code as before
    several = await together(mic, net)
    assert isinstance(several, Several) and set(several.errors) == {mic, net}
    assert several.exit_code == ExitCode.AUDIO_DEVICE


def _batch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voicecli.batch", *args], env=env,
                          capture_output=True, text=True, timeout=90)


def test_python_m_batch_goes_through_the_funnel(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.jsonl")
    plain = _batch(missing, "--out", str(tmp_path / "out"), env=clean_env(tmp_path))
    assert_one_line_error(plain, 2, "missing.jsonl")
    debug = _batch(missing, "--out", str(tmp_path / "out"),
                   env=clean_env(tmp_path, VOICECLI_DEBUG="1"))
    assert debug.returncode == 2 and len(error_lines(debug.stderr)) == 1
    assert "Traceback" in debug.stderr  # the funnel's --debug, as `voicecli batch` has it


def test_voicecli_debug_in_the_environment_still_shows_tracebacks(tmp_path: Path) -> None:
    env = clean_env(tmp_path, VOICECLI_DEBUG="1")
    proc = subprocess.run([sys.executable, "-m", "voicecli", "ask", "hi", "--timeout", "nan"],
                          env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 2 and "Traceback" in proc.stderr
    (line,) = error_lines(proc.stderr)
    assert "--timeout must be a positive number" in line
