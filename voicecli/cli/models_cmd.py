"""`voicecli models`: the Live models voicecli knows, and what each accepts (§7.1).

The table is plain aligned text (it reads the same in a terminal, a pipe or a file); `--json`
gives every field of the capability table, one model per line.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from voicecli.protocol.models import DEFAULT_MODEL, KNOWN_MODELS, ModelInfo

NO = "-"
COLUMNS = ("model", "status", "replies", "thinking", "affective", "proactive", "async fn",
           "sched", "search", "code", "translate", "language", "backends")


def models(
    json_out: Annotated[bool, typer.Option("--json", help="NDJSON, one model per line.")] = False,
) -> None:
    """List the known Live models and what each takes (any other id is accepted with --model,
    unchecked)."""
    if json_out:
        for info in KNOWN_MODELS.values():
            print(json.dumps({**_jsonable(asdict(info)), "default": info.id == DEFAULT_MODEL}))
        return
    print(render_table([capability_row(info) for info in KNOWN_MODELS.values()]))
    print("* default model. v1alpha: needs the v1alpha API on Gemini (chosen by itself unless "
          "--api-version says otherwise).\nasync fn: NON_BLOCKING function calls. Any other "
          "model id is accepted with --model and sent unchecked.")


def capability_row(info: ModelInfo) -> dict[str, str]:
    """One table row: short cells saying what the model takes."""
    mark = "*" if info.id == DEFAULT_MODEL else " "
    return {
        "model": f"{mark} {info.id}",
        "status": info.status,
        "replies": "/".join(info.response_modalities),
        "thinking": _thinking(info),
        "affective": _needs(info.affective_dialog, info.affective_needs_v1alpha),
        "proactive": "always" if info.proactive_audio == "always" else _needs(
            info.proactive_audio == "optional", info.proactive_needs_v1alpha),
        "async fn": _async_functions(info),
        "sched": _yes(info.scheduling),
        "search": _yes(info.google_search),
        "code": _yes(info.code_execution),
        "translate": _yes(info.translation),
        "language": _language(info),
        "backends": ",".join(info.backends),
    }


def render_table(rows: list[dict[str, str]]) -> str:
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    header = "  ".join(c.upper().ljust(widths[c]) for c in COLUMNS).rstrip()
    lines = ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip() for r in rows]
    return "\n".join([header, *lines])


def _yes(flag: bool) -> str:
    return "yes" if flag else NO


def _needs(supported: bool, v1alpha: bool) -> str:
    return (("v1alpha" if v1alpha else "yes") if supported else NO)


def _thinking(info: ModelInfo) -> str:
    if info.thinking == "budget":
        ceiling = f" ≤{info.thinking_budget_max}" if info.thinking_budget_max else ""
        return f"budget{ceiling}"
    if info.thinking == "level":
        levels = [level.lower() for level in info.thinking_levels]
        return f"level {levels[0]}–{levels[-1]}" if levels else "level"
    return NO


def _async_functions(info: ModelInfo) -> str:
    if not info.tools or not info.non_blocking_functions:
        return NO
    if not info.blocking_functions:
        return "only"
    return "default" if info.default_function_behavior == "NON_BLOCKING" else "yes"


def _language(info: ModelInfo) -> str:
    if info.language_code:
        return "languageCode"
    return "transcription" if info.transcription_hints else NO


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset, tuple, list)):
        return sorted(_jsonable(v) for v in value) if isinstance(value, (set, frozenset)) else [
            _jsonable(v) for v in value
        ]
    return value
