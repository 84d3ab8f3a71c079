"""`voicecli token create`: mint an ephemeral token (library: voicecli.client.auth_tokens).

The token alone goes to stdout, so `--token "$(voicecli token create)"` works; `--json` prints
the token resource instead. This is the one place a token is ever printed.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer

from voicecli.cli.options import CONNECTION, SETTINGS, SYSTEM, VOICE, pick, with_settings
from voicecli.client.auth_tokens import MAX_AHEAD_S, TokenRequest, mint_token
from voicecli.client.endpoints import gemini_model_name
from voicecli.client.setup import SetupOptions, build_setup
from voicecli.errors import UsageError
from voicecli.settings import Settings

token_app = typer.Typer(
    help="Ephemeral tokens: let a client connect without holding your API key.",
    no_args_is_help=True,
)
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def parse_duration(text: str, flag: str) -> float:
    """`30m`, `1h`, `90s`, `1h30m` or plain seconds; more than 0, less than 20 h (§1.5)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise UsageError(f"{flag}: not a duration: {text!r} (e.g. 30m, 1h, 90s)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 0 < total < MAX_AHEAD_S:
        raise UsageError(f"{flag} must be more than 0 and less than 20 hours, not {text!r}")
    return total


@token_app.command("create")
@with_settings(*pick(CONNECTION, "model"), *SYSTEM, *VOICE,
               *pick(CONNECTION, "backend", "api_key", "base_url", "api_version", "config"),
               own={"response": "response"})
def create(
    uses: Annotated[
        int, typer.Option("--uses", help="Sessions the token may start (0 = unlimited; resuming "
                          "a session is not a new one).")
    ] = 1,
    expire: Annotated[
        str, typer.Option("--expire", help="Its sessions end this long from now (e.g. 30m, 2h).")
    ] = "30m",
    new_session_expire: Annotated[
        str, typer.Option("--new-session-expire", help="No new session starts after this long "
                          "(e.g. 1m).")
    ] = "1m",
    lock_config: Annotated[
        bool, typer.Option("--lock-config", help="Lock the session setup (model, reply modality, "
                           "voice, language, system instruction) to these settings.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the token resource as JSON.")
    ] = False,
    response: Annotated[
        str | None, typer.Option("--response", help="auto | audio | text (with --lock-config).")
    ] = None,
    settings: Settings = SETTINGS,
) -> None:
    """Create an ephemeral token (auth_tokens/…) and print it."""
    if uses < 0:
        raise UsageError(f"--uses must be 0 (unlimited) or more, not {uses}")
    request = TokenRequest(
        uses=uses,
        expire_s=parse_duration(expire, "--expire"),
        new_session_expire_s=parse_duration(new_session_expire, "--new-session-expire"),
    )
    if lock_config:
        setup = build_setup(settings, gemini_model_name(settings.model), SetupOptions())
        request = TokenRequest(request.uses, request.expire_s, request.new_session_expire_s, setup)
    resource = mint_token(settings, request)
    print(json.dumps(resource, indent=2) if json_out else resource["name"], flush=True)
