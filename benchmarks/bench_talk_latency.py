"""`voicecli talk` audio latency on the virtual devices: mic → wire and wire → speaker.

One process, three parts:
  * the talk under test: ``run_talk`` with the devices it creates itself (Microphone and Speaker
    with talk's own latency/block settings), connected to
  * a measuring Live peer (ServerSession + websockets on loopback, in its own thread and event
    loop) that timestamps every ``realtimeInput.audio`` frame as it arrives and sends reply
    audio at known times, and
  * the harness streams: an OutputStream on ``vmic_feed`` that plays tone bursts into the virtual
    mic, noting when each is heard (PortAudio's outputBufferDacTime), and an InputStream on
    ``vspeaker_monitor`` that records the virtual speaker with inputBufferAdcTime per block.

PortAudio's stream clock is converted to time.monotonic() by sampling ``stream.time`` (on this
Linux/ALSA build it is CLOCK_REALTIME, not monotonic; the offset is measured, not assumed).

capture → wire: burst onset heard by the mic → the frame carrying it arrives at the peer (the
onset is found inside the frame to the sample; the path is bit-exact at 16 kHz). Also shown
minus the chunk-fill wait (the rest of the chunk after the onset still has to be recorded).
wire → speaker: the peer sends a frame whose audio starts with a burst → its onset at the
speaker monitor. Cases: the first audio of a turn as one 200 ms chunk (then generationComplete +
turnComplete, like the service), the first audio of a turn as 20 ms chunks paced at 1x (the
Speaker's prebuffer shows), and steady state inside a long turn streamed at 1x in 40 ms chunks.

    .venv/bin/python benchmarks/bench_talk_latency.py [--bursts 30] [--chunk-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _talkbench import meta, summary, va_environment, write_result  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from voicecli.protocol.messages import RealtimeInput, Setup  # noqa: E402
from voicecli.protocol.session import ServerSession  # noqa: E402

MIC_RATE, SPK_RATE = 16000, 24000
THRESHOLD = 0.05  # |x| above this (-26 dBFS) is a burst; the bursts start at 0.3 (cosine)
QUIET_S = 0.1  # an onset needs this much quiet before it


def burst(rate: int, ms: float = 15.0, hz: float = 1000.0, amp: float = 0.3) -> np.ndarray:
    """A cosine burst: its very first sample is loud, so the onset is exact to the sample."""
    n = round(rate * ms / 1000)
    return (amp * np.cos(2 * np.pi * hz * np.arange(n) / rate)).astype(np.float32)


def pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.rint(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


# ---- the measuring Live peer ------------------------------------------------------------------

class MeasuringServer:
    """A minimal Live server in its own thread: answers setup, timestamps incoming audio
    frames, sends reply audio on request. One connection at a time."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.arrivals: list[tuple[float, bytes]] = []  # (time.monotonic() at arrival, PCM16)
        self.connected = threading.Event()
        self.url = ""
        self._ws: ServerConnection | None = None
        self._proto: ServerSession | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="measuring-server")

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = self.loop.create_future()
        async with serve(self._handler, "127.0.0.1", 0, max_size=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}"
            self._ready.set()
            await self._stop

    async def _handler(self, ws: ServerConnection) -> None:
        proto = ServerSession()
        self._ws, self._proto = ws, proto
        try:
            async for frame in ws:
                arrived = time.monotonic()
                proto.receive_data(frame)
                for msg in proto.events_received():
                    if isinstance(msg, Setup):
                        proto.send_setup_complete("bench")
                        await self._flush()
                        self.connected.set()
                    elif isinstance(msg, RealtimeInput) and msg.audio and msg.audio.data:
                        self.arrivals.append((arrived, msg.audio.data))
        except ConnectionClosed:
            pass

    async def _flush(self) -> None:
        assert self._ws is not None and self._proto is not None
        for data in self._proto.data_to_send():
            await self._ws.send(data)

    async def _reply(self, chunks: list[bytes], interval_s: float) -> list[float]:
        """Send ``chunks`` as model audio (every ``interval_s`` from the first, or back to back),
        then generationComplete and turnComplete. Returns when each audio frame was sent."""
        assert self._proto is not None and self._ws is not None
        sent: list[float] = []
        t0 = time.monotonic()
        for k, chunk in enumerate(chunks):
            if interval_s:
                await asyncio.sleep(max(0.0, t0 + k * interval_s - time.monotonic()))
            self._proto.send_model_audio(chunk)
            frames = self._proto.data_to_send()
            sent.append(time.monotonic())
            for data in frames:
                await self._ws.send(data)
        self._proto.send_generation_complete()
        self._proto.send_turn_complete()
        await self._flush()
        return sent

    async def reply(self, chunks: list[bytes], interval_s: float = 0.0) -> list[float]:
        """From another event loop: run _reply on the server's loop."""
        future = asyncio.run_coroutine_threadsafe(self._reply(chunks, interval_s), self.loop)
        return await asyncio.wrap_future(future)


