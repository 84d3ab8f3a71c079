"""Turn latency against the local server over real loopback WebSockets.

For text turns and spoken turns (espeak-ng speech streamed at real time with manual activity),
measures the time from the end of the question (for speech: activityEnd) to the first reply
content and to turnComplete, in TEXT and AUDIO sessions.

``--talk N`` (default 12; 0 skips it) then measures a spoken turn as a user meets it: `voicecli
talk --json` on the virtual devices (scripts/va-up.sh) against a `voicecli serve` subprocess,
server VAD at its default (silence 800 ms), the echo brain. Corpus sentences are played into the
virtual mic one at a time (the next once talk is listening again); the mic and the speaker
monitor are recorded with parec. Per turn: the end of the utterance in the mic recording → the
first reply sound in the speaker recording (both -45 dBFS regions, clocks aligned by the
recorders' start times). The old engine (pocketsphinx + espeak) and the new (Whisper tiny.en +
Piper) are measured in the same run, interleaved per turn is not possible (one server each), so
they run one after the other. Target (issue 15): p95 ≤ silence window + 450 ms.

Prints p50/p95 and writes benchmarks/results/local_turn.json.

    .venv/bin/python benchmarks/bench_local_turn.py [--turns 20] [--talk 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.speechgen import speech_pcm16  # noqa: E402
from voicecli.client.endpoints import build_endpoint  # noqa: E402
from voicecli.client.live import LiveSession  # noqa: E402
from voicecli.client.setup import SetupOptions, build_setup  # noqa: E402
from voicecli.protocol import events as ev  # noqa: E402
from voicecli.server import ServerConfig, start_server  # noqa: E402
from voicecli.settings import Settings  # noqa: E402

MODELS = {"TEXT": "gemini-live-2.5-flash-preview", "AUDIO": "gemini-3.8-live"}
QUESTION = "what is the weather like in london today"


async def one_turn(live: LiveSession, pcm: bytes | None) -> tuple[float, float]:
    if pcm is None:
        await live.send_text(QUESTION)
    else:
        await live.send_activity_start()
        for i in range(0, len(pcm), 3200):  # 100 ms chunks at real time, as a microphone would
            await live.send_audio(pcm[i : i + 3200])
            await asyncio.sleep(0.1)
        await live.send_activity_end()
    asked = time.perf_counter()
    first = None
    async for event in live.events():
        if first is None and isinstance(event, ev.ModelAudio | ev.ModelText):
            first = time.perf_counter()
        if isinstance(event, ev.TurnComplete):
            done = time.perf_counter()
            return ((first or done) - asked) * 1000, (done - asked) * 1000
    raise RuntimeError("no turnComplete")


async def run_case(url: str, modality: str, spoken: bool, turns: int) -> dict[str, object]:
    settings = Settings.of(backend="gemini", base_url=url, model=MODELS[modality],
                           response=modality.lower())
    endpoint = build_endpoint(settings)
    setup = build_setup(settings, endpoint.model,
                        SetupOptions(manual_activity=spoken, input_transcription=spoken))
    pcm = speech_pcm16(QUESTION) if spoken else None
    firsts, totals = [], []
    async with LiveSession(endpoint, setup) as live:
        for _ in range(turns):
            first, total = await one_turn(live, pcm)
            firsts.append(first)
            totals.append(total)
    return {"case": f"{'spoken' if spoken else 'text'} question, {modality} reply",
            "first_content_ms": summary(firsts), "turn_complete_ms": summary(totals)}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    if not ordered:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan"), "n": 0}
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1),
            "max": round(ordered[-1], 1), "n": len(values)}


async def main(turns: int) -> list[dict[str, object]]:
    async with await start_server(ServerConfig(host="127.0.0.1", port=0, pace=0)) as server:
        return [await run_case(server.url, m, spoken, turns)
                for spoken in (False, True) for m in ("TEXT", "AUDIO")]


TALK_ENGINES = {"old": ["--asr", "pocketsphinx", "--tts", "espeak"],
                "new": ["--asr", "whisper", "--tts", "piper"]}
DEFAULT_SILENCE_MS = 800  # the server VAD's silenceDurationMs when the setup names none
TALK_TARGET_MS = DEFAULT_SILENCE_MS + 450


def talk_on_devices(turns: int, engine: str, env: dict[str, str]) -> dict[str, object]:
    """End of speech → first reply sound at the speaker, `voicecli talk` on the virtual
    devices against `voicecli serve` (see the module docstring)."""
    import signal
    import subprocess
    import tempfile

    from tests.e2e.harness import (
        MicRecorder,
        SpeakerRecorder,
        client_env,
        default_sigint,
        local_server_process,
        speak,
    )
    from tests.wer import load_corpus

    work = Path(tempfile.mkdtemp(prefix=f"voicecli-bench-talk-{engine}-"))
    base = client_env(work, env)
    sentences = load_corpus()[:turns] if turns <= 30 else load_corpus()
    pcms = [speech_pcm16(s) for s in sentences]
    with local_server_process(base, work / "server.log", extra_args=TALK_ENGINES[engine]) as srv:
        talk_env = {**base, **srv.env()}
        with MicRecorder(work / "mic.wav", talk_env) as mic, \
                SpeakerRecorder(work / "speaker.wav", talk_env) as speaker:
            talk = subprocess.Popen([sys.executable, "-m", "voicecli", "talk", "--json"],
                                    env=talk_env, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                    text=True, preexec_fn=default_sigint)
            events = _Events(talk)
            try:
                events.until(lambda e: e["type"] == "setup_complete", 60)
                time.sleep(1.0)
                ends = []
                for pcm in pcms:
                    speak(pcm, talk_env)
                    ends.append(time.monotonic())
                    events.until(lambda e: e["type"] == "turn", 60)
                    while events.status != "listening":  # the reply has played out
                        events.until(lambda e: e["type"] == "status", 60)
                    time.sleep(0.5)
            finally:
                talk.send_signal(signal.SIGINT)
                talk.wait(timeout=15)
    heard = mic.regions(min_gap_ms=400)
    replies = speaker.regions(min_gap_ms=400)
    latency = []
    for said_at in ends:  # the utterance whose playback ended last before `said_at`
        utterance = max((r for r in heard if r.end <= mic.offset_of(said_at) + 0.05),
                        key=lambda r: r.end, default=None)
        if utterance is None:
            continue
        end = mic.t0 + utterance.end  # type: ignore[operator]
        reply = next((r for r in replies if speaker.t0 + r.start > end), None)  # type: ignore[operator]
        if reply is not None:
            latency.append(1000 * (speaker.t0 + reply.start - end))  # type: ignore[operator]
    return {"engine": engine, "serve_args": TALK_ENGINES[engine],
            "end_of_speech_to_reply_at_speaker_ms": summary(latency),
            "all_ms": [round(x, 1) for x in latency], "silence_ms": DEFAULT_SILENCE_MS,
            "target_ms": TALK_TARGET_MS}


class _Events:
    """`voicecli talk --json`'s events, read on a thread (waits can time out)."""

    def __init__(self, proc) -> None:  # type: ignore[no-untyped-def]
        import queue
        import threading

        self.queue: queue.Queue[dict[str, object] | None] = queue.Queue()
        self.status: object = None
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc) -> None:  # type: ignore[no-untyped-def]
        for line in proc.stdout:
            if line.strip():
                self.queue.put(json.loads(line))
        self.queue.put(None)

    def until(self, match, within_s: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + within_s
        while True:
            event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            if event is None:
                raise RuntimeError("voicecli talk ended")
            if event.get("type") == "status":
                self.status = event.get("status")
            if match(event):
                return event


def print_talk(rows: list[dict[str, object]]) -> None:
    print(f"\ntalk on the virtual devices, server VAD default (silence {DEFAULT_SILENCE_MS} ms): "
          "end of speech (mic) → first reply sound (speaker), ms")
    print(f"   {'engine':8} {'p50':>6} {'p95':>6} {'max':>6} {'n':>4}   target p95 ≤ "
          f"{TALK_TARGET_MS}")
    for row in rows:
        f = row["end_of_speech_to_reply_at_speaker_ms"]
        assert isinstance(f, dict)
        met = "met" if f["p95"] <= TALK_TARGET_MS else "NOT met"
        print(f"   {row['engine']:8} {f['p50']:>6.0f} {f['p95']:>6.0f} {f['max']:>6.0f} "
              f"{f['n']:>4}   {met}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--talk", type=int, default=12,
                        help="spoken turns of `voicecli talk` on the virtual devices per engine "
                             "(0 = skip)")
    args = parser.parse_args()
    load = round(os.getloadavg()[0], 2)
    talk_rows: list[dict[str, object]] = []
    if args.talk:
        from _talkbench import va_environment

        va = va_environment(export=False)
        talk_rows = [talk_on_devices(args.talk, engine, va) for engine in ("old", "new")]
    rows = asyncio.run(main(args.turns))
    print(f"{'case':34} {'first content p50/p95 ms':>26} {'turnComplete p50/p95 ms':>25}")
    for row in rows:
        f, t = row["first_content_ms"], row["turn_complete_ms"]
        print(f"{row['case']:34} {f['p50']:>12} / {f['p95']:<11} {t['p50']:>11} / {t['p95']:<11}")
    if talk_rows:
        print_talk(talk_rows)
    out = Path(__file__).parent / "results" / "local_turn.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "pace": 0,
            "loadavg_1m": load, "loadavg_1m_end": round(os.getloadavg()[0], 2)}
    out.write_text(json.dumps({"meta": meta, "rows": rows, "talk": talk_rows}, indent=2))
    print(f"load {load} → {meta['loadavg_1m_end']}; written: {out}")
