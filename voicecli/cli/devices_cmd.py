"""`voicecli devices`: the sound devices PortAudio sees, which are the defaults, what rates work."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voicecli.audio.devices import (
    SERVER_DEFAULTS,
    DeviceInfo,
    Kind,
    is_alsa_plugin,
    list_devices,
    no_devices_message,
    server_channels,
)
from voicecli.errors import AudioDeviceError


def devices(
    json_out: Annotated[bool, typer.Option("--json", help="NDJSON, one device per line.")] = False,
) -> None:
    """List input and output devices (pick one by index or by part of its name)."""
    found = list_devices()
    if not found:
        raise AudioDeviceError(no_devices_message())
    if json_out:
        for info in found:
            print(json.dumps(asdict(info)), flush=True)
        return
    console = Console(soft_wrap=False)
    server = server_channels()
    hidden = 0
    for kind in ("input", "output"):
        usable = [info for info in found if _rates(info, kind)]
        hidden += sum(1 for info in found if info.channels(kind) > 0 and not _rates(info, kind))
        console.print(_table(usable, kind, server.get(kind), show_hostapi=len(
            {info.hostapi for info in found}) > 1))
    console.print("* = default device. Rates in kHz: mono 16-bit at each rate opens.")
    console.print("ch: the device's channels; any ≤ N: an ALSA plugin, which mixes to and from it.")
    if hidden:
        console.print(f"Not shown: {hidden} that cannot open for that direction (--json lists"
                      " all).")


def _rates(info: DeviceInfo, kind: Kind) -> list[int]:
    return info.rates_in if kind == "input" else info.rates_out


def _channels(info: DeviceInfo, kind: Kind, server: int | None) -> str:
    """What the device has, not what PortAudio's ALSA layer reports for a plugin (its limit)."""
    if not is_alsa_plugin(info):
        return str(info.channels(kind))
    if info.name in SERVER_DEFAULTS and server is not None:
        return str(server)  # the sound server's default source / sink
    return f"any ≤ {info.channels(kind)}"


def _table(found: list[DeviceInfo], kind: Kind, server: int | None, *, show_hostapi: bool,
           ) -> Table:
    title = "Input devices (microphones)" if kind == "input" else "Output devices (speakers)"
    table = Table(title=title, title_justify="left")
    table.add_column("", width=1, no_wrap=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("name", overflow="fold")
    if show_hostapi:
        table.add_column("host API", no_wrap=True)
    table.add_column("ch", justify="right", no_wrap=True)
    table.add_column("default Hz", justify="right", no_wrap=True)
    table.add_column("accepted rates (kHz)", overflow="fold")
    for info in found:
        if info.channels(kind) > 0:
            row = _row(info, kind, server)
            table.add_row(*(row if show_hostapi else row[:3] + row[4:]))
    return table


def _row(info: DeviceInfo, kind: Kind, server: int | None) -> list[str]:
    is_default = info.is_default_input if kind == "input" else info.is_default_output
    return [
        "*" if is_default else "",
        str(info.index),
        info.name,
        info.hostapi,
        _channels(info, kind, server),
        f"{info.default_samplerate:g}",
        " ".join(f"{r / 1000:g}" for r in _rates(info, kind)),
    ]
