"""Endpoint URLs and credential placement (live-protocol.md §1)."""

from __future__ import annotations

import pytest

from voicecli.client.endpoints import build_endpoint, websocket_url
from voicecli.errors import ConfigError
from voicecli.settings import Secret, Settings

KEY = "AIza-secret"
STD = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


def test_default_gemini_endpoint_puts_key_in_header_not_url() -> None:
    e = build_endpoint(Settings.of(api_key=Secret(KEY), model="gemini-3.8-live"))
    assert e.url == "wss://generativelanguage.googleapis.com" + STD
    assert e.headers == {"x-goog-api-key": KEY}
    assert e.model == "models/gemini-3.8-live"
    assert KEY not in repr(e) and KEY not in e.url


def test_v1alpha_and_ephemeral_token() -> None:
    e = build_endpoint(Settings.of(token=Secret("auth_tokens/abc"), api_version="v1alpha"))
    assert e.url.endswith(
        "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
    )
    assert e.headers == {"Authorization": "Token auth_tokens/abc"}


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:8765", "ws://127.0.0.1:8765" + STD),
        ("https://proxy.example", "wss://proxy.example" + STD),
        ("https://proxy.example/", "wss://proxy.example" + STD),
        ("http://h:1/prefix/", "ws://h:1/prefix" + STD),
        ("ws://127.0.0.1:9", "ws://127.0.0.1:9" + STD),
        ("ws://127.0.0.1:9/custom/path", "ws://127.0.0.1:9/custom/path"),
        ("wss://gw.example/live", "wss://gw.example/live"),
    ],
)
def test_base_url_mapping(base: str, expected: str) -> None:
    assert websocket_url(base, STD) == expected


@pytest.mark.parametrize("bad", ["ftp://x", "localhost:8765", "http://h/?key=abc"])
def test_bad_base_urls_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        websocket_url(bad, STD)


def test_vertex_endpoint_model_path_and_bearer() -> None:
    s = Settings.of(backend="vertex", project="p1", location="europe-west4",
                    access_token=Secret("ya29.tok"), model="gemini-live-2.5-flash-native-audio")
    e = build_endpoint(s)
    assert e.url == (
        "wss://europe-west4-aiplatform.googleapis.com/ws/"
        "google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    )
    assert e.model == (
        "projects/p1/locations/europe-west4/publishers/google/models/"
        "gemini-live-2.5-flash-native-audio"
    )
    assert e.headers == {"Authorization": "Bearer ya29.tok"}


def test_vertex_global_location_and_missing_project() -> None:
    s = Settings.of(backend="vertex", project="p", location="global", access_token=Secret("t"))
    assert build_endpoint(s).url.startswith("wss://aiplatform.googleapis.com/ws/")
    with pytest.raises(ConfigError, match="--project"):
        build_endpoint(Settings.of(backend="vertex", access_token=Secret("t")))


@pytest.mark.parametrize(("location", "host"), [
    ("us-central1", "us-central1-aiplatform.googleapis.com"),
    ("global", "aiplatform.googleapis.com"),
    ("eu", "aiplatform.eu.rep.googleapis.com"),  # multi-regional (§1.4)
])
def test_vertex_hosts(location: str, host: str) -> None:
    s = Settings.of(backend="vertex", project="p", location=location, access_token=Secret("t"))
    assert build_endpoint(s).url.startswith(f"wss://{host}/ws/google.cloud.aiplatform.")


def test_a_gemini_key_is_never_sent_to_vertex() -> None:
    s = Settings.of(backend="vertex", project="p", api_key=Secret(KEY), access_token=Secret("t"))
    e = build_endpoint(s)
    assert e.headers == {"Authorization": "Bearer t"} and e.credential == "oauth"
