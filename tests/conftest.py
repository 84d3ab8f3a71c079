"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from voicecli.server import RunningServer, ServerConfig, start_server


@pytest.fixture
async def local_server() -> AsyncIterator[RunningServer]:
    """The local Live server on a free loopback port, unpaced (replies as fast as possible)."""
    server = await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0.0))
    try:
        yield server
    finally:
        await server.close()
