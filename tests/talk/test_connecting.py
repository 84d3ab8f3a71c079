"""Talk's start (voicecli/talk/connecting.py): the setup goes out before the devices open, and a
device that fails closes the connection and stays the error, the network's failing or not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets

from tests.cli.test_cli import free_port
from voicecli.audio.fakes import NullSpeaker
from voicecli.errors import AudioDeviceError, NetworkError
from voicecli.settings import Settings
from voicecli.talk import run
from voicecli.talk.options import TalkOptions


class UnpluggedMic:
    """A microphone whose device is gone: opening it fails as a missing device does."""

    async def __aenter__(self) -> Any:
        raise AudioDeviceError("no input device matches 'no-such-mic'; see voicecli devices")

    async def __aexit__(self, *exc: object) -> None:
        return None


def settings_for(url: str) -> Settings:
    return Settings.of(backend="gemini", base_url=url)


async def test_a_mic_that_fails_after_the_setup_went_out_closes_the_session_with_1000(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from voicecli.protocol import ServerSession

    seen: list[str] = []
    opened_after: list[list[str]] = []

    async def peer(ws: websockets.ServerConnection) -> None:
        proto = ServerSession()
        proto.receive_data(await ws.recv())
        seen.append(type(proto.events_received()[0]).__name__)
        proto.send_setup_complete()
        for frame in proto.data_to_send():
            await ws.send(frame)
        await ws.wait_closed()
        seen.append(f"closed {ws.close_code}")

    def mic(options: TalkOptions) -> UnpluggedMic:
        opened_after.append(list(seen))
        return UnpluggedMic()

    monkeypatch.setattr(run, "_microphone", mic)
    async with websockets.serve(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(AudioDeviceError, match="no-such-mic"):
            await asyncio.wait_for(run.run_talk(settings_for(f"http://127.0.0.1:{port}"),
                                                TalkOptions(echo="off"), speaker=NullSpeaker(),
                                                read_keys=False), 20)
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.02)
    assert opened_after == [["Setup"]]  # the device opened once the setup had arrived
    assert seen == ["Setup", "closed 1000"]


async def test_a_missing_mic_is_the_error_when_the_network_fails_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "_microphone", lambda options: UnpluggedMic())
    with pytest.raises(AudioDeviceError, match="no-such-mic"):
        await run.run_talk(settings_for(f"http://127.0.0.1:{free_port()}"),
                           TalkOptions(echo="off"), speaker=NullSpeaker(), read_keys=False)


async def test_an_unreachable_endpoint_is_the_error_when_the_devices_open() -> None:
    from voicecli.audio.fakes import ArrayMicrophone

    with pytest.raises(NetworkError, match="cannot connect"):
        await run.run_talk(settings_for(f"http://127.0.0.1:{free_port()}"),
                           TalkOptions(echo="off"), mic=ArrayMicrophone(b""),
                           speaker=NullSpeaker(), read_keys=False)


async def test_with_an_ephemeral_token_a_missing_mic_fails_before_spending_a_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from voicecli.settings import Secret

    connections: list[str] = []

    async def peer(ws: websockets.ServerConnection) -> None:
        connections.append(ws.request.path if ws.request else "?")
        await ws.close()

    monkeypatch.setattr(run, "_microphone", lambda options: UnpluggedMic())
    async with websockets.serve(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        settings = Settings.of(backend="gemini", base_url=f"http://127.0.0.1:{port}",
                               token=Secret("auth_tokens/one-use"))
        with pytest.raises(AudioDeviceError, match="no-such-mic"):
            await run.run_talk(settings, TalkOptions(echo="off"), speaker=NullSpeaker(),
                               read_keys=False)
    assert connections == []  # §1.1: the token's uses are counted per connection
