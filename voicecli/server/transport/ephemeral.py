"""Ephemeral auth tokens issued and enforced by the local server (live-protocol.md §1.1, §1.5).

`TokenStore.create(body)` reads an `AuthToken` request body the way the service's REST method
does (flat, camelCase or proto field names, unknown names refused) and issues
`auth_tokens/<64 hex>`. When a `BidiGenerateContentConstrained` session starts, `check` refuses
unknown and expired tokens, `IssuedToken.constrain` applies the locked setup, and `consume`
counts a use (a resumed session is not a new use, §1.5). Sans-I/O: the wall clock is injected.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voicecli.errors import RemoteProtocolError
from voicecli.protocol.codec import camel_case, from_wire, to_wire
from voicecli.protocol.messages import Setup
from voicecli.server.transport.admission import Refused

TOKEN_PREFIX = "auth_tokens/"
DEFAULT_USES = 1  # §1.5 defaults
DEFAULT_EXPIRE_S = 30 * 60.0
DEFAULT_NEW_SESSION_S = 60.0
MAX_AHEAD_S = 20 * 3600.0  # "must be less than 20 hours in the future"
MAX_TOKENS = 10_000

# The service's wording for a rejected credential (§5.9 lists "API key expired" too, §11). It
# names no reason for a refused token, so neither does this server (the real one is logged).
API_KEY_INVALID = "API key not valid. Please pass a valid API key."
API_KEY_EXPIRED = "API key expired. Please renew the API key."

#: request body names → ours; protobuf JSON accepts the camelCase and the proto field names.
#: `name` is output only: accepted and ignored, as the service does with output fields.
_BODY_FIELDS = {
    "uses": "uses",
    "expireTime": "expire_time", "expire_time": "expire_time",
    "newSessionExpireTime": "new_session_expire_time",
    "new_session_expire_time": "new_session_expire_time",
    "bidiGenerateContentSetup": "setup", "bidi_generate_content_setup": "setup",
    "fieldMask": "field_mask", "field_mask": "field_mask",
    "name": "name",
}


class BadRequest(Exception):
    """HTTP 400 INVALID_ARGUMENT with the message the service would give."""


@dataclass
class IssuedToken:
    name: str = field(repr=False)
    uses: int  # 0 = unlimited
    expire_at: float  # epoch seconds: after this, the token's sessions end
    new_session_expire_at: float  # after this, no new session starts with it
    setup: dict[str, Any] | None = None  # bidiGenerateContentSetup, camelCase wire form
    field_mask: tuple[str, ...] = ()
    used: int = 0

    def constrain(self, client: Setup) -> Setup:
        """§1.5: no locked setup → the client's; a setup and no mask → the token's entirely (the
        client's is ignored); a mask → only those paths of the token's setup override."""
        if self.setup is None and not self.field_mask:
            return client
        if not self.field_mask:
            return from_wire(Setup, copy.deepcopy(self.setup or {}), "setup")
        merged = to_wire(client)
        for path in self.field_mask:
            _override(merged, self.setup or {}, path.split("."))
        return from_wire(Setup, merged, "setup")


class TokenStore:
    """The tokens this server issued. Not thread-safe: used only from the event loop."""

    def __init__(self, clock: Callable[[], float] = time.time, max_tokens: int = MAX_TOKENS):
        self._clock = clock
        self._max = max_tokens
        self._tokens: OrderedDict[str, IssuedToken] = OrderedDict()

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Issue a token for an `AuthToken` request body; raises `BadRequest`. Returns the
        resource as the service does: its fields are input only, so just the `name`."""
        token = _parse_body(body, self._clock())
        self._forget_expired()
        self._tokens[token.name] = token
        while len(self._tokens) > self._max:
            self._tokens.popitem(last=False)
        return {"name": token.name}

    def knows(self, name: str) -> bool:
        return name in self._tokens

    def check(self, name: str) -> IssuedToken:
        """The token for a connection; unknown or past `expireTime` → refused (1007)."""
        token = self._tokens.get(name)
        if token is None:
            raise Refused(1007, API_KEY_INVALID, "unknown ephemeral token")
        if self._clock() >= token.expire_at:
            raise Refused(1007, API_KEY_EXPIRED, "ephemeral token past its expireTime")
        return token

    def consume(self, token: IssuedToken, resuming: bool) -> None:
        """Count a new session (§1.5): refused past `newSessionExpireTime` or beyond `uses`.
        Resuming a session is not a new one: it neither counts nor needs that window."""
        if resuming:
            return
        if self._clock() >= token.new_session_expire_at:
            raise Refused(1007, API_KEY_EXPIRED, "ephemeral token past its newSessionExpireTime")
        if token.uses and token.used >= token.uses:
            raise Refused(1007, API_KEY_INVALID, f"ephemeral token used {token.used} times")
        token.used += 1

    def seconds_left(self, token: IssuedToken) -> float:
        return token.expire_at - self._clock()

    def _forget_expired(self) -> None:
        now = self._clock()
        for name in [n for n, t in self._tokens.items() if t.expire_at <= now]:
            del self._tokens[name]


def is_token(credential: str) -> bool:
    return credential.startswith(TOKEN_PREFIX)


def _parse_body(body: Mapping[str, Any], now: float) -> IssuedToken:
    if not isinstance(body, Mapping):
        raise BadRequest("Invalid JSON payload received. Expected an object.")
    values: dict[str, Any] = {}
    for key, value in body.items():
        ours = _BODY_FIELDS.get(key)
        if ours is None:
            raise BadRequest(f'Invalid JSON payload received. Unknown name "{key}": '
                             "Cannot find field.")
        if value is not None:
            values[ours] = value
    expire_at = _time(values, "expire_time", now, DEFAULT_EXPIRE_S)
    return IssuedToken(
        name=TOKEN_PREFIX + secrets.token_hex(32),
        uses=_uses(values.get("uses", DEFAULT_USES)),
        expire_at=expire_at,
        new_session_expire_at=_time(values, "new_session_expire_time", now, DEFAULT_NEW_SESSION_S),
        setup=_setup(values.get("setup")),
        field_mask=_field_mask(values.get("field_mask", "")),
    )


def _uses(value: Any) -> int:
    """int32 in protobuf JSON: a number or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"Invalid value at 'uses' (TYPE_INT32), {json.dumps(value)}")
    try:
        uses = int(value)
    except ValueError:
        raise BadRequest(f"Invalid value at 'uses' (TYPE_INT32), {json.dumps(value)}") from None
    if not 0 <= uses < 2**31:
        raise BadRequest("uses must be zero (unlimited) or a positive number of sessions.")
    return uses


def _time(values: dict[str, Any], name: str, now: float, default_s: float) -> float:
    """An RFC 3339 timestamp in the future, less than 20 hours ahead (§1.5)."""
    if name not in values:
        return now + default_s
    value = values[name]
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(f"Invalid value at '{name}' (type.googleapis.com/google.protobuf."
                         f"Timestamp), {json.dumps(value)}")
    at = moment.timestamp()
    if not now < at < now + MAX_AHEAD_S:
        raise BadRequest(f"{camel_case(name)} must be in the future and less than 20 hours ahead.")
    return at


def _setup(value: Any) -> dict[str, Any] | None:
    """The locked setup, checked like a `setup` message and kept in its camelCase wire form."""
    if value is None:
        return None
    try:
        return to_wire(from_wire(Setup, value, "bidiGenerateContentSetup"))
    except RemoteProtocolError as exc:
        detail = str(exc).removeprefix("bad frame: ")
        raise BadRequest(f"Invalid value at 'bidi_generate_content_setup': {detail}") from None


def _field_mask(value: Any) -> tuple[str, ...]:
    """FieldMask in JSON: one string of comma-separated paths, camelCase (proto names accepted)."""
    if not isinstance(value, str):
        raise BadRequest(f"Invalid value at 'field_mask' (type.googleapis.com/google.protobuf."
                         f"FieldMask), {json.dumps(value)}")
    paths = [p.strip() for p in value.split(",") if p.strip()]
    return tuple(".".join(camel_case(part) for part in path.split(".")) for path in paths)


def _override(target: dict[str, Any], source: dict[str, Any], path: list[str]) -> None:
    """Make `target` at `path` what `source` has there: copied, or removed when it has nothing
    (a masked field the lock leaves unset is locked to unset)."""
    *parents, leaf = path
    found = _walk(source, parents)
    if found is not None and leaf in found:
        for key in parents:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[leaf] = copy.deepcopy(found[leaf])
        return
    parent = _walk(target, parents)
    if parent is not None:
        parent.pop(leaf, None)


def _walk(obj: Any, keys: list[str]) -> dict[str, Any] | None:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else None
