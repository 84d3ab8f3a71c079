"""Vertex AI (live-protocol.md §1.4, §8): credentials from google-auth's Application Default
Credentials or a stand-in `gcloud` on PATH (Google's CLI cannot log in here), refreshed for a
reconnect; Vertex-style frames from the local server's aiplatform path, and every recorded
Vertex session, through the client's decoder, events and NDJSON."""

from __future__ import annotations

import dataclasses
import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.protocol.recordings import load_recordings
from voicecli.client.endpoints import build_endpoint
from voicecli.client.live import ConnectOptions, LiveSession, Reconnected
from voicecli.client.ndjson import event_json, usage_json
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.client.vertex_credentials import NO_CREDENTIALS, VertexCredentials
from voicecli.errors import AuthenticationError
from voicecli.protocol import events as ev
from voicecli.protocol.codec import decode_server
from voicecli.server import FaultPlan, ServerConfig, start_server
from voicecli.settings import Secret, Settings

FAST = ConnectOptions(setup_timeout_s=5, backoff_base_s=0.05, backoff_cap_s=0.2)
FAKE_GCLOUD = """#!/bin/sh
# stands in for Google's gcloud CLI: counts its runs, prints the token in ../token; its knobs are
# files beside it (voicecli gives gcloud an allow-listed environment, so no FAKE_* variables)
d=$(dirname "$0")/..
env > "$d/environment"
n=$(cat "$d/count" 2>/dev/null || echo 0); echo $((n + 1)) > "$d/count"
[ "$1 $2" = "auth print-access-token" ] || { echo "unexpected: $*" >&2; exit 9; }
[ -f "$d/sleep" ] && sleep "$(cat "$d/sleep")"
[ -f "$d/fail" ] && { cat "$d/fail" >&2; exit 1; }
cat "$d/token"
"""


class Gcloud:
    """The fake gcloud's knobs: the token it prints and how often it ran."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        script = self.bin / "gcloud"
        script.write_text(FAKE_GCLOUD)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        self.root = root
        self.token_file = root / "token"
        self.count_file = root / "count"
        self.token = "ya29.first-token"

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()

    @token.setter
    def token(self, value: str) -> None:
        self.token_file.write_text(value + "\n")

    @property
    def runs(self) -> int:
        return int(self.count_file.read_text()) if self.count_file.exists() else 0

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin}:/bin"}

    def environment(self) -> dict[str, str]:
        """The environment of gcloud's last run."""
        lines = (self.root / "environment").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture
def no_adc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Application Default Credentials: no key file, an empty gcloud config, no metadata."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud-config"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # the real gcloud must not run
    monkeypatch.setattr("google.auth.compute_engine._metadata._NO_GCE_CHECK", True)


@pytest.fixture
def gcloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_adc: None) -> Gcloud:
    fake = Gcloud(tmp_path)
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    return fake


def test_gcloud_token_is_reused_inside_its_window_then_fetched_again(gcloud: Gcloud) -> None:
    now = [0.0]
    creds = VertexCredentials(clock=lambda: now[0])
    assert creds.bearer() == "ya29.first-token" and creds.source == "gcloud"
    gcloud.token = "ya29.second-token"
    now[0] += 239
    assert creds.bearer() == "ya29.first-token"  # gcloud promised ≥ 300 s
    now[0] += 2
    assert creds.bearer() == "ya29.second-token"
    assert gcloud.runs == 2


def test_a_failing_gcloud_is_one_clear_line(gcloud: Gcloud, monkeypatch: pytest.MonkeyPatch):
    (gcloud.root / "fail").write_text("ERROR: (gcloud.auth.print-access-token) You do not "
                                      "currently have an active account selected.\n")
    with pytest.raises(AuthenticationError) as info:
        VertexCredentials().bearer()
    message = str(info.value)
    assert "\n" not in message and "exit 1" in message
    assert "no active account" in message.replace("do not currently have an", "no")
    assert "gcloud auth login" in message


def test_a_hanging_gcloud_times_out(gcloud: Gcloud, monkeypatch: pytest.MonkeyPatch) -> None:
    (gcloud.root / "sleep").write_text("5")
    with pytest.raises(AuthenticationError, match="did not answer within 0.3 s"):
        VertexCredentials(gcloud_timeout_s=0.3).bearer()


