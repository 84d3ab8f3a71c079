"""`voicecli doctor`: check the sound devices and measure the speaker → microphone echo path."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console

from voicecli.audio.opening import device_spec, latency_spec
from voicecli.doctor import DoctorOptions, DoctorReport, check


def doctor(
    input_device: Annotated[str | None, typer.Option(
        "--input-device", "-i", help="Microphone: index or name substring.")] = None,
    output_device: Annotated[str | None, typer.Option(
        "--output-device", "-o", help="Speaker: index or name substring.")] = None,
    latency: Annotated[str | None, typer.Option(
        "--latency", help="Device buffer: seconds, or low | high.")] = None,
    probe: Annotated[bool, typer.Option(
        "--probe/--no-probe", help="Play a 2.5 s sound to measure the echo path.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Check the microphone and speaker, then measure the echo path (delay, level) and how much
    echo each --echo mode removes. Use it before `talk` on laptop speakers."""
    options = DoctorOptions(input_device=device_spec(input_device),
                            output_device=device_spec(output_device),
                            latency=latency_spec(latency),
                            probe=probe)
    report = asyncio.run(check(options))
    if json_out:
        print(json.dumps(_as_json(report)), flush=True)
    else:
        _print(report, Console(highlight=False))
    if not report.ok:
        raise typer.Exit(1)


def _as_json(report: DoctorReport) -> dict[str, object]:
    out: dict[str, object] = {"checks": [{"name": n, "ok": ok, "detail": d}
                                         for n, ok, d in report.checks]}
    if report.echo is not None:
        out["echo"] = {**asdict(report.echo), "echo_heard": report.echo.echo_heard,
                       "advice": report.echo.advice()}
    return out


def _print(report: DoctorReport, console: Console) -> None:
    for name, ok, detail in report.checks:
        console.print(f"[{'green' if ok else 'red'}]{'✓' if ok else '✗'}[/] {name}: {detail}")
    echo = report.echo
    if echo is None:
        return
    console.print(f"  mic noise floor {echo.noise_dbfs:.0f} dBFS; probe played at"
                  f" {echo.played_dbfs:.0f} dBFS")
    if echo.echo_heard and echo.echo_db is not None and echo.delay_ms is not None:
        console.print(f"  echo: {echo.echo_db:+.0f} dB relative to the playback,"
                      f" {echo.delay_ms:.0f} ms after it (beyond the device latencies)")
        for mode, erle in echo.erle_db.items():
            first = echo.erle_first_s_db.get(mode, 0.0)
            console.print(f"  --echo {mode}: removes {erle:.0f} dB ({first:.0f} dB in the first"
                          " second)")
    console.print(f"→ {echo.advice()}")
