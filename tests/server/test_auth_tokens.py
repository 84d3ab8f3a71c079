"""Ephemeral tokens on the local server (live-protocol.md §1.1, §1.3, §1.5): the REST method on
the WebSocket's port, and Constrained sessions that honour uses, expiry and the locked setup."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from voicecli.server import RunningServer

from .helpers import AUDIO_MODEL, PATH, TEXT_MODEL, connect, running, session, setup_msg, text_of

CONSTRAINED = PATH.replace("BidiGenerateContent", "BidiGenerateContentConstrained")
KEY = "sekret-key-123"
BAD_KEY = "API key not valid. Please pass a valid API key."
EXPIRED = "API key expired. Please renew the API key."


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def post(
    server: RunningServer, body: Any = None, *, path: str = "/v1alpha/auth_tokens",
    key: str | None = KEY, raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """A real HTTP POST to the server's port (urllib in a thread: the loop keeps serving)."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-goog-api-key"] = key
    data = raw if raw is not None else json.dumps(body or {}).encode()
    url = f"http://127.0.0.1:{server.port}{path}"
    return await asyncio.to_thread(_post, url, data, headers)


async def mint(server: RunningServer, **body: Any) -> str:
    status, resource = await post(server, body)
    assert status == 200, resource
    return str(resource["name"])


def rfc3339(seconds_from_now: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.isoformat().replace("+00:00", "Z")


def token_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


async def opens(server: RunningServer, token: str, setup: dict[str, Any] | None = None,
                **kw: Any) -> tuple[int | None, str]:
    """(None, '') when a Constrained session opens, else the close it got."""
    async with connect(server, kw.pop("path", CONSTRAINED),
                       headers=kw.pop("headers", token_header(token))) as c:
        await c.send(setup or setup_msg())
        first = await c.recv()
        if "setupComplete" in first.msg:
            return None, ""
    raise AssertionError(first.msg)


async def refused(server: RunningServer, headers: dict[str, str], path: str = CONSTRAINED,
                  setup: dict[str, Any] | None = None) -> tuple[int | None, str]:
    async with connect(server, path, headers=headers) as c:
        await c.send(setup or setup_msg())
        return await c.closed()


# ---- the REST method ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1alpha/auth_tokens", "/v1beta/auth_tokens",
                                  "//v1alpha/auth_tokens"])
async def test_both_versions_issue_a_token_named_auth_tokens(path: str) -> None:
    async with running(require_key=KEY) as server:
        status, resource = await post(server, {"uses": 2}, path=path)
    assert status == 200
    assert list(resource) == ["name"]  # uses/expireTime/… are input only (§1.5)
    assert resource["name"].startswith("auth_tokens/") and len(resource["name"]) == 12 + 64


async def test_the_key_may_travel_as_query_parameter() -> None:
    async with running(require_key=KEY) as server:
        status, _ = await post(server, {}, path=f"/v1alpha/auth_tokens?key={KEY}", key=None)
    assert status == 200


@pytest.mark.parametrize(("key", "status", "fragment"), [
    (None, 403, "unregistered callers"),
    ("wrong", 400, BAD_KEY),
])
async def test_only_the_required_key_mints(key: str | None, status: int, fragment: str) -> None:
    async with running(require_key=KEY) as server:
        got, body = await post(server, {}, key=key)
    assert got == status
    assert fragment in body["error"]["message"] and body["error"]["code"] == status


async def test_a_token_cannot_mint_another_and_bad_key_carries_error_info(
    local_server: RunningServer,
) -> None:
    token = await mint(local_server)
    status, body = await post(local_server, {}, key=token)
    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert body["error"]["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.parametrize(("body", "fragment"), [
    ({"liveConnectConstraints": {}}, 'Unknown name "liveConnectConstraints"'),
    ({"uses": -1}, "uses"),
    ({"uses": "many"}, "uses"),
    ({"expireTime": "tomorrow"}, "expire_time"),
    ({"expireTime": "2030-01-01T00:00:00"}, "expire_time"),  # RFC 3339 needs an offset
    ({"expireTime": rfc3339(21 * 3600)}, "20 hours"),
    ({"newSessionExpireTime": rfc3339(-5)}, "in the future"),
    ({"bidiGenerateContentSetup": {"model": 5}}, "bidi_generate_content_setup"),
    ({"fieldMask": ["model"]}, "field_mask"),
])
async def test_bad_bodies_get_400_with_the_reason(
    local_server: RunningServer, body: dict[str, Any], fragment: str
) -> None:
    status, answer = await post(local_server, body)
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"
    assert fragment in answer["error"]["message"]


async def test_proto_field_names_and_unparsable_json(local_server: RunningServer) -> None:
    status, _ = await post(local_server, {"expire_time": rfc3339(60), "field_mask": "model"})
    assert status == 200
    status, answer = await post(local_server, raw=b"{not json")
    assert status == 400 and "Invalid JSON payload" in answer["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/auth_tokens", "/v1alpha/other", "/v1alpha/auth_tokens/x"])
