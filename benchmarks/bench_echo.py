"""Echo handling for `talk --echo`: quality and CPU of off / gate / aec on simulated laptop echo.

Scenarios come from tests/audio/echo_sim.py (espeak reply at -20 dBFS, echo -10 dB plus an
equal-energy reverb tail, the user at -20 dBFS barging in 4.5 s in, -70 dBFS mic noise); the
echo delay is not in the timestamps unless the row says "known". Per mode and scenario: ERLE on
the echo-only stretch (first reply, and the same exchange again = warmed up), the user's level
change and corr² in double talk, the share of echo-only time Silero VAD calls speech, the share
of the user's double-talk speech it detects, and CPU (process time) per second of audio.
Prints a table and writes benchmarks/results/bench_echo.json.

    .venv/bin/python benchmarks/bench_echo.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.audio import echo_sim as es  # noqa: E402
from voicecli.audio.echo import make_canceller  # noqa: E402

MODES = ("off", "gate", "aec")
SCENARIOS: dict[str, tuple[es.Scenario, float]] = {  # name: (scenario, delay known from stamps)
    "40 ms": (es.Scenario(delay_ms=40), 0.0),
    "120 ms": (es.Scenario(delay_ms=120), 0.0),
    "250 ms": (es.Scenario(delay_ms=250), 0.0),
    "250 ms, 245 known": (es.Scenario(delay_ms=250), 245.0),
    "120 ms, RT60 400": (es.Scenario(delay_ms=120, rt60_ms=400), 0.0),
    "120 ms, user = echo level": (es.Scenario(delay_ms=120, near_dbfs=-26), 0.0),
    "120 ms, no reverb": (es.Scenario(delay_ms=120, rt60_ms=0), 0.0),
}
COLUMNS = [("erle_db", "ERLE", "{:6.1f}"), ("erle_warm_db", "warm", "{:6.1f}"),
           ("dt_near_gain_db", "DT dB", "{:6.1f}"), ("dt_corr2", "corr2", "{:6.2f}"),
           ("false_speech_share", "falseVAD", "{:8.0%}"),
           ("near_detected_share", "userVAD", "{:7.0%}"), ("cpu_ms_per_s", "CPU ms/s", "{:8.1f}")]


def one(mode: str, s: es.Scenario, known_ms: float) -> dict[str, Any]:
    """Run the exchange twice through a fresh canceller; score both halves, time the whole."""
    sig = es.signals(s)
    canceller = make_canceller(mode)
    start = time.process_time()
    y = es.run(canceller, es.twice(sig), known_ms=known_ms)
    cpu = time.process_time() - start
    row = es.measure(sig, s, y[: sig.mic.size])
    row["erle_warm_db"] = es.measure(sig, s, y[sig.mic.size :], vad=False)["erle_db"]
    row["cpu_ms_per_s"] = 1000 * cpu / (y.size / es.RATE)
    row["core_share"] = row["cpu_ms_per_s"] / 1000
    row["delay_estimate_ms"] = canceller.stats.delay_ms
    return row


def cpu_only(mode: str, seconds: float) -> float:
    """CPU ms per second of audio in steady state (the echo-only part, repeated)."""
    s = es.Scenario(delay_ms=120)
    sig = es.signals(s)
    reps = max(1, round(seconds * es.RATE / sig.mic.size))
    long = es.Signals(*(np.tile(a, reps) for a in (sig.far, sig.echo, sig.near, sig.mic)))
    canceller = make_canceller(mode)
    start = time.process_time()
    es.run(canceller, long)
    return 1000 * (time.process_time() - start) / (long.mic.size / es.RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the three plain delays")
    args = parser.parse_args()
    names = list(SCENARIOS)[:3] if args.quick else list(SCENARIOS)
    rows = []
    print(f"{'scenario':27} {'mode':5}" + "".join(f" {h:>{len(f.format(0))}}"
                                                  for _, h, f in COLUMNS))
    for name in names:
        for mode in MODES:
            row = {"scenario": name, "mode": mode, **one(mode, *SCENARIOS[name])}
            rows.append(row)
            print(f"{name:27} {mode:5}" + "".join(" " + f.format(row[k]) for k, _, f in COLUMNS))
    steady = {mode: cpu_only(mode, 60.0) for mode in MODES}
    print("steady-state CPU, ms per s of audio (share of one core): "
          + ", ".join(f"{m} {v:.1f} ({v / 10:.1f}%)" for m, v in steady.items()))
    out = ROOT / "benchmarks" / "results" / "bench_echo.json"
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
            "erle_note": "output floored at 1 LSB RMS, so a fully gated stretch reads ~63 dB",
            "warm_note": "erle_warm_db: the same exchange again through the same canceller"}
    out.write_text(json.dumps({"meta": meta, "rows": rows, "steady_cpu_ms_per_s": steady},
                              indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
