"""`voicecli talk` exactly as the CLI runs it, plus its Speaker's counters at exit.

bench_bargein_soak.py runs this instead of the `voicecli` script so that the speaker's own
counters (ring underruns mid-turn, PortAudio output-underflow flags, flushes, restarts) can be
read after a long run: they are written as JSON to ``$VOICECLI_SOAK_STATS`` when talk exits.
Nothing else changes (same argv, same defaults, same devices).

    python benchmarks/_soak_talk.py talk --json --echo off --base-url URL
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import voicecli.talk.run as talk_run  # noqa: E402

speakers: list[Any] = []
_open_speaker = talk_run._speaker


def _keep(options: Any) -> Any:
    speaker = _open_speaker(options)
    speakers.append(speaker)
    return speaker


def _write_stats() -> None:
    path = os.environ.get("VOICECLI_SOAK_STATS")
    if path and speakers:
        s = speakers[-1]
        Path(path).write_text(json.dumps({**dataclasses.asdict(s.stats),
                                          "prebuffer_ms": s.prebuffer_ms}))


talk_run._speaker = _keep  # type: ignore[assignment]
atexit.register(_write_stats)

if __name__ == "__main__":
    from voicecli.cli import main

    main(sys.argv[1:])
