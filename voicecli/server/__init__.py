"""A local server that speaks the Gemini Live protocol with offline speech parts.

`voicecli serve` runs it; without an API key the CLI embeds it. Its peer is any Live client:
it accepts the service's paths and credentials (live-protocol.md §1, §11), answers like the
service (frame order §5, close codes §5.9), and replies with `EchoAssistant`, pocketsphinx (ASR)
and espeak-ng (TTS). `FaultPlan` breaks it on purpose for tests.

It is built in three rooms, each importing only the ones after it (tests/server/test_rooms.py):
`transport` (listening, the HTTP front, the WebSocket connection, credentials, TLS, admitting a
setup, assembling the engine), `session` (one accepted session on the protocol side: replies,
the outbox, handles, usage estimates, faults, driving the speech parts of `voicecli.speech`) and
`engines` (what answers: the echo assistant, the OpenAI-compatible brain, the stand-ins).
"""

from voicecli.server.engines.echo_assistant import EchoAssistant
from voicecli.server.engines.interface import Engine
from voicecli.server.session.faults import FaultPlan
from voicecli.server.transport.app import RunningServer, serve_forever, start_server
from voicecli.server.transport.config import ServerConfig

EchoEngine = EchoAssistant  # its name before the server was split into rooms

__all__ = [
    "EchoAssistant",
    "EchoEngine",
    "Engine",
    "FaultPlan",
    "RunningServer",
    "ServerConfig",
    "serve_forever",
    "start_server",
]
