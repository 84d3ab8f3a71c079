"""`voicecli models`: the Live models voicecli knows, and what each accepts."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from voicecli.protocol.models import DEFAULT_MODEL, KNOWN_MODELS


def models(
    json_out: Annotated[bool, typer.Option("--json", help="NDJSON, one model per line.")] = False,
) -> None:
    """List the known Live models (any other id is accepted with --model, unchecked)."""
    for info in KNOWN_MODELS.values():
        if json_out:
            print(json.dumps(_jsonable(asdict(info))))
        else:
            mark = "*" if info.id == DEFAULT_MODEL else " "
            print(f"{mark} {info.id:48} {info.summary}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset, tuple, list)):
        return sorted(_jsonable(v) for v in value) if isinstance(value, (set, frozenset)) else [
            _jsonable(v) for v in value
        ]
    return value
