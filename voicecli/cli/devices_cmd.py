"""`voicecli devices`: the sound devices PortAudio sees, which are the defaults, what rates work."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voicecli.audio.devices import DeviceInfo, Kind, list_devices, no_devices_message
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
    for kind in ("input", "output"):
        console.print(_table(found, kind))
    console.print("* = default device. Rates in kHz: mono 16-bit at each rate opens.")


def _table(found: list[DeviceInfo], kind: Kind) -> Table:
    title = "Input devices (microphones)" if kind == "input" else "Output devices (speakers)"
    show_hostapi = len({info.hostapi for info in found}) > 1
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
            row = _row(info, kind)
            table.add_row(*(row if show_hostapi else row[:3] + row[4:]))
    return table


def _row(info: DeviceInfo, kind: Kind) -> list[str]:
    is_default = info.is_default_input if kind == "input" else info.is_default_output
    rates = info.rates_in if kind == "input" else info.rates_out
    return [
        "*" if is_default else "",
        str(info.index),
        info.name,
        info.hostapi,
        str(info.channels(kind)),
        f"{info.default_samplerate:g}",
        " ".join(f"{r / 1000:g}" for r in rates) or "none (cannot open)",
    ]
