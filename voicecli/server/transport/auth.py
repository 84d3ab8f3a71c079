"""Who may open a Live session, by method (live-protocol.md §1.1, §1.4, §1.5, §8).

- `BidiGenerateContentConstrained` takes only an ephemeral token this server issued, in
  `Authorization: Token …` or `?access_token=`; an API key there is refused.
- `BidiGenerateContent` (and the Vertex path) take the key `--require-key` names, or anything
  when none is required, but never an ephemeral token: tokens need the Constrained method (§1.1;
  Vertex has no tokens at all, §8).

Refusals close with 1007 and the service's wording (§5.9, §11); the real reason is logged at
debug level by the caller, never the credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from voicecli.server.transport.admission import Refused
from voicecli.server.transport.ephemeral import API_KEY_INVALID, IssuedToken, TokenStore, is_token
from voicecli.server.transport.routing import (
    Route,
    credential_accepted,
    find_credential,
    find_token,
)

CONSTRAINED = "BidiGenerateContentConstrained"


@dataclass(frozen=True)
class Grant:
    """What the credential allows: a plain session, or one bound to an ephemeral token."""

    token: IssuedToken | None = None


def authorize(
    route: Route,
    raw_path: str,
    headers: Mapping[str, str],
    require_key: str | None,
    tokens: TokenStore,
) -> Grant:
    """The grant for this request's credential; raises `Refused` (1007)."""
    if route.method == CONSTRAINED:
        name = find_token(raw_path, headers)
        if name is None:
            raise Refused(1007, API_KEY_INVALID, f"{CONSTRAINED} takes an ephemeral token")
        return Grant(tokens.check(name))
    presented = find_credential(raw_path, headers)
    if presented is not None and (is_token(presented) or tokens.knows(presented)):
        raise Refused(1007, API_KEY_INVALID, f"an ephemeral token needs {CONSTRAINED} (§1.1)")
    if not credential_accepted(require_key, presented):
        raise Refused(1007, API_KEY_INVALID, "missing or wrong key")
    return Grant()
