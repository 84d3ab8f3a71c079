"""PortAudio discovery for `voicecli talk` and `voicecli devices`: list, pick, rate, error mapping.

sounddevice is imported lazily (:func:`import_sounddevice`) so every other command works on a
machine without PortAudio, and every failure here is an :class:`AudioDeviceError` whose message
is one line saying what to do.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from voicecli.errors import AudioDeviceError
from voicecli.numbers import is_digits, whole_number

Kind = Literal["input", "output"]

#: The rates probed for every device (what `voicecli devices` shows as accepted).
RATES: tuple[int, ...] = (8000, 16000, 22050, 24000, 32000, 44100, 48000)

SEE_DEVICES = "run `voicecli devices` to see them"


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool
    rates_in: list[int]
    rates_out: list[int]

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


# ---- importing PortAudio ---------------------------------------------------------------------


def import_sounddevice() -> ModuleType:
    """The sounddevice module, or AudioDeviceError naming what to install / fix."""
    _check_alsa_config(os.environ.get("ALSA_CONFIG_PATH"))
    try:
        return importlib.import_module("sounddevice")
    except OSError as exc:
        if "PortAudio" not in str(exc):
            raise AudioDeviceError(f"cannot load the PortAudio library: {exc}") from None
        raise AudioDeviceError(portaudio_missing_message()) from None
    except Exception as exc:  # noqa: BLE001 - sounddevice.PortAudioError from Pa_Initialize
        raise AudioDeviceError(f"PortAudio failed to start: {exc}") from None


def portaudio_missing_message() -> str:
    return (
        "the PortAudio library is not installed: on Debian/Ubuntu `sudo apt install libportaudio2`,"
        " on Fedora `sudo dnf install portaudio`, with Homebrew `brew install portaudio`"
    )


def _check_alsa_config(config_path: str | None) -> None:
    """Refuse an ALSA_CONFIG_PATH that names a missing or empty file.

    PortAudio 19.6 does not survive that: with no ALSA configuration it fails an assertion while
    building its device list and the whole process aborts (SIGABRT), before Python could catch it.
    """
    if not config_path or not sys.platform.startswith("linux"):
        return
    for i, entry in enumerate(config_path.split(":")):
        path = Path(entry)
        if not path.is_file() or (i == 0 and path.stat().st_size == 0):
            raise AudioDeviceError(
                f"ALSA_CONFIG_PATH names {entry}, which is missing or empty; unset ALSA_CONFIG_PATH"
                " or start it with /usr/share/alsa/alsa.conf"
            )


#: What a machine without sound can still do, and how to give it virtual devices (README).
WITHOUT_DEVICES = (
    "without devices, `voicecli ask`, `transcribe` and `batch` work; for virtual devices run"
    " scripts/va-up.sh from the voicecli repository"
)


def no_devices_message(proc_version: str | None = None) -> str:
    """Why there may be no devices, for this platform (WSL needs WSLg or a PulseAudio server),
    and what works without them."""
    if is_wsl(proc_version):
        return (
            "no audio devices found; WSL has no audio devices unless WSLg or a PulseAudio server"
            f" is set up (PULSE_SERVER); {WITHOUT_DEVICES}"
        )
    return (
        "no audio devices found; is a sound server (PulseAudio/PipeWire) running and reachable"
        f" (PULSE_SERVER), or a sound card present? {WITHOUT_DEVICES[0].upper()}"
        f"{WITHOUT_DEVICES[1:]}"
    )


def is_wsl(proc_version: str | None = None) -> bool:
    """True under Windows Subsystem for Linux (/proc/version mentions Microsoft)."""
    if proc_version is None:
        try:
            proc_version = Path("/proc/version").read_text(errors="replace")
        except OSError:
            return False
    return "microsoft" in proc_version.lower()


# ---- listing ---------------------------------------------------------------------------------


def list_devices() -> list[DeviceInfo]:
    """Every PortAudio device with its accepted rates (probing them takes ~10 ms per device)."""
    sd = import_sounddevice()
    raw = _query_devices(sd)
    default_in, default_out = _default_indices(sd)
    with _quiet_stderr():
        return [_device_info(sd, dev, default_in, default_out) for dev in raw]


def _query_devices(sd: ModuleType) -> list[dict[str, Any]]:
    try:
        return list(sd.query_devices())
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"PortAudio cannot list devices: {exc}") from None


def _default_indices(sd: ModuleType) -> tuple[int, int]:
    try:
        default_in, default_out = sd.default.device
    except (sd.PortAudioError, ValueError):
        return -1, -1
    return int(default_in), int(default_out)


def _device_info(sd: ModuleType, dev: dict[str, Any], default_in: int, default_out: int,
                 ) -> DeviceInfo:
    index = int(dev["index"])
    return DeviceInfo(
        index=index,
        name=str(dev["name"]),
        hostapi=str(sd.query_hostapis(dev["hostapi"])["name"]),
        max_input_channels=int(dev["max_input_channels"]),
        max_output_channels=int(dev["max_output_channels"]),
        default_samplerate=float(dev["default_samplerate"]),
        is_default_input=index == default_in,
        is_default_output=index == default_out,
        rates_in=_accepted(sd, index, "input") if dev["max_input_channels"] else [],
        rates_out=_accepted(sd, index, "output") if dev["max_output_channels"] else [],
    )


def _accepted(sd: ModuleType, device: int | None, kind: Kind) -> list[int]:
    return [rate for rate in RATES if _accepts(sd, device, kind, rate)]


def _accepts(sd: ModuleType, device: int | None, kind: Kind, rate: float) -> bool:
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device, samplerate=rate, channels=1, dtype="int16")
    except (sd.PortAudioError, ValueError):
        return False
    return True


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: ALSA prints a paragraph to it for every rate a device refuses."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded, closed): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# ---- what the channel counts mean ------------------------------------------------------------

#: ALSA devices that stand for the sound server's default sink/source (PulseAudio or PipeWire).
SERVER_DEFAULTS = frozenset({"default", "pulse", "pipewire"})


def is_alsa_plugin(info: DeviceInfo) -> bool:
    """An ALSA plugin (default, pulse, dmix, a PulseAudio bridge…), not a card (`(hw:N,M)`): its
    channel count is the plugin's ceiling (the pulse plugin takes 1-32 and mixes), not the
    device's."""
    return info.hostapi == "ALSA" and "(hw:" not in info.name


