"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from voicecli.server import RunningServer, ServerConfig, start_server

# The local engine looks for a language model on the usual local ports
# (server/engines/discovery.py). Other programs on this machine may listen there, so tests do not
# probe them unless a test asks (tests/server/test_discovery.py points the probe at its own stub
# servers).
os.environ.setdefault("VOICECLI_BRAIN_PROBE", "off")


@pytest.fixture
async def local_server() -> AsyncIterator[RunningServer]:
    """The local Live server on a free loopback port, unpaced (replies as fast as possible)."""
    server = await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0.0))
    try:
        yield server
    finally:
        await server.close()
