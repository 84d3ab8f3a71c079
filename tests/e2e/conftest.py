"""Fixtures for the end-to-end tests: the virtual audio daemon and a local Live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (  # noqa: F401 - virtual_audio is a fixture
    LocalServer,
    client_env,
    local_server_process,
    virtual_audio,
)


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[LocalServer]:
    """`voicecli serve --port 0` (real-time pacing) in a subprocess; `.url` is its ws:// URL and
    `.env()` the variables that point a client at it."""
    with local_server_process(client_env(tmp_path), tmp_path / "server.log") as server:
        yield server