def server_channels() -> dict[Kind, int]:
    """Channels of the sound server's default source ("input") and sink ("output"), from `pactl`
    (PulseAudio, or PipeWire's pulse server); empty when there is no pactl or no server."""
    info = _pactl("info")
    if info is None:
        return {}
    defaults = dict(line.split(": ", 1) for line in info.splitlines() if ": " in line)
    found: dict[Kind, int] = {}
    wanted: tuple[tuple[Kind, str, str], ...] = (("input", "sources", "Default Source"),
                                                 ("output", "sinks", "Default Sink"))
    for kind, what, key in wanted:
        channels = _short_list_channels(_pactl("list", "short", what) or "")
        if defaults.get(key) in channels:
            found[kind] = channels[defaults[key]]
    return found


def _short_list_channels(listing: str) -> dict[str, int]:
    """name → channels from `pactl list short sinks|sources` (… name driver s16le 2ch 48000Hz …)."""
    found = {}
    for line in listing.splitlines():
        fields = line.split("\t")
        spec = next((f for f in fields if "ch " in f), "")
        count = next((w[:-2] for w in spec.split() if w.endswith("ch") and is_digits(w[:-2])), "")
        if len(fields) > 1 and count:
            found[fields[1]] = int(count)
    return found


def _pactl(*args: str) -> str | None:
    import shutil
    import subprocess

    if shutil.which("pactl") is None:
        return None
    try:
        done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=3,
                              check=False, env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# ---- picking ---------------------------------------------------------------------------------


