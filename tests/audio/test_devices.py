"""voicecli.audio.devices against the real virtual PulseAudio devices (in a child process: PortAudio
reads its device list once per process) and the error mapping that needs no devices."""

from __future__ import annotations

import ctypes.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import client_env, virtual_audio  # noqa: F401 - the fixture
from voicecli.audio import devices
from voicecli.audio.devices import RATES
from voicecli.errors import AudioDeviceError

PROBE = r'''
import json, sys
from voicecli.audio import devices
from voicecli.errors import AudioDeviceError

def attempt(fn, *args):
    try:
        return {"ok": fn(*args)}
    except AudioDeviceError as exc:
        return {"error": str(exc)}

calls = json.loads(sys.argv[1])
out = {"devices": [vars(d) for d in devices.list_devices()]}
index = {d["name"]: d["index"] for d in out["devices"]}
for key, (fn, *args) in calls.items():
    args = [index.get(a[1:], a) if isinstance(a, str) and a.startswith("@") else a for a in args]
    out[key] = attempt(getattr(devices, fn), *args)
print(json.dumps(out))
'''

# "@name" = the index of the device called name (indices depend on the ALSA configuration)
CALLS: dict[str, list[Any]] = {
    "default_in": ["pick_device", None, "input"],
    "default_out": ["pick_device", None, "output"],
    "exact_name": ["pick_device", "default", "input"],
    "case": ["pick_device", "PULSE", "output"],
    "substring_in": ["pick_device", "Monitor", "input"],
    "v_in": ["pick_device", "v", "input"],  # vmic_feed cannot record: only the monitor counts
    "v_out": ["pick_device", "v", "output"],
    "index_str": ["pick_device", "@pulse", "input"],
    "ambiguous": ["pick_device", "u", "input"],  # pulse, default
    "missing": ["pick_device", "no-such-card", "input"],
    "bad_index": ["pick_device", 99, "output"],
    "cannot_record": ["pick_device", "vmic_feed", "input"],
    "cannot_play": ["pick_device", "vspeaker_monitor", "output"],
    "rate_pref": ["pick_rate", None, "input", 16000],
    "rate_out": ["pick_rate", "@default", "output", 24000],
    "rate_fallback": ["pick_rate", "@pulse", "output", 1_000_000],
    "rate_none": ["pick_rate", "@vmic_feed", "input", 16000],
}


def run_probe(env: dict[str, str], calls: dict[str, list[Any]]) -> tuple[dict[str, Any], str]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(calls)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.fixture(scope="module")
def probed(virtual_audio: dict[str, str]) -> tuple[dict[str, Any], str]:  # noqa: F811
    return run_probe(virtual_audio, CALLS)


def by_name(probed: tuple[dict[str, Any], str]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in probed[0]["devices"]}


def test_list_devices_sees_the_virtual_devices(probed: tuple[dict[str, Any], str]) -> None:
    found = by_name(probed)
    assert {"default", "pulse", "vmic_feed", "vspeaker_monitor"} <= set(found)
    assert found["default"]["is_default_input"] and found["default"]["is_default_output"]
    assert sum(d["is_default_input"] for d in found.values()) == 1
    assert found["default"]["hostapi"] == "ALSA"
    assert found["vspeaker_monitor"]["rates_in"] == list(RATES)
    assert found["vspeaker_monitor"]["rates_out"] == []  # a monitor cannot be played to
    assert found["vmic_feed"]["rates_in"] == []
    assert found["vmic_feed"]["rates_out"] == list(RATES)


def test_probing_rates_prints_nothing(probed: tuple[dict[str, Any], str]) -> None:
    assert probed[1] == ""  # ALSA's paragraph per refused rate is silenced


