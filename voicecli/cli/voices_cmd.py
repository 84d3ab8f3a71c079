"""`voicecli voices`: the 30 prebuilt Live voices and their styles (live-protocol.md §7.2)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from voicecli.protocol.voices import PREBUILT_VOICES


def voices(
    json_out: Annotated[bool, typer.Option("--json", help="NDJSON, one voice per line.")] = False,
) -> None:
    """List the prebuilt voices for --voice (any letter case), with the style of each."""
    if json_out:
        for name, style in PREBUILT_VOICES.items():
            print(json.dumps({"name": name, "style": style}))
        return
    width = max(len(name) for name in PREBUILT_VOICES)
    print(f"{'VOICE'.ljust(width)}  STYLE")
    for name, style in sorted(PREBUILT_VOICES.items()):
        print(f"{name.ljust(width)}  {style}")
    print("gemini-3.8-live also takes catalog voice ids such as en-us-tavi.")