def pick_device(spec: str | int | None, kind: Kind) -> int | None:
    """The device index for `spec` (an index, or part of a name, case-insensitive).

    None means the system default (returned as None, after checking there is one). A device only
    counts for `kind` if it has channels of that kind and opens for it at one of :data:`RATES`.
    """
    sd = import_sounddevice()
    devices = _query_devices(sd)
    if not devices:
        raise AudioDeviceError(no_devices_message())
    if spec is None:
        _require_default(sd, kind)
        return None
    with _quiet_stderr():
        if isinstance(spec, int):
            return _by_index(sd, devices, spec, kind)
        index = whole_number(spec)
        if index is not None:
            return _by_index(sd, devices, index, kind)
        return _by_name(sd, devices, spec.strip(), kind)


def _require_default(sd: ModuleType, kind: Kind) -> None:
    try:
        sd.query_devices(kind=kind)
    except (sd.PortAudioError, ValueError):
        raise AudioDeviceError(f"there is no default {kind} device; {SEE_DEVICES}") from None


def _by_index(sd: ModuleType, devices: list[dict[str, Any]], index: int, kind: Kind) -> int:
    if not 0 <= index < len(devices):
        raise AudioDeviceError(
            f"there is no audio device {index} (0–{len(devices) - 1}); {SEE_DEVICES}"
        )
    _require_usable(sd, devices[index], kind)
    return index


def _by_name(sd: ModuleType, devices: list[dict[str, Any]], spec: str, kind: Kind) -> int:
    if not spec:
        raise AudioDeviceError(f"empty {kind} device name; {SEE_DEVICES}")
    wanted = spec.casefold()
    exact = [d for d in devices if str(d["name"]).casefold() == wanted]
    matches = exact or [d for d in devices if wanted in str(d["name"]).casefold()]
    if not matches:
        raise AudioDeviceError(f"no audio device matches {spec!r}; {SEE_DEVICES}")
    usable = [d for d in matches if _unusable_reason(sd, d, kind) is None]
    if not usable:
        _require_usable(sd, matches[0], kind)
    if len(usable) > 1:
        names = ", ".join(f"{d['index']}: {d['name']}" for d in usable)
        raise AudioDeviceError(
            f"{spec!r} matches several {kind} devices ({names}); give more of the name or the"
            f" index ({SEE_DEVICES})"
        )
    return int(usable[0]["index"])


def _unusable_reason(sd: ModuleType, dev: dict[str, Any], kind: Kind) -> str | None:
    channels = dev["max_input_channels" if kind == "input" else "max_output_channels"]
    if channels <= 0:
        return f"it has no {kind} channels"
    if not any(_accepts(sd, int(dev["index"]), kind, rate) for rate in RATES):
        return f"it opens for {kind} at none of the usual rates"
    return None


def _require_usable(sd: ModuleType, dev: dict[str, Any], kind: Kind) -> None:
    reason = _unusable_reason(sd, dev, kind)
    if reason is not None:
        verb = "record" if kind == "input" else "play"
        raise AudioDeviceError(
            f"audio device {dev['index']} ({dev['name']}) cannot {verb}: {reason}; {SEE_DEVICES}"
        )


def pick_rate(device: int | None, kind: Kind, preferred: int) -> int:
    """`preferred` if the device accepts it, else its default rate, else the first rate it takes."""
    sd = import_sounddevice()
    with _quiet_stderr():
        if _accepts(sd, device, kind, preferred):
            return preferred
        default = _default_rate(sd, device, kind)
        if default and _accepts(sd, device, kind, default):
            return int(default)
        accepted = _accepted(sd, device, kind)
    if not accepted:
        name = "the default device" if device is None else f"audio device {device}"
        raise AudioDeviceError(
            f"{name} accepts no usual sample rate for {kind} (mono 16-bit); {SEE_DEVICES}"
        )
    return accepted[0]


def _default_rate(sd: ModuleType, device: int | None, kind: Kind) -> float:
    try:
        return float(sd.query_devices(device, kind=kind)["default_samplerate"])
    except (sd.PortAudioError, ValueError):
        return 0.0
