"""`voicecli devices` as a real subprocess: the virtual PulseAudio devices, and no devices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli import assert_one_line_error, clean_env, voicecli
from tests.e2e.harness import ROOT, TmuxApp, virtual_audio  # noqa: F401 - the fixture

AUDIO_VARS = ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH", "PULSE_CLIENTCONFIG",
              "ALSA_CONFIG_PATH")


def audio_env(tmp_path: Path, virtual: dict[str, str]) -> dict[str, str]:
    return clean_env(tmp_path, **{k: virtual[k] for k in AUDIO_VARS})


def no_server_env(tmp_path: Path) -> dict[str, str]:
    """A PulseAudio client setup that reaches no server (and may not spawn one)."""
    conf = tmp_path / "client.conf"
    conf.write_text("autospawn = no\n")
    env = {k: v for k, v in clean_env(tmp_path).items() if k not in AUDIO_VARS}
    env.update(PULSE_SERVER=f"unix:{tmp_path}/nowhere.sock", PULSE_CLIENTCONFIG=str(conf),
               HOME=str(tmp_path))
    return env


def test_devices_table_marks_defaults_and_rates(tmp_path: Path,
                                                virtual_audio: dict[str, str]) -> None:  # noqa: F811
    proc = voicecli("devices", env=audio_env(tmp_path, virtual_audio))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    inputs, outputs = proc.stdout.split("Output devices")
    assert "Input devices" in inputs
    for table in (inputs, outputs):
        marked = [line for line in table.splitlines() if "│ * │" in line]
        assert len(marked) == 1 and " default " in marked[0], table
        assert "8 16 22.05 24 32 44.1 48" in marked[0]
    monitor_in = next(line for line in inputs.splitlines() if "vspeaker_monitor" in line)
    assert "8 16 22.05 24 32 44.1 48" in monitor_in
    # the plugin that only plays into the mic cannot record, the monitor cannot play: not shown
    assert "vmic_feed" not in inputs and "vspeaker_monitor" not in outputs
    assert "Not shown: 2 that cannot open for that direction (--json lists all)" in outputs
    # channels: the sound server's (va-up.sh's mic and speaker are mono), not the plugin's 32
    for table in (inputs, outputs):
        for name in ("default", "pulse"):
            row = next(line for line in table.splitlines() if f"│ {name} " in line)
            assert row.split("│")[4].strip() == "1", row
    assert "any ≤ 32" in monitor_in  # a plugin without a known device: what it takes
    assert "\x1b[" not in proc.stdout  # not a terminal: no colour


def test_devices_json_is_one_device_per_line(tmp_path: Path,
                                             virtual_audio: dict[str, str]) -> None:  # noqa: F811
    proc = voicecli("devices", "--json", env=audio_env(tmp_path, virtual_audio))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    names = {row["name"]: row for row in rows}
    assert {"default", "pulse", "vmic_feed", "vspeaker_monitor"} <= set(names)
    assert [row["index"] for row in rows] == list(range(len(rows)))
    assert [r["name"] for r in rows if r["is_default_input"]] == ["default"]
    assert [r["name"] for r in rows if r["is_default_output"]] == ["default"]
    assert names["vmic_feed"]["rates_in"] == [] and 24000 in names["vmic_feed"]["rates_out"]
    assert set(names["default"]) == {
        "index", "name", "hostapi", "max_input_channels", "max_output_channels",
        "default_samplerate", "is_default_input", "is_default_output", "rates_in", "rates_out"}


def test_no_reachable_sound_server_is_exit_6(tmp_path: Path) -> None:
    for args in (["devices"], ["devices", "--json"]):
        proc = voicecli(*args, env=no_server_env(tmp_path))
        assert_one_line_error(proc, 6, "no audio devices found; is a sound server")
        assert proc.stdout == ""


def test_alsa_config_pointing_nowhere_is_exit_6_not_an_abort(tmp_path: Path) -> None:
    env = no_server_env(tmp_path)
    env["ALSA_CONFIG_PATH"] = str(tmp_path / "missing.conf")
    proc = voicecli("devices", env=env)
    assert_one_line_error(proc, 6, f"ALSA_CONFIG_PATH names {tmp_path}/missing.conf")


def test_missing_portaudio_is_exit_6_naming_the_package(tmp_path: Path) -> None:
    hide_portaudio = (
        "import ctypes.util, sys\n"
        "real = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda n: None if n == 'portaudio' else real(n)\n"
        "from voicecli.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.run([sys.executable, "-c", hide_portaudio, "devices"],
                          env=clean_env(tmp_path), capture_output=True, text=True, timeout=60,
                          check=False)
    assert_one_line_error(proc, 6, "sudo apt install libportaudio2")


def test_talk_without_sound_says_what_works_without_devices(tmp_path: Path) -> None:
    # a new user's first `voicecli talk` on a headless machine, in a real terminal
    talk = [sys.executable, "-m", "voicecli", "talk"]
    with TmuxApp(talk, no_server_env(tmp_path), workdir=tmp_path) as app:
        status = app.wait_exit(timeout=60)
        err = app.stderr()
    assert status == 6, err
    assert err.count("\n") == 1 and err.startswith("voicecli: error: no audio devices found; ")
    assert "`voicecli ask`, `transcribe` and `batch` work" in err
    assert "scripts/va-up.sh" in err and "Traceback" not in err
    assert (ROOT / "scripts" / "va-up.sh").is_file()  # the script the line names exists
