"""A local server that speaks the Gemini Live protocol with offline speech parts.

`voicecli serve` runs it; without an API key the CLI embeds it. Its peer is any Live client:
it accepts the service's paths and credentials (live-protocol.md §1, §11), answers like the
service (frame order §5, close codes §5.9), and replies with `EchoEngine`, pocketsphinx (ASR)
and espeak-ng (TTS). `FaultPlan` breaks it on purpose for tests.
"""

from voicecli.server.engines.echo_assistant import EchoEngine
from voicecli.server.engines.interface import Engine
from voicecli.server.session.faults import FaultPlan
from voicecli.server.transport.app import RunningServer, serve_forever, start_server
from voicecli.server.transport.config import ServerConfig

__all__ = [
    "EchoEngine",
    "Engine",
    "FaultPlan",
    "RunningServer",
    "ServerConfig",
    "serve_forever",
    "start_server",
]