async def test_other_rest_paths_are_404_in_googles_shape(
    local_server: RunningServer, path: str
) -> None:
    status, body = await post(local_server, {}, path=path)
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"


async def test_a_body_sent_in_pieces_and_a_chunked_one(local_server: RunningServer) -> None:
    body = json.dumps({"uses": 3}).encode()
    head = (f"POST /v1beta/auth_tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", local_server.port)
    for piece in (head[:2], head[2:9], head[9:], body[:4], body[4:]):  # "PO", "ST /v1b", …
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.02)
    answer = await reader.read()  # the server closes after its reply
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b'"auth_tokens/' in answer
    reader, writer = await asyncio.open_connection("127.0.0.1", local_server.port)
    writer.write(b"POST /v1beta/auth_tokens HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 411 ")


# ---- sessions with a token ----------------------------------------------------------------------


async def test_default_token_starts_one_session_then_is_refused(
    local_server: RunningServer,
) -> None:
    token = await mint(local_server)
    async with session(local_server, setup_msg(), path=CONSTRAINED,
                       headers=token_header(token)) as c:
        await c.send({"realtimeInput": {"text": "with a token"}})
        assert text_of(await c.turn()) == "You said: with a token."
    assert await refused(local_server, token_header(token)) == (1007, BAD_KEY)


@pytest.mark.parametrize("uses", [2, 0])
async def test_uses_counts_sessions_and_zero_is_unlimited(
    local_server: RunningServer, uses: int
) -> None:
    token = await mint(local_server, uses=uses)
    for _ in range(2):
        assert await opens(local_server, token) == (None, "")
    if uses == 0:
        assert await opens(local_server, token) == (None, "")
    else:
        assert await refused(local_server, token_header(token)) == (1007, BAD_KEY)


async def test_access_token_query_parameter_is_a_token_transport(
    local_server: RunningServer,
) -> None:
    token = await mint(local_server)
    assert await opens(local_server, token, path=f"{CONSTRAINED}?access_token={token}",
                       headers={}) == (None, "")


async def test_resuming_is_not_a_new_use_nor_a_new_session() -> None:
    """§1.5: a resumed session counts no use and may start after newSessionExpireTime."""
    async with running() as server:
        token = await mint(server, newSessionExpireTime=rfc3339(1.0))
        resumable = {**setup_msg()["setup"], "sessionResumption": {}}
        async with session(server, {"setup": resumable}, path=CONSTRAINED,
                           headers=token_header(token)) as c:
            handle = (await c.recv()).msg["sessionResumptionUpdate"]["newHandle"]
        await asyncio.sleep(1.1)
        resumed = {**setup_msg()["setup"], "sessionResumption": {"handle": handle}}
        assert await opens(server, token, {"setup": resumed}) == (None, "")
        assert await refused(server, token_header(token)) == (1007, EXPIRED)


async def test_past_new_session_expire_time_a_new_session_is_refused() -> None:
    async with running() as server:
        token = await mint(server, uses=5, newSessionExpireTime=rfc3339(0.5))
        assert await opens(server, token) == (None, "")
        await asyncio.sleep(0.6)
        assert await refused(server, token_header(token)) == (1007, EXPIRED)


async def test_at_expire_time_the_session_is_closed() -> None:
    async with running() as server:
        token = await mint(server, expireTime=rfc3339(1.0))
        started = time.monotonic()
        async with session(server, setup_msg(), path=CONSTRAINED,
                           headers=token_header(token)) as c:
            assert await c.closed(limit_s=5) == (1007, EXPIRED)
        assert 0.8 < time.monotonic() - started < 2.5
        assert await refused(server, token_header(token)) == (1007, EXPIRED)


@pytest.mark.parametrize("headers", [
    {},  # nothing
    {"x-goog-api-key": KEY},  # an API key is not a token (§1.1)
    {"Authorization": f"Token {KEY}"},
    {"Authorization": "Token auth_tokens/never-issued"},
])
async def test_constrained_takes_only_an_issued_token(headers: dict[str, str]) -> None:
    async with running(require_key=KEY) as server:
        assert await refused(server, headers) == (1007, BAD_KEY)


async def test_x_goog_api_key_alone_does_not_carry_a_token_but_is_tolerated_beside_it(
    local_server: RunningServer,
) -> None:
    token = await mint(local_server, uses=0)
    assert await refused(local_server, {"x-goog-api-key": token}) == (1007, BAD_KEY)
    both = {"x-goog-api-key": token, **token_header(token)}  # what google-genai sends (§1.1)
    assert await opens(local_server, token, headers=both) == (None, "")


@pytest.mark.parametrize("where", ["header", "query", "authorization"])
async def test_a_token_on_the_plain_method_is_refused(
    local_server: RunningServer, where: str
) -> None:
    token = await mint(local_server, uses=0)
    path, headers = PATH, {}
    if where == "header":
        headers = {"x-goog-api-key": token}
    elif where == "query":
        path = f"{PATH}?key={token}"
    else:
        headers = token_header(token)
    assert await refused(local_server, headers, path=path) == (1007, BAD_KEY)


