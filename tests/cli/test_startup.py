"""Start-up stays light: what `voicecli --help`, `--version` and `import voicecli.cli` load.

Not timing tests (benchmarks/bench_vs_cookbook.py measures the time): each runs the real entry
point in a fresh interpreter and asserts which modules it imported, and that the typer-free
top-level help is the very screen typer draws; `talk` puts its setup on the wire before numpy,
PortAudio, Rich, pydantic (typer's coercion, voicecli/cli/plain_values.py) or the conversation
load.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voicecli.cli.commands import COMMANDS
from voicecli.cli.help_format import reflow

HEAVY = ("numpy", "websockets", "sounddevice", "soxr", "soundfile", "voicecli.server",
         "voicecli.client", "voicecli.protocol", "voicecli.talk", "voicecli.audio",
         "voicecli.speech", "voicecli.ask")

# Runs the CLI like the installed script does, then reports every module loaded.
RUN_AND_LIST = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from voicecli.cli import main
main()
"""


def loaded_by(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", RUN_AND_LIST, str(out), *args],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("args", [["--help"], ["-h"], []])
def test_top_level_help_imports_neither_typer_nor_any_command(tmp_path: Path,
                                                              args: list[str]) -> None:
    modules = loaded_by(tmp_path, *args)
    assert heavy(modules) == []
    assert not [m for m in modules if m.split(".")[0] in ("typer", "rich")]


def test_version_imports_nothing_but_the_package(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "--version")
    assert sorted(m for m in modules if m.startswith("voicecli")) == ["voicecli", "voicecli.cli"]
    assert not [m for m in modules if m.split(".")[0] in ("typer", "rich", "numpy")]


def test_the_typer_app_imports_no_command_until_one_runs(tmp_path: Path) -> None:
    code = ("import json, sys, typer; from voicecli.cli.app import app; "
            "typer.main.get_command(app); print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout)
    assert heavy(modules) == []
    assert not [m for m in modules if m.startswith("voicecli.cli.") and m.endswith("_cmd")]


def test_a_command_loads_only_its_own_module(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "voices")
    commands = {m for m in modules if m.startswith("voicecli.cli.") and m.endswith("_cmd")}
    assert commands == {"voicecli.cli.voices_cmd"}
    assert "voicecli.server" not in modules and "sounddevice" not in modules


@pytest.mark.parametrize("width", [60, 73, 80, 100, 141, 200])
@pytest.mark.parametrize("args", [["--help"], []])
def test_the_quick_help_is_the_screen_typer_draws(width: int, args: list[str]) -> None:
    env = {**os.environ, "COLUMNS": str(width)}
    env.pop("TERMINAL_WIDTH", None)
    quick = subprocess.run([sys.executable, "-m", "voicecli", *args], env=env,
                           capture_output=True, text=True, timeout=60)
    typer_drawn = subprocess.run(
        [sys.executable, "-c", "import sys; from voicecli.cli.app import main; main(sys.argv[1:])",
         *args], env=env, capture_output=True, text=True, timeout=60)
    assert quick.returncode == typer_drawn.returncode == 0
    assert "talk" in quick.stdout and "--version" in quick.stdout
    assert quick.stdout == typer_drawn.stdout


def test_a_narrow_terminal_falls_back_to_typer(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "50"}
    modules = loaded_by(tmp_path, "--help", env=env)
    assert "typer" in modules and heavy(modules) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_line_is_the_commands_own_help(name: str) -> None:
    """COMMANDS repeats each command's first help paragraph: edit both together."""
    from voicecli.cli.app import load_command

    command = load_command(name)
    first = reflow(command.help or "").split("\n\n")[0]
    assert COMMANDS[name][2] == first


def test_commands_run_and_typos_are_suggested(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "voicecli", "tlak"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "Did you mean 'talk'?" in proc.stderr
    help_text = subprocess.run([sys.executable, "-m", "voicecli", "talk", "--help"],
                               capture_output=True, text=True, timeout=60,
                               env={**os.environ, "COLUMNS": "120"})
    assert help_text.returncode == 0 and "--input-device" in help_text.stdout


# Runs the CLI until its first frame (the setup) is on the wire, then reports every module loaded.
RUN_TO_SETUP = """
import json, os, sys
out = sys.argv.pop(1)
from voicecli.client import connection
flush = connection.LiveConnection.flush
async def first_flush(self):
    await flush(self)
    open(out, "w").write(json.dumps(sorted(sys.modules)))
    os._exit(0)
connection.LiveConnection.flush = first_flush
from voicecli.cli import main
main()
"""
#: What `talk` loads only once its setup is on the wire (voicecli.talk.connecting).
AFTER_THE_SETUP = ("numpy", "sounddevice", "soxr", "soundfile", "rich", "pydantic", "livekit",
                   "voicecli.audio.capture", "voicecli.audio.playback", "voicecli.audio.echo",
                   "voicecli.talk.conversation", "voicecli.ui.live", "voicecli.server")


@pytest.mark.parametrize("args", [["--json", "--echo", "off"], ["--json", "--chunk-ms", "40",
                                                               "--latency", "0.05"]])
async def test_talk_sends_its_setup_before_loading_audio_numpy_or_the_screen(
        tmp_path: Path, args: list[str]) -> None:
    from tests.cli.test_cli import clean_env
    from voicecli.server import ServerConfig, start_server

    out = tmp_path / "modules.json"
    async with await start_server(ServerConfig(port=0)) as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_TO_SETUP, str(out), "talk", *args,
            env=clean_env(tmp_path, VOICECLI_BASE_URL=server.url),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    modules = json.loads(out.read_text())
    assert "voicecli.talk.run" in modules
    assert [m for m in modules if any(m == late or m.startswith(late + ".")
                                      for late in AFTER_THE_SETUP)] == []