# ---- harness streams (the benchmark's side of the virtual devices) ---------------------------

class Feeder:
    """Plays ``signal`` into the virtual mic once armed; notes each block's DAC time (only to
    compare PortAudio's estimate with the measured arrival at the mic)."""

    def __init__(self, sd: Any, signal: np.ndarray, latency: float) -> None:
        self.signal = signal
        self.pos = 0
        self.armed = False
        self.underflows = 0
        self.finished = threading.Event()
        self.blocks: list[tuple[int, float]] = []  # (signal index, DAC time)
        self.stream = sd.OutputStream(device="vmic_feed", samplerate=MIC_RATE, channels=1,
                                      dtype="float32", blocksize=160, latency=latency,
                                      callback=self._callback)

    def _callback(self, out: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self.underflows += 1
        if not self.armed or self.pos >= len(self.signal):
            out.fill(0.0)
            if self.armed:
                self.finished.set()
            return
        n = min(frames, len(self.signal) - self.pos)
        out[:n, 0] = self.signal[self.pos:self.pos + n]
        out[n:] = 0.0
        self.blocks.append((self.pos, time_info.outputBufferDacTime))
        self.pos += n

    def dac_time(self, index: int, pa_offset: float) -> float:
        """PortAudio's idea of when signal sample ``index`` is played, as time.monotonic()."""
        starts = [b[0] for b in self.blocks]
        k = int(np.searchsorted(starts, index, side="right")) - 1
        start, dac = self.blocks[k]
        return dac - pa_offset + (index - start) / MIC_RATE


class Recorder:
    """Records an input device into a preallocated array with, per block, PortAudio's ADC time
    and time.monotonic() when the callback ran.

    ``time_of(i)``: when sample i reached the device, as the least-delayed callback nearby
    bounds it (a block is delivered after its last sample arrived, never before; the minimum of
    (callback time - block end) over ~1 s is the tightest bound). PortAudio's ADC/DAC times via
    the ALSA pulse plugin came out ~10 ms *later* than that bound, which is impossible, so they
    are only reported, not used."""

    def __init__(self, sd: Any, device: str, rate: int, seconds: float, latency: float,
                 blocksize: int) -> None:
        self.rate = rate
        self.samples = np.zeros(int(seconds * rate), dtype=np.float32)
        self.n = 0
        self.overflows = 0
        self.blocks: list[tuple[int, float, float]] = []  # (index, ADC time, callback time)
        self.stream = sd.InputStream(device=device, samplerate=rate, channels=1, dtype="float32",
                                     blocksize=blocksize, latency=latency,
                                     callback=self._callback)

    def _callback(self, data: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        n = min(frames, len(self.samples) - self.n)
        self.samples[self.n:self.n + n] = data[:n, 0]
        self.blocks.append((self.n, time_info.inputBufferAdcTime, time.monotonic()))
        self.n += n

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        blocks, total = list(self.blocks), self.n  # the callback keeps appending
        idx = np.array([b[0] for b in blocks])
        return idx, np.append(idx[1:], total), np.array([b[1] for b in blocks]), \
            np.array([b[2] for b in blocks])

    def time_of(self, i: int, snap: tuple[np.ndarray, ...] | None = None) -> float:
        idx, ends, _, cb = snap or self.snapshot()
        near = np.abs(ends - i) <= self.rate
        return i / self.rate + float((cb[near] - ends[near] / self.rate).min())

    def adc_time_of(self, i: int, pa_offset: float, snap: tuple[np.ndarray, ...] | None = None,
                    ) -> float:
        idx, _, adc, _ = snap or self.snapshot()
        b = int(np.searchsorted(idx, i, side="right")) - 1
        return adc[b] - pa_offset + (i - idx[b]) / self.rate

    def index_at(self, t: float, snap: tuple[np.ndarray, ...] | None = None) -> int:
        idx, ends, _, cb = snap or self.snapshot()
        k = min(len(ends) - 1, int(np.searchsorted(cb, t)))
        guess = int(ends[k])
        return max(0, guess - round((self.time_of(guess, snap) - t) * self.rate))

    def onset_after(self, t: float, pa_offset: float, within_s: float = 0.6,
                    ) -> tuple[float, float] | None:
        """The first burst onset after monotonic time ``t``: (time, PortAudio ADC time)."""
        snap = self.snapshot()
        start = self.index_at(t, snap)
        stop = min(int(snap[1][-1]), start + int(within_s * self.rate))
        loud = np.flatnonzero(np.abs(self.samples[start:stop]) > THRESHOLD)
        if not loud.size:
            return None
        i = start + int(loud[0])
        return self.time_of(i, snap), self.adc_time_of(i, pa_offset, snap)


def pa_clock_offset(stream: Any) -> tuple[float, float]:
    """PortAudio stream time minus time.monotonic() (best of 50 bracketed reads), and how far
    that is from time.time() - time.monotonic() (0 = PortAudio uses CLOCK_REALTIME)."""
    best = (float("inf"), 0.0)
    for _ in range(50):
        a = time.monotonic()
        t = stream.time
        b = time.monotonic()
        best = min(best, (b - a, t - (a + b) / 2))
    offset = best[1]
    return offset, offset - (time.time() - time.monotonic())


# ---- the measurement --------------------------------------------------------------------------

def mic_signal(bursts: int, rng: random.Random) -> tuple[np.ndarray, list[int]]:
    """0.3 s silence, then ``bursts`` bursts 0.35–0.55 s apart (random phase to the chunks)."""
    b = burst(MIC_RATE)
    starts, pos = [], int(0.3 * MIC_RATE)
    for _ in range(bursts):
        starts.append(pos)
        pos += int(rng.uniform(0.35, 0.55) * MIC_RATE)
    signal = np.zeros(pos + MIC_RATE // 2, dtype=np.float32)
    for s in starts:
        signal[s:s + len(b)] = b
    return signal, starts


def find_onsets(samples: np.ndarray, rate: int) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > THRESHOLD)
    if not loud.size:
        return loud
    gaps = np.diff(np.concatenate(([-10 * rate], loud)))
    return loud[gaps > QUIET_S * rate]


def capture_to_wire(server: MeasuringServer, feeder: Feeder, reference: Recorder,
                    starts: list[int], pa_offset: float, armed_after: int) -> dict[str, Any]:
    """Pair the k-th burst heard at the mic (reference recorder) with the k-th burst onset on
    the wire; both paths are bit-exact, so the spacing of the onsets must match the signal's."""
    arrivals = server.arrivals[armed_after:]
    times = np.array([t for t, _ in arrivals])
    chunks = [np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0 for _, pcm in arrivals]
    lengths = np.array([len(c) for c in chunks])
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    wire = find_onsets(np.concatenate(chunks), MIC_RATE)
    snap = reference.snapshot()
    at_mic = find_onsets(reference.samples[:int(snap[1][-1])], MIC_RATE)
    total, after_fill, dac_err = [], [], []
    n = min(len(wire), len(at_mic), len(starts))
    spacing_errors = 0
    for k in range(n):
        g = int(wire[k])
        c = int(np.searchsorted(offsets, g, side="right")) - 1
        i = g - int(offsets[c])
        heard = reference.time_of(int(at_mic[k]), snap)
        total.append((times[c] - heard) * 1000)
        after_fill.append((times[c] - heard - (lengths[c] - i) / MIC_RATE) * 1000)
        dac_err.append((feeder.dac_time(starts[k], pa_offset) - heard) * 1000)
        if k and not (g - int(wire[k - 1]) == int(at_mic[k] - at_mic[k - 1])
                      == starts[k] - starts[k - 1]):
            spacing_errors += 1
    return {"total": total, "after_fill": after_fill, "bursts_sent": len(starts),
            "onsets_on_wire": int(len(wire)), "onsets_at_mic": int(len(at_mic)),
            "spacing_errors": spacing_errors,
            "portaudio_dac_minus_measured_ms": summary(dac_err),
            "chunk_samples": int(np.median(lengths)) if len(lengths) else 0}


async def wire_to_speaker(server: MeasuringServer, monitor: Recorder, pa_offset: float,
                          trials: int, rng: random.Random) -> dict[str, dict[str, list[float]]]:
    b24 = burst(SPK_RATE)
    out: dict[str, dict[str, list[float]]] = {}

    def chunk(ms: float, with_burst: bool) -> bytes:
        audio = np.zeros(round(SPK_RATE * ms / 1000), dtype=np.float32)
        if with_burst:
            audio[:len(b24)] = b24
        return pcm16(audio)

    async def measure(name: str, sent: float, lat: list[float], adc: list[float]) -> None:
        found = monitor.onset_after(sent, pa_offset)
        if found is None:
            out[name].setdefault("missed", []).append(sent)
            return
        lat.append((found[0] - sent) * 1000)
        adc.append((found[1] - sent) * 1000)

    # first audio of a turn: one 200 ms chunk, then generationComplete + turnComplete
    name = "turn start, one 200 ms chunk"
    out[name] = {"ms": [], "portaudio_adc_ms": []}
    for _ in range(trials):
        sent = await server.reply([chunk(200, True)])
        await asyncio.sleep(0.45 + rng.uniform(0, 0.1))
        await measure(name, sent[0], out[name]["ms"], out[name]["portaudio_adc_ms"])
    # first audio of a turn: 20 ms chunks paced at 1x (the Speaker waits for its prebuffer)
    name = "turn start, 20 ms chunks at 1x"
    out[name] = {"ms": [], "portaudio_adc_ms": []}
    for _ in range(trials):
        chunks = [chunk(20, k == 0) for k in range(15)]
        sent = await server.reply(chunks, interval_s=0.02)
        await asyncio.sleep(0.25 + rng.uniform(0, 0.1))
        await measure(name, sent[0], out[name]["ms"], out[name]["portaudio_adc_ms"])
    # steady state: one long turn, 40 ms chunks at 1x, a burst every 10-14 chunks
    name = "steady state, 40 ms chunks at 1x"
    out[name] = {"ms": [], "portaudio_adc_ms": []}
    marked, k = [], 12
    while len(marked) < trials:
        marked.append(k)
        k += rng.randint(10, 14)
    chunks = [chunk(40, j in set(marked)) for j in range(k + 12)]
    sent = await server.reply(chunks, interval_s=0.04)
    await asyncio.sleep(0.5)
    for j in marked:
        await measure(name, sent[j], out[name]["ms"], out[name]["portaudio_adc_ms"])
    return out


async def run(args: argparse.Namespace, sd: Any) -> dict[str, Any]:
    import voicecli.talk.run as talk_run
    from voicecli.settings import Settings
    from voicecli.talk.options import TalkOptions

    rng = random.Random(args.seed)
    devices: dict[str, Any] = {}
    make_mic, make_speaker = talk_run._microphone, talk_run._speaker

    def mic_factory(options: TalkOptions) -> Any:  # talk's own constructor; we keep a handle
        devices["mic"] = make_mic(options)
        return devices["mic"]

    def speaker_factory(options: TalkOptions) -> Any:
        devices["speaker"] = make_speaker(options)
        return devices["speaker"]

    talk_run._microphone, talk_run._speaker = mic_factory, speaker_factory
    server = MeasuringServer()
    server.start()
    signal, starts = mic_signal(args.bursts, rng)
    trials = args.bursts
    seconds = 20 + len(signal) / MIC_RATE + trials * (0.6 + 0.6 + 0.5) + 5
    feeder = Feeder(sd, signal, args.harness_latency)
    reference = Recorder(sd, "pulse", MIC_RATE, seconds, args.harness_latency, 160)
    monitor = Recorder(sd, "vspeaker_monitor", SPK_RATE, seconds, args.harness_latency, 240)
    for stream in (reference.stream, monitor.stream, feeder.stream):
        stream.start()
    await asyncio.sleep(0.3)
    pa_offset, vs_realtime = pa_clock_offset(feeder.stream)
    settings = Settings.of(backend="gemini", base_url=server.url)
    stop = asyncio.Event()
    options = TalkOptions(chunk_ms=args.chunk_ms)
    talk = asyncio.create_task(talk_run.run_talk(settings, options, read_keys=False, stop=stop))
    try:
        while not server.connected.is_set():
            if talk.done():
                talk.result()
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # devices settled
        reported = {"mic_portaudio_input_latency_ms": devices["mic"]._stream.latency * 1000,
                    "speaker_portaudio_output_latency_ms":
                        devices["speaker"]._stream.latency * 1000}
        armed_after = len(server.arrivals)
        feeder.armed = True
        await asyncio.to_thread(feeder.finished.wait, 10 + len(signal) / MIC_RATE)
        await asyncio.sleep(0.5)
        c2w = capture_to_wire(server, feeder, reference, starts, pa_offset, armed_after)
        w2s = await wire_to_speaker(server, monitor, pa_offset, trials, rng)
    finally:
        stop.set()
        result = await talk
        pa_offset_end, _ = pa_clock_offset(monitor.stream)
        for stream in (feeder.stream, reference.stream, monitor.stream):
            stream.close()
        server.stop()
    mic, speaker = devices["mic"], devices["speaker"]
    return {"c2w": c2w, "w2s": w2s, "talk_result": vars(result),
            "clock": {"portaudio_minus_monotonic_s": pa_offset,
                      "drift_over_run_ms": round((pa_offset_end - pa_offset) * 1000, 3),
                      "portaudio_minus_realtime_ms": round(vs_realtime * 1000, 3),
                      "note": "PortAudio stream time is CLOCK_REALTIME here"
                      if abs(vs_realtime) < 0.001 else "PortAudio stream time is not "
                      "CLOCK_REALTIME; converted with the measured offset"},
            "parts": {"chunk_ms": args.chunk_ms, "mic_block_ms": mic.block_ms,
                      "mic_latency_setting": mic.latency,
                      **{k: round(v, 1) for k, v in reported.items()},
                      "mic_poll_ms": args.chunk_ms / 4, "mic_overflows": mic.stats.overflows,
                      "mic_dropped_frames": mic.stats.dropped_frames,
                      "speaker_latency_setting": speaker.latency,
                      "speaker_block_ms": speaker.block_ms,
                      "speaker_prebuffer_ms_at_end": speaker.prebuffer_ms,
                      "speaker_underruns": speaker.stats.underruns,
                      "speaker_device_underflows": speaker.stats.device_underflows,
                      "harness_feed_underflows": feeder.underflows,
                      "harness_monitor_overflows": monitor.overflows,
                      "harness_reference_overflows": reference.overflows,
                      "harness_latency_s": args.harness_latency}}


def print_table(data: dict[str, Any]) -> list[dict[str, Any]]:
    c2w = data["c2w"]
    rows = [{"measurement": "capture -> wire (mic onset -> frame at peer)",
             **summary(c2w["total"])},
            {"measurement": "capture -> wire, minus chunk-fill wait", **summary(c2w["after_fill"])}]
    for name, values in data["w2s"].items():
        rows.append({"measurement": f"wire -> speaker: {name}", **summary(values["ms"]),
                     "portaudio_adc_p50": summary(values["portaudio_adc_ms"])["p50"],
                     "missed": len(values.get("missed", []))})
    print(f"{'measurement':52} {'n':>3} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'min ms':>7}")
    for r in rows:
        print(f"{r['measurement']:52} {r['n']:>3} {r['p50']:>7.1f} {r['p95']:>7.1f}"
              f" {r['max']:>7.1f} {r['min']:>7.1f}")
    p = data["parts"]
    print(f"parts: chunk {p['chunk_ms']} ms, mic block {p['mic_block_ms']} ms, mic poll"
          f" {p['mic_poll_ms']} ms, PortAudio input latency {p['mic_portaudio_input_latency_ms']}"
          f" ms (setting {p['mic_latency_setting']});")
    print(f"       speaker PortAudio output latency {p['speaker_portaudio_output_latency_ms']} ms"
          f" (setting {p['speaker_latency_setting']}), block {p['speaker_block_ms']} ms,"
          f" prebuffer {p['speaker_prebuffer_ms_at_end']} ms at the end;"
          f" underruns {p['speaker_underruns']}, device underflows"
          f" {p['speaker_device_underflows']}, mic overflows {p['mic_overflows']}")
    print(f"checks: {c2w['onsets_at_mic']}/{c2w['onsets_on_wire']}/{c2w['bursts_sent']} bursts at"
          f" the mic/on the wire/sent, spacing errors"
          f" {c2w['spacing_errors']}; harness feed underflows {p['harness_feed_underflows']},"
          f" monitor overflows {p['harness_monitor_overflows']}; clock:"
          f" {data['clock']['note']} (drift {data['clock']['drift_over_run_ms']} ms)")
    dac = c2w["portaudio_dac_minus_measured_ms"]
    adc = [r["portaudio_adc_p50"] - r["p50"] for r in rows if "portaudio_adc_p50" in r]
    print(f"PortAudio timestamps vs measured (not used): DAC time of the mic feed is"
          f" {dac['p50']:+.1f} ms (p50) off; monitor ADC time {np.median(adc):+.1f} ms off")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=30, help="bursts / trials per measurement")
    parser.add_argument("--chunk-ms", type=int, default=20, help="talk's --chunk-ms")
    parser.add_argument("--harness-latency", type=float, default=0.1,
                        help="latency of the benchmark's own feed/monitor streams (s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    va_environment()  # before sounddevice is imported
    import sounddevice as sd

    data = asyncio.run(run(args, sd))
    rows = print_table(data)
    write_result("bench_talk_latency", {"meta": meta(bursts=args.bursts, chunk_ms=args.chunk_ms),
                                        "rows": rows, **data}, args.out)


if __name__ == "__main__":
    main()