def test_gcloud_gets_its_own_settings_and_no_key_of_voicecli(
    gcloud: Gcloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GEMINI_API_KEY", "VOICECLI_BRAIN_KEY", "GITHUB_TOKEN", "VOICECLI_TOKEN"):
        monkeypatch.setenv(name, f"secret-{name}")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert VertexCredentials().bearer() == "ya29.first-token"
    seen = gcloud.environment()
    assert seen["CLOUDSDK_CONFIG"] == str(tmp_path / "gcloud-config")
    assert seen["HTTPS_PROXY"] == "http://proxy.example:3128"
    assert not [value for value in seen.values() if value.startswith("secret-")], seen


def test_neither_adc_nor_gcloud(no_adc: None) -> None:
    with pytest.raises(AuthenticationError) as info:
        build_endpoint(Settings.of(backend="vertex", project="p"))
    assert str(info.value) == NO_CREDENTIALS


# ---- Application Default Credentials through google-auth -------------------------------------


@pytest.fixture
def oauth_stand_in() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A token endpoint for a service account's `token_uri` (Google's OAuth server stand-in):
    it answers the JWT-bearer grant google-auth posts with an access token."""
    grants: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            grants.append(dict(p.split("=", 1) for p in body.split("&")))
            answer = json.dumps({"access_token": f"ya29.adc-{len(grants)}", "expires_in": 3600,
                                 "token_type": "Bearer"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token", grants
    server.shutdown()
    server.server_close()


def service_account_file(path: Path, token_uri: str) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "k1",
        "private_key": pem, "client_email": "voicecli-test@p.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": token_uri,
    }))
    return path


async def test_adc_from_google_auth_opens_a_vertex_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_adc: None,
    oauth_stand_in: tuple[str, list[dict[str, str]]],
) -> None:
    token_uri, grants = oauth_stand_in
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS",
                       str(service_account_file(tmp_path / "sa.json", token_uri)))
    config = ServerConfig(port=0, pace=0, require_key="ya29.adc-1")
    async with await start_server(config) as server:
        settings = Settings.of(backend="vertex", project="p", location="us-central1",
                               base_url=server.url.replace("ws://", "http://"))
        endpoint = build_endpoint(settings)
        assert endpoint.credentials is not None and endpoint.credentials.source == "adc"
        setup = build_setup(settings, endpoint.model, SetupOptions())
        async with LiveSession(endpoint, setup, FAST) as live:
            assert live.setup_complete is not None and live.setup_complete.session_id
    assert len(grants) == 1 and grants[0]["grant_type"].endswith("jwt-bearer")


# ---- a reconnect presents a fresh token ---------------------------------------------------------


async def test_a_reconnect_after_the_token_expired_fetches_a_new_one(gcloud: Gcloud) -> None:
    """The first token stops being accepted (the server now wants the second, as the service
    would once it expired); after the goAway the client reconnects with a fresh token."""
    config = ServerConfig(port=0, pace=0, require_key="ya29.first-token",
                          faults=FaultPlan.parse("goaway-after=0.3:10"))
    async with await start_server(config) as server:
        settings = Settings.of(backend="vertex", project="p", location="us-central1",
                               base_url=server.url.replace("ws://", "http://"),
                               model="gemini-live-2.5-flash-native-audio", response="audio")
        now = [0.0]
        credentials = VertexCredentials(clock=lambda: now[0])
        endpoint = dataclasses.replace(build_endpoint(settings), credentials=credentials)
        setup = build_setup(settings, endpoint.model, SetupOptions(conversation=True))
        async with LiveSession(endpoint, setup, FAST) as live:
            server.config.require_key = "ya29.second-token"
            gcloud.token = "ya29.second-token"
            now[0] += 241  # the cached token is past gcloud's window
            notes = []
            async for event in live.events():
                notes.append(event)
                if isinstance(event, Reconnected):
                    break
    assert notes[-1] == Reconnected(attempt=1, resumed=True)
    assert gcloud.runs == 3  # build_endpoint, the first connection, the reconnect


# ---- Vertex's frames (§8) -----------------------------------------------------------------------


async def test_the_client_reads_the_vertex_paths_frames() -> None:
    """The local server's aiplatform path answers as Vertex does (§8: `audio/pcm` without a
    rate, `candidatesTokenCount`; tests/server/test_vertex_frames.py checks the raw frames)."""
    async with await start_server(ServerConfig(port=0, pace=0)) as server:
        settings = Settings.of(backend="vertex", project="p", location="us-central1",
                               base_url=server.url.replace("ws://", "http://"),
                               access_token=Secret("ya29.static"), response="audio")
        endpoint = build_endpoint(settings)
        setup = build_setup(settings, endpoint.model, SetupOptions())
        async with LiveSession(endpoint, setup, FAST) as live:
            assert live.setup_complete is not None and live.setup_complete.session_id
            await live.send_text("vertex style")
            seen = []
            async for event in live.events():
                seen.append(event)
                if isinstance(event, ev.TurnComplete):
                    break
    audio = [e for e in seen if isinstance(e, ev.ModelAudio)]
    assert audio and {a.rate for a in audio} == {24000}
    usage = [e.usage for e in seen if isinstance(e, ev.Usage)][-1]
    assert usage.response_token_count is None and usage.candidates_token_count
    assert usage_json(usage)["response_tokens"] == usage.candidates_token_count  # type: ignore[index]


VERTEX_RECORDINGS = [r for r in load_recordings() if r.is_vertex]


@pytest.mark.parametrize("recording", VERTEX_RECORDINGS, ids=[r.name for r in VERTEX_RECORDINGS])
def test_every_recorded_vertex_frame_decodes_into_events_and_ndjson(recording) -> None:  # type: ignore[no-untyped-def]
    for frame in recording.server_frames:
        msg = decode_server(frame.text.encode())
        assert msg.extra == {}
        for event in ev.events_from(msg):
            assert not isinstance(event, ev.UnknownField | ev.ServerErrorPayload)
            if isinstance(event, ev.ModelAudio):
                assert event.rate == 24000 and len(event.data) % 2 == 0  # "audio/pcm": 24 kHz
            out = event_json(event)
            if isinstance(event, ev.SetupComplete):
                assert out is not None and len(out["session_id"]) == 36
            json.dumps(out)


def test_an_access_token_from_the_environment_needs_no_gcloud(
    gcloud: Gcloud, tmp_path: Path
) -> None:
    from voicecli.settings import load_settings

    env = {"VOICECLI_ACCESS_TOKEN": "ya29.from-env", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    settings = load_settings({"backend": "vertex", "project": "p"}, env=env)
    endpoint = build_endpoint(settings)
    assert endpoint.headers == {"Authorization": "Bearer ya29.from-env"}
    assert endpoint.credentials is None and gcloud.runs == 0
