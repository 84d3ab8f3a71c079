"""`voicecli doctor`: can this machine talk? Sound system, devices, and the echo path.

    report = asyncio.run(check(DoctorOptions()))   # library use, no typer

Checks, in order: PortAudio loads; an input and an output device can be picked (by the same
rules as `talk`); the microphone gives a signal (not only digital silence: a muted mic, or one
this program may not use); whether the aec extra is installed; then, unless ``probe=False``,
the echo probe (voicecli.audio.calibrate): a 2.5 s sound through the speaker, measured at the
mic, and replayed through each canceller. Device failures raise AudioDeviceError (exit 6) as in
`talk`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecli.audio.aec_extra import AEC_HINT, aec_available
from voicecli.audio.calibrate import EchoProbe, run_probe
from voicecli.audio.interfaces import AudioInput

LISTEN_S = 1.0  # with --no-probe: how long the mic is heard to tell a live one from a silent one


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
    from voicecli.audio.opening import open_microphone, open_speaker  # talk's device settings

    report = DoctorReport()
    async with (open_microphone(options.input_device, latency=options.latency) as mic,
                open_speaker(options.output_device, latency=options.latency) as speaker):
        if options.probe:
            report.echo = await run_probe(mic, speaker)
        else:
            await _listen(mic, LISTEN_S)
        heard_signal = mic.stats.signal_seen
        detail = f"{mic.device_name} at {mic.rate} Hz"
        if not heard_signal:  # what a real mic never gives: zeros, not even noise
            detail += (f", but it gave only digital silence (every sample zero) for"
                       f" {mic.stats.silent_s:.1f} s: muted, no permission to use it, or a"
                       " virtual mic nothing plays into")
            report.echo = None  # nothing was measured: there is no echo to tell about
        report.checks.append(("microphone", heard_signal, detail))
        report.checks.append(("speaker", True, f"{speaker.device_name} at {speaker.rate} Hz"))
        report.checks.append(("echo cancellation (aec)", True,
                              "installed" if aec_available() else f"not installed: {AEC_HINT}"))
    return report


async def _listen(mic: AudioInput, seconds: float) -> None:
    """Read the mic for `seconds` (its stats tell whether it gave any signal)."""
    for _ in range(max(1, int(seconds * 1000 / mic.chunk_ms))):
        await mic.read_chunk()
