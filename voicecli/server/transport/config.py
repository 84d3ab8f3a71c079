"""`ServerConfig`: everything `voicecli serve` and the embedded local engine can tune."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecli.server.session.faults import FaultPlan
from voicecli.server.transport.tls import TlsFiles

MIB = 1024 * 1024


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    #: When set, only this key/token is accepted (§1.1); otherwise any key, or none.
    require_key: str | None = field(default=None, repr=False)
    faults: FaultPlan = field(default_factory=FaultPlan)
    #: Send goAway this long after connecting, then close 1008 if the client overstays (§4.5).
    connection_lifetime_s: float | None = None
    go_away_grace_s: float = 10.0
    max_frame_bytes: int = 8 * MIB
    #: Concurrent sessions (set up); one more is closed 1013 with a reason saying so.
    max_sessions: int = 64
    #: Upgraded sockets still waiting for their setup; beyond this the upgrade gets HTTP 503.
    max_pending: int = 256
    #: An established session with no client message for this long (and no reply under way)
    #: gets goAway, then is closed (`--idle-timeout`, `local_idle_timeout_s`); None = never.
    idle_timeout_s: float | None = 600.0
    #: Browser `Origin` values allowed to connect ("*" = any); no Origin header is always fine.
    allowed_origins: tuple[str, ...] = ()
    #: Reply audio pacing: 1.0 = real time after a short lead, 0 = as fast as possible (§5.2).
    pace: float = 1.0
    handle_ttl_s: float = 7200.0
    #: Wall-clock limit for the setup message after the upgrade (and for the HTTP handshake).
    setup_timeout_s: float = 5.0
    #: Speech recogniser: "whisper" (faster-whisper; None = the bundled tiny.en) or
    #: "pocketsphinx" (the light fallback); both come with the `local` extra.
    asr: str = "whisper"
    asr_model: str | None = None
    #: Voice: "piper" (en_US-joe-medium for English, espeak-ng for other languages) or "espeak".
    tts: str = "piper"
    #: The brain: an OpenAI-compatible chat-completions endpoint; None = the echo assistant.
    brain_url: str | None = None
    brain_model: str | None = None
    brain_key: str | None = field(default=None, repr=False)
    #: `--brain ollama[:MODEL]` (llamacpp, lmstudio): a local server by name (engines/discovery.py)
    brain: str | None = None
    #: With no brain_url: probe the usual local servers at start (serve and the embedded engine)
    discover_brain: bool = False
    #: Which local server the brain was found at; "" = searched and none found; None = not searched
    brain_found: str | None = None
    #: Serve wss:// with this certificate (`voicecli serve --tls`).
    tls: TlsFiles | None = None

    def describe(self) -> str:
        """One line for the log / the `serve` banner; never includes a key."""
        parts = [f"pace {self.pace:g}", f"max {self.max_sessions} sessions"]
        if self.require_key is not None:
            parts.append("key required")
        if self.connection_lifetime_s is not None:
            parts.append(f"goAway after {self.connection_lifetime_s:g} s")
        if self.idle_timeout_s is not None:
            parts.append(f"idle sessions closed after {self.idle_timeout_s:g} s")
        if self.allowed_origins:
            parts.append(f"browser origins allowed: {', '.join(self.allowed_origins)}")
        if self.tls is not None:
            parts.append(f"TLS certificate {self.tls.cert}")
        if self.faults:
            parts.append(f"faults {self.faults.describe()}")
        return ", ".join(parts)

    def recognizer(self) -> str:
        if self.asr == "whisper":
            from voicecli.speech.whisper import describe

            return describe(self.asr_model)
        return "pocketsphinx en-US (streaming, partial transcripts; demo quality)"

    def hears_english_only(self) -> bool:
        """pocketsphinx and the English-only Whisper models (tiny.en, the default, …)."""
        if self.asr == "pocketsphinx":
            return True
        return (self.asr_model or "tiny.en").rstrip("/").endswith(".en")
