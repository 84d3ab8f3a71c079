"""`voicecli doctor`: can this machine talk? Sound system, devices, and the echo path.

    report = asyncio.run(check(DoctorOptions()))   # library use, no typer

Checks, in order: PortAudio loads; an input and an output device can be picked (by the same
rules as `talk`); whether the aec extra is installed; then, unless ``probe=False``, the echo
probe (voicecli.audio.calibrate): a 2.5 s sound through the speaker, measured at the mic, and
replayed through each canceller. Device failures raise AudioDeviceError (exit 6) as in `talk`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecli.audio.calibrate import EchoProbe, run_probe
from voicecli.audio.echo import AEC_HINT, aec_available
from voicecli.talk.options import TalkOptions


@dataclass
class DoctorOptions:
    input_device: str | int | None = None
    output_device: str | int | None = None
    latency: float | str | None = None
    probe: bool = True


@dataclass
class DoctorReport:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (name, ok, detail)
    echo: EchoProbe | None = None

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


async def check(options: DoctorOptions) -> DoctorReport:
    from voicecli.talk.run import _microphone, _speaker  # talk's own device settings

    report = DoctorReport()
    talk = TalkOptions(input_device=options.input_device, output_device=options.output_device,
                       latency=options.latency)
    async with _microphone(talk) as mic, _speaker(talk) as speaker:
        report.checks.append(("microphone", True, f"{mic.device_name} at {mic.rate} Hz"))
        report.checks.append(("speaker", True, f"{speaker.device_name} at {speaker.rate} Hz"))
        report.checks.append(("echo cancellation (aec)", True,
                              "installed" if aec_available() else f"not installed: {AEC_HINT}"))
        if options.probe:
            report.echo = await run_probe(mic, speaker)
    return report