# ---- the locked setup (§1.5 fieldMask semantics) ------------------------------------------------


LOCKED_TEXT = {"model": TEXT_MODEL, "generationConfig": {"responseModalities": ["TEXT"]}}


async def test_a_lock_without_mask_replaces_the_clients_setup(local_server: RunningServer) -> None:
    token = await mint(local_server, bidiGenerateContentSetup=LOCKED_TEXT)
    async with session(local_server, setup_msg(AUDIO_MODEL, "AUDIO"), path=CONSTRAINED,
                       headers=token_header(token)) as c:
        await c.send({"realtimeInput": {"text": "locked"}})
        frames = await c.turn()
    assert text_of(frames) == "You said: locked."  # TEXT, though the client asked for AUDIO


async def test_masked_fields_override_and_the_rest_stay_the_clients(
    local_server: RunningServer,
) -> None:
    lock = {"generationConfig": {"responseModalities": ["TEXT"]}, "model": AUDIO_MODEL}
    token = await mint(local_server, uses=0, bidiGenerateContentSetup=lock,
                       fieldMask="generationConfig.responseModalities")
    client = setup_msg(TEXT_MODEL, "AUDIO", outputAudioTranscription={})
    async with session(local_server, client, path=CONSTRAINED, headers=token_header(token)) as c:
        await c.send({"realtimeInput": {"text": "masked"}})
        frames = await c.turn()
    assert text_of(frames) == "You said: masked."  # the model stayed the client's (text-capable)


async def test_a_merged_setup_the_service_would_refuse_is_refused(
    local_server: RunningServer,
) -> None:
    """The lock pins gemini-3.8-live; the client's own (unlocked) affective dialog is a 2.5-only
    field, so the merged setup is refused as the service refuses it (§3.1.10, §5.9)."""
    unlocked = await mint(local_server)
    locked = await mint(local_server, bidiGenerateContentSetup={"model": AUDIO_MODEL},
                        fieldMask="model")
    client = setup_msg("models/gemini-2.5-flash-native-audio-preview-12-2025", "AUDIO")
    client["setup"]["generationConfig"]["enableAffectiveDialog"] = True
    alpha = CONSTRAINED.replace("v1beta", "v1alpha")
    assert await opens(local_server, unlocked, client, path=alpha) == (None, "")
    code, _ = await refused(local_server, token_header(locked), path=alpha, setup=client)
    assert code == 1007


# ---- the store and the merge, without sockets ---------------------------------------------------


def test_mask_paths_copy_create_parents_and_lock_absent_fields_to_unset() -> None:
    from voicecli.protocol.codec import decode_client, to_wire
    from voicecli.server.transport.ephemeral import TokenStore

    store = TokenStore(clock=lambda: 1000.0)
    lock = {"generationConfig": {"temperature": 0.2, "speechConfig": {"languageCode": "de-DE"}}}
    name = store.create({"bidiGenerateContentSetup": lock,
                         "fieldMask": "generation_config.temperature,systemInstruction,"
                                      "generationConfig.speechConfig.languageCode"})["name"]
    client = decode_client(json.dumps({"setup": {
        "model": "models/x", "systemInstruction": {"parts": [{"text": "mine"}]},
        "generationConfig": {"temperature": 1.5, "responseModalities": ["TEXT"]}}}))
    merged = to_wire(store.check(name).constrain(client))  # type: ignore[arg-type]
    assert merged == {"model": "models/x", "generationConfig": {
        "temperature": 0.2, "responseModalities": ["TEXT"],
        "speechConfig": {"languageCode": "de-DE"}}}  # systemInstruction locked to unset


def test_store_expiry_follows_its_clock() -> None:
    from voicecli.server.transport.admission import Refused
    from voicecli.server.transport.ephemeral import TokenStore

    now = [1_000_000.0]
    store = TokenStore(clock=lambda: now[0])
    name = store.create({})["name"]  # defaults: 30 min, new sessions for 60 s, one use
    token = store.check(name)
    assert (token.expire_at - now[0], token.new_session_expire_at - now[0]) == (1800, 60)
    now[0] += 61
    with pytest.raises(Refused, match="expired"):
        store.consume(store.check(name), resuming=False)
    store.consume(store.check(name), resuming=True)  # resuming needs no new-session window
    now[0] += 1800
    with pytest.raises(Refused, match="expired"):
        store.check(name)


async def test_expect_100_continue_is_answered(local_server: RunningServer) -> None:
    """curl sends `Expect: 100-continue` for bodies over 1 KiB and waits for the interim reply."""
    body = json.dumps({"bidiGenerateContentSetup": {"systemInstruction": {
        "parts": [{"text": "x" * 2000}]}}}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", local_server.port)
    writer.write(f"POST /v1beta/auth_tokens HTTP/1.1\r\nContent-Length: {len(body)}\r\n"
                 "Expect: 100-continue\r\n\r\n".encode())
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2) == (
        b"HTTP/1.1 100 Continue\r\n\r\n")
    writer.write(body)
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
