"""Record a PortAudio input device with a wall-clock stamp per block (run as a subprocess).

    python tests/audio/monitor_recorder.py OUT.npz [--device vspeaker_monitor] [--rate 24000]

Prints READY once the first block arrived, records until its stdin closes, then writes OUT.npz:
``samples`` (float32 mono), ``ends`` (sample index after each block) and ``times``
(time.monotonic() when that block's callback ran). Used by tests/audio/virtual.py and
benchmarks/bench_bargein.py; it needs the virtual-device environment (tests/audio/virtual.py).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np
import sounddevice as sd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--device", default="vspeaker_monitor")
    parser.add_argument("--rate", type=int, default=24000)
    parser.add_argument("--blocksize", type=int, default=120)
    args = parser.parse_args()
    blocks: list[np.ndarray] = []
    times: list[float] = []
    first = threading.Event()

    def callback(indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        times.append(time.monotonic())
        blocks.append(indata[:, 0].copy())
        first.set()

    with sd.InputStream(device=args.device, samplerate=args.rate, channels=1, dtype="float32",
                        blocksize=args.blocksize, latency="low", callback=callback):
        if not first.wait(5.0):
            sys.exit("no audio from " + args.device)
        print("READY", flush=True)
        sys.stdin.read()
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    ends = np.cumsum([len(b) for b in blocks])
    np.savez(args.out, samples=samples, ends=ends, times=np.array(times))


if __name__ == "__main__":
    main()