def test_pick_device_by_default_name_substring_and_index(
        probed: tuple[dict[str, Any], str]) -> None:
    out, found = probed[0], by_name(probed)
    assert out["default_in"] == {"ok": None} and out["default_out"] == {"ok": None}
    assert out["exact_name"] == {"ok": found["default"]["index"]}
    assert out["case"] == {"ok": found["pulse"]["index"]}
    assert out["substring_in"] == {"ok": found["vspeaker_monitor"]["index"]}
    assert out["v_in"] == {"ok": found["vspeaker_monitor"]["index"]}
    assert out["v_out"] == {"ok": found["vmic_feed"]["index"]}
    assert out["index_str"] == {"ok": found["pulse"]["index"]}


@pytest.mark.parametrize(
    ("call", "fragments"),
    [
        ("ambiguous", ["'u' matches several input devices", ": pulse", ": default"]),
        ("missing", ["no audio device matches 'no-such-card'"]),
        ("bad_index", ["there is no audio device 99"]),
        ("cannot_record", ["(vmic_feed) cannot record"]),
        ("cannot_play", ["(vspeaker_monitor) cannot play"]),
        ("rate_none", ["accepts no usual sample rate for input"]),
    ],
)
def test_pick_errors_are_one_clear_line(probed: tuple[dict[str, Any], str], call: str,
                                        fragments: list[str]) -> None:
    message = probed[0][call]["error"]
    assert "\n" not in message and "run `voicecli devices`" in message
    for fragment in fragments:
        assert fragment in message, message


def test_pick_rate(probed: tuple[dict[str, Any], str]) -> None:
    out = probed[0]
    assert out["rate_pref"] == {"ok": 16000}
    assert out["rate_out"] == {"ok": 24000}
    assert out["rate_fallback"] == {"ok": 44100}  # 1 MHz refused: the device's default rate


def test_no_sound_server_means_no_devices(tmp_path: Path) -> None:
    conf = tmp_path / "client.conf"
    conf.write_text("autospawn = no\n")
    env = client_env(tmp_path)
    for name in ("PULSE_RUNTIME_PATH", "PULSE_STATE_PATH", "ALSA_CONFIG_PATH"):
        env.pop(name, None)
    env.update(PULSE_SERVER=f"unix:{tmp_path}/nowhere.sock", PULSE_CLIENTCONFIG=str(conf),
               HOME=str(tmp_path))
    out, _ = run_probe(env, {"pick": ["pick_device", None, "input"]})
    assert out["devices"] == []
    assert out["pick"]["error"].startswith("no audio devices found; ")


# ---- error mapping without devices (in process) ---------------------------------------------


def test_missing_portaudio_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library",
                        lambda name: None if name == "portaudio" else real(name))
    with pytest.raises(AudioDeviceError) as caught:
        devices.import_sounddevice()
    message = str(caught.value)
    assert "sudo apt install libportaudio2" in message
    assert "brew install portaudio" in message and "dnf install portaudio" in message
    assert caught.value.exit_code == 6


@pytest.mark.parametrize("value", ["/nonexistent/alsa.conf", "/usr/share/alsa/alsa.conf:/nope"])
def test_alsa_config_path_to_nowhere_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                value: str) -> None:
    # PortAudio would abort the whole process (an assertion in its ALSA device list)
    monkeypatch.setenv("ALSA_CONFIG_PATH", value)
    with pytest.raises(AudioDeviceError, match="ALSA_CONFIG_PATH names /n"):
        devices.import_sounddevice()


def test_empty_alsa_config_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "alsa.conf"
    empty.write_text("")
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(empty))
    with pytest.raises(AudioDeviceError, match="missing or empty"):
        devices.import_sounddevice()


def test_no_devices_message_on_wsl_and_elsewhere() -> None:
    wsl = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1c602f52c2e4)"
    assert devices.is_wsl(wsl) and not devices.is_wsl("Linux version 6.1.0-18-amd64")
    assert "WSL has no audio devices unless WSLg or a PulseAudio server" in (
        devices.no_devices_message(wsl))
    plain = devices.no_devices_message("Linux version 6.1.0-18-amd64 (debian-kernel@lists)")
    assert plain.startswith("no audio devices found; ") and "WSL" not in plain
