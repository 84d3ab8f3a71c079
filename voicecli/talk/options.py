"""What `voicecli talk` can be asked to do, independent of typer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicecli.client.setup import SetupOptions
from voicecli.errors import UsageError
from voicecli.protocol.messages import Content
from voicecli.setting_parts import check_echo_mode
from voicecli.translate.setup import TranslationOptions

SENSITIVITIES = ("low", "high")


@dataclass
class TalkOptions:
    input_device: str | int | None = None  # index or name substring (`voicecli devices`)
    output_device: str | int | None = None
    chunk_ms: int = 20  # mic chunk sent as realtimeInput.audio (§6: 20–100 ms recommended)
    latency: float | str | None = None  # device buffer in seconds, or "low"/"high"
    ptt: bool = False  # push-to-talk: manual activity detection (§5.4)
    barge_in: bool = True
    text: bool = False  # TEXT replies where the model supports them
    vad_silence_ms: int | None = None
    vad_start_sensitivity: str | None = None  # low | high
    vad_end_sensitivity: str | None = None
    echo: str = "auto"  # auto | aec | gate | off (voicecli/audio/echo_path.py)
    noise_suppression: bool = False  # with aec: WebRTC noise suppression on the mic as well
    auto_gain_control: bool = False  # with aec: WebRTC automatic gain control as well
    record_dir: Path | None = None
    transcript: Path | None = None
    preroll_ms: int = 300  # push-to-talk audio kept from before the key press
    ptt_tail_ms: int = 250  # audio still sent after the key is released (peers.md issue 15)
    silent_mic_s: float = 6.0  # only zeros since the mic opened: a warning on screen …
    silent_mic_fatal_s: float = 30.0  # … and this long: an error (no permission, muted)
    # sessions (voicecli/talk/session_setup.py): earlier turns, or a session to continue (§5.6)
    context: list[Content] | None = None  # --context FILE, seeded as clientContent (§3.2)
    resume: str | None = None  # --resume HANDLE: sessionResumption.handle
    translation: TranslationOptions | None = None  # `voicecli translate`
    camera: int | None = None  # --camera INDEX: frames as realtimeInput.video (§3.3, §6)
    screen: int | None = None  # --screen MONITOR

    def __post_init__(self) -> None:
        check_echo_mode(self.echo)
        if not 10 <= self.chunk_ms <= 100:
            raise UsageError(f"--chunk-ms must be between 10 and 100, not {self.chunk_ms}")
        for name in ("vad_start_sensitivity", "vad_end_sensitivity"):
            value = getattr(self, name)
            if value is not None and value.lower() not in SENSITIVITIES:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be low or high, not {value!r}")
        if self.vad_silence_ms is not None and not 0 <= self.vad_silence_ms <= 10_000:
            raise UsageError("--vad-silence-ms must be between 0 and 10000")
        if self.ptt and (self.vad_silence_ms or self.vad_start_sensitivity
                         or self.vad_end_sensitivity):
            raise UsageError("--ptt turns voice activity detection off; drop the --vad-* flags")
        if self.camera is not None and self.screen is not None:
            raise UsageError("give either --camera or --screen, not both")
        if self.translation is not None and self.video_wanted:
            raise UsageError("translate takes audio only (§7.1): drop --camera/--screen")

    @property
    def video_wanted(self) -> bool:
        return self.camera is not None or self.screen is not None

    def setup_options(self) -> SetupOptions:
        return SetupOptions(
            conversation=True,
            manual_activity=self.ptt,
            input_transcription=True,
            needs_audio_out=not self.text,
            vad_silence_ms=self.vad_silence_ms,
            vad_start_sensitivity=_enum("START", self.vad_start_sensitivity),
            vad_end_sensitivity=_enum("END", self.vad_end_sensitivity),
            no_interruption=not self.barge_in,
        )


def _enum(kind: str, value: str | None) -> str | None:
    return None if value is None else f"{kind}_SENSITIVITY_{value.upper()}"
