"""Quality and speed of the local engine (`voicecli serve`'s offline speech parts).

Two engines, measured one after the other in the same run (``--engines old,new``): the old one
(pocketsphinx + espeak-ng) and the default since issue 15 (Whisper tiny.en + Piper). Speech is
the fixed corpus benchmarks/corpus/asr_sentences.txt (30 assistant-style sentences), rendered by
espeak-ng through tests/speechgen.py with a pinned voice and rate (en-us+f2, 150 wpm; a fresh
process per sentence, so the audio is the same in every run) and, for the WER, also by the Piper
voice (tests/wer.py, seeded: the same audio every run). Parts (``--parts``; default the first
three), each per engine, then a side-by-side table with the issue's targets:

1. asr — recognition word error rate. Each sentence is streamed in 20 ms chunks (one round trip
   per chunk, as a server session at real time does) through a fresh
   `voicecli.speech.asr_process.RemoteRecognizer`, the recogniser the server's `Ears` use
   (``--asr-model`` for the new engine's Whisper model), per voice (``--voices``).
   WER = word-level Levenshtein distance / reference words, lowercase, punctuation stripped.
   The JSON keeps every hypothesis. ``--baseline OLD.json`` compares with an earlier run (over
   the sentences both ran) and exits 1 when WER got worse by more than ``--tolerance`` points.
2. stages — real-time factor of each stage, p50 over the corpus, as "× real time" (audio
   seconds per second of work; higher is faster): VAD (`SpeechSegmenter` fed 20 ms chunks of
   each sentence padded with silence), ASR (from part 1: streamed decode time incl. the pipe
   round trips, and `finish()` on its own), TTS (the engine's English voice speaking the echo
   engine's reply "You said: <sentence>.", plus time to the first 40 ms chunk of it, of a
   20+ word sentence, and of the corpus sentence as it is: a language model's plain sentence).
3. latency — end of user speech → first reply audio byte against the real server started in
   this process (`start_server(ServerConfig(port=0), EchoAssistant())`, pace 1 = real time), AUDIO
   replies, speech sent at real time in 20 ms chunks over loopback WebSocket with
   `voicecli.client`; a fresh session per turn, closed at the first audio byte. Two ways,
   interleaved: (a) manual activity, measured from activityEnd; (b) server VAD with
   ``--silence-ms`` (300) — an open mic: 200 ms of silence, the sentence, then silence at real
   time — measured from sending the last non-silent chunk; the configured silence wait is
   shown as part of it. The input transcript's arrival splits each latency into "speech end →
   transcript" (VAD wait + the recogniser catching up + `finish()`) and "transcript → audio"
   (engine + first TTS chunk). Utterances: the corpus and pairs of its sentences (3-6 s),
   alternating. Targets: p95 of (a) ≤ 400 ms; end of speech → final transcript p95 ≤ 350 ms.
4. sessions — N concurrent sessions (``--sessions 1,2,4,8``) on `voicecli serve` run as a
   subprocess (so its CPU is its own: main process + the recognition process), each holding
   one session for ``--session-turns`` spoken turns (manual activity, real time, the whole
   reply received, 0.5 s pause; ``--session-activity vad``: server VAD and an open mic, as
   `voicecli talk` without push-to-talk, the target then counted beyond the silence wait),
   starts staggered by (mean sentence length / N), so all N speak at once at first. Per N:
   end-of-speech → first audio p50/p95, the reply audio rate (seconds of audio received / wall
   time from first byte to turnComplete; a reply "keeps real time" at ≥ 0.98, the 2 % being
   delivery jitter), the worst playback gap a player starting at the first byte would hit, and
   the server's CPU (% of one core). Reports the largest N that keeps real time and the target.

Results: a table on stdout and benchmarks/results/local_engine.json (``--out``), with machine
info. About 6 minutes; ``--quick`` (8 sentences, 3 turns per mode) under 2. The machine's
other load shows up in every speed figure: compare runs made under similar load.

    .venv/bin/python benchmarks/bench_local_engine.py [--quick] [--engines old,new]
        [--parts asr,stages,latency,sessions] [--voices espeak,piper] [--turns 12]
        [--sessions 1,2,4,8] [--session-turns 2] [--session-activity manual|vad]
        [--silence-ms 300] [--asr-model NAME]
        [--baseline benchmarks/results/local_engine.json] [--tolerance 2] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _talkbench import (  # noqa: E402
    RESULTS,
    free_port,
    meta,
    stop_server,
    summary,
    tree_cpu_seconds,
    wait_port,
    write_result,
)

from tests.speechgen import silence  # noqa: E402
from tests.wer import (  # noqa: E402
    CORPUS,
    VOICE,
    WPM,
    load_corpus,
    normalize,
    synthesize_corpus,
    synthesize_corpus_piper,
    word_errors,
)
from voicecli.client.endpoints import build_endpoint  # noqa: E402
from voicecli.client.live import LiveSession, Reconnected, Reconnecting  # noqa: E402
from voicecli.client.setup import SetupOptions, build_setup  # noqa: E402
from voicecli.protocol import events as ev  # noqa: E402
from voicecli.server import EchoAssistant, ServerConfig, start_server  # noqa: E402
from voicecli.settings import Settings  # noqa: E402
from voicecli.speech import vad  # noqa: E402
from voicecli.speech.asr_process import RemoteRecognizer, probe  # noqa: E402
from voicecli.speech.piper import PiperSynthesizer  # noqa: E402
from voicecli.speech.tts import Synthesizer, voice_for  # noqa: E402

RATE = 16000
CHUNK_S = 0.02
CHUNK_BYTES = int(RATE * CHUNK_S) * 2
MODEL = "gemini-3.8-live"  # an AUDIO model
TARGET_MS = 400.0  # end of speech → first audio, p95, manual activity
TRANSCRIPT_TARGET_MS = 350.0  # end of speech → final transcript, p95, utterances up to 6 s
FIRST_AUDIO_TARGET_MS = 150.0  # the voice: time to the first audio of a sentence
MAX_UTTERANCE_S = 6.0
RT_MIN = 0.98  # reply audio rate that counts as real time (2 % delivery jitter)
VOICED_PEAK = 64  # |sample| above this (about -54 dBFS) = not silence
LEAD_MS = 200  # open-mic silence before the speech
TURN_TIMEOUT_S = 60.0
PAUSE_S = 0.5  # between turns of one session
PARTS = ("asr", "stages", "latency", "sessions")


@dataclass(frozen=True)
class Engine:
    """One set of the local engine's parts (`voicecli serve --asr/--asr-model/--tts`)."""

    name: str  # "old" or "new"
    engine: str = "whisper"  # the recogniser
    model: str | None = None
    tts: str = "piper"

    def server_config(self) -> ServerConfig:
        return ServerConfig(port=0, asr=self.engine, asr_model=self.model, tts=self.tts)

    def serve_args(self) -> list[str]:
        return ["--asr", self.engine, *(["--asr-model", self.model] if self.model else []),
                "--tts", self.tts]

    def synthesizer(self) -> Any:
        """The English voice the server speaks with when the setup names none."""
        if self.tts == "piper":
            return PiperSynthesizer()
        return Synthesizer(voice_for(None))

    @property
    def label(self) -> str:
        return f"{self.name}: {self.engine}{f' {self.model}' if self.model else ''} + {self.tts}"


#: the engine before issue 15 and the default since, measured side by side
ENGINES = {"old": Engine("old", "pocketsphinx", None, "espeak"),
           "new": Engine("new", "whisper", None, "piper")}
VOICES = ("espeak", "piper")  # who speaks the corpus to the recogniser


# ---- corpus and word error rate ----------------------------------------------------------------

def recognise(pcm: bytes, asr: Engine) -> tuple[str, float, float]:
    """(text, decode seconds, finish seconds): 20 ms chunks through a fresh RemoteRecognizer."""
    rec = RemoteRecognizer(None, asr.engine, asr.model)
    try:
        t0 = time.perf_counter()
        rec.start()
        for i in range(0, len(pcm), CHUNK_BYTES):
            rec.feed(pcm[i : i + CHUNK_BYTES])
        t1 = time.perf_counter()
        text = rec.finish()
        t2 = time.perf_counter()
    finally:
        rec.close()
    return text, t2 - t0, t2 - t1


def run_asr(sentences: list[str], pcms: list[bytes], asr: Engine) -> dict[str, Any]:
    probe(asr.engine, asr.model)  # start the recognition process, load the model
    rows = []
    for ref, pcm in zip(sentences, pcms, strict=True):
        hyp, decode_s, finish_s = recognise(pcm, asr)
        subs, dels, ins = word_errors(normalize(ref), normalize(hyp))
        words = len(normalize(ref))
        audio_s = len(pcm) / 2 / RATE
        rows.append({"ref": ref, "hyp": hyp, "words": words, "errors": subs + dels + ins,
                     "sub": subs, "del": dels, "ins": ins,
                     "wer": round(100 * (subs + dels + ins) / words, 1),
                     "audio_s": round(audio_s, 3), "decode_ms": round(1000 * decode_s, 1),
                     "finish_ms": round(1000 * finish_s, 1), "x_rt": round(audio_s / decode_s, 2)})
    errors, words = sum(r["errors"] for r in rows), sum(r["words"] for r in rows)
    return {
        "wer": round(100 * errors / words, 2), "errors": errors, "words": words,
        "sub": sum(r["sub"] for r in rows), "del": sum(r["del"] for r in rows),
        "ins": sum(r["ins"] for r in rows), "sentences": rows,
        "x_rt": _p50([r["x_rt"] for r in rows]), "finish_ms": summary([r["finish_ms"]
                                                                      for r in rows]),
    }


def print_asr(result: dict[str, Any], asr: Engine, voice: str, worst: int = 4) -> None:
    r = result
    spoken = f"espeak {VOICE} at {WPM} wpm" if voice == "espeak" else "Piper (seeded)"
    print(f"\n1. Recognition [{asr.label}] ({asr.server_config().recognizer()}): "
          f"{len(r['sentences'])} sentences spoken by {spoken}, 20 ms chunks, a fresh "
          "recogniser per sentence")
    print(f"   WER {r['wer']:.1f} %  ({r['errors']} errors / {r['words']} words: "
          f"{r['sub']} substituted, {r['del']} deleted, {r['ins']} inserted)")
    print("   worst sentences (WER %, reference → hypothesis):")
    ranked = sorted(r["sentences"], key=lambda s: (-s["wer"], -s["errors"]))
    for s in ranked[:worst]:
        print(f"   {s['wer']:6.1f}  {s['ref']}  →  {s['hyp'] or '(nothing)'}")


# ---- stage speeds --------------------------------------------------------------------------------

def run_stages(sentences: list[str], pcms: list[bytes], engine: Engine) -> dict[str, Any]:
    vad_x, vad_init, segments = [], [], []
    for pcm in pcms:
        audio = silence(300) + pcm + silence(500)
        t0 = time.perf_counter()
        segmenter = vad.SpeechSegmenter()
        t1 = time.perf_counter()
        events = []
        for i in range(0, len(audio), CHUNK_BYTES):
            events += segmenter.feed(audio[i : i + CHUNK_BYTES])
        events += segmenter.flush()
        t2 = time.perf_counter()
        vad_init.append(1000 * (t1 - t0))
        vad_x.append(len(audio) / 2 / RATE / (t2 - t1))
        segments.append(sum(1 for e in events if type(e).__name__ == "SpeechStarted"))

    synth = engine.synthesizer()  # what the server speaks with when the setup names no voice
    synth.synthesize_bytes("Warming up.")
    tts_x, first_ms, long_first_ms, plain_first_ms = [], [], [], []
    for k, sentence in enumerate(sentences):
        x_rt, first = _speak_timed(synth, f"You said: {sentence}.")
        tts_x.append(x_rt)
        first_ms.append(first)
        # a sentence as a language model might start its reply: no clause mark, nothing cached
        plain_first_ms.append(_speak_timed(synth, f"{sentence.capitalize()}.")[1])
        # a long sentence (20+ words): the voice must not make its first audio wait for it all
        following = sentences[(k + 1) % len(sentences)]
        long_first_ms.append(_speak_timed(
            synth, f"Well, you asked me to {sentence}, and after that to {following}, "
                   "which I will do as soon as I can.")[1])
    return {
        "vad": {"x_rt": _p50(vad_x), "x_rt_min": round(min(vad_x), 1),
                "init_ms": summary(vad_init), "segments_per_sentence": segments},
        "tts": {"x_rt": _p50(tts_x), "x_rt_min": round(min(tts_x), 1),
                "first_chunk_ms": summary(first_ms),
                "long_sentence_first_chunk_ms": summary(long_first_ms),
                "plain_sentence_first_chunk_ms": summary(plain_first_ms),
                "voice": str(getattr(synth, "voice", engine.tts))},
    }


def _speak_timed(synth: Any, text: str) -> tuple[float, float]:
    """(× real time, ms to the first 40 ms chunk) of speaking `text`."""
    produced = 0
    first: float | None = None

    def on_chunk(chunk: bytes) -> None:
        nonlocal produced, first
        if first is None:
            first = time.perf_counter()
        produced += len(chunk)

    t0 = time.perf_counter()
    synth.synthesize(text, on_chunk)
    elapsed = time.perf_counter() - t0
    return produced / 2 / synth.RATE / elapsed, 1000 * ((first or t0) - t0)


def print_stages(stages: dict[str, Any] | None, asr: dict[str, Any] | None,
                 engine: Engine) -> None:
    print(f"\n2. Real-time factor per stage [{engine.label}] (p50 over the corpus; × real time, "
          "higher = faster)")
    print(f"   {'stage':6} {'p50':>10} {'worst':>10}  detail")
    if stages is not None:
        v = stages["vad"]
        odd = sum(1 for n in v["segments_per_sentence"] if n != 1)
        print(f"   {'VAD':6} {v['x_rt']:>9.0f}× {v['x_rt_min']:>9.0f}×  SpeechSegmenter, 20 ms "
              f"feeds; init p50 {v['init_ms']['p50']} ms; {odd} sentences not 1 segment")
    if asr is not None:
        worst = min(s["x_rt"] for s in asr["sentences"])
        f = asr["finish_ms"]
        print(f"   {'ASR':6} {asr['x_rt']:>9.1f}× {worst:>9.1f}×  streamed decode incl. pipe "
              f"round trips; finish() p50 {f['p50']} / p95 {f['p95']} ms")
    if stages is not None:
        t = stages["tts"]
        fc = t["first_chunk_ms"]
        lc, pc = t["long_sentence_first_chunk_ms"], t["plain_sentence_first_chunk_ms"]
        print(f"   {'TTS':6} {t['x_rt']:>9.0f}× {t['x_rt_min']:>9.0f}×  {t['voice']}; first "
              f"audio of the echo's sentence p50 {fc['p50']} / p95 {fc['p95']} ms; 20+ words "
              f"p50 {lc['p50']} / p95 {lc['p95']} ms; a corpus sentence as it is "
              f"p50 {pc['p50']} / p95 {pc['p95']} ms")


# ---- talking to a server ---------------------------------------------------------------------

@dataclass
class TurnLog:
    """What one spoken turn looked like from the client (perf_counter seconds)."""

    sentence: str
    speech_end: float | None = None
    transcript_at: float | None = None
    transcript: str = ""
    audio: list[tuple[float, float]] = field(default_factory=list)  # (arrived, seconds)
    complete_at: float | None = None
    early_audio: int = 0  # reply audio before the speech ended (VAD cut the sentence)
    send_lag_ms: float = 0.0  # worst lateness of our own real-time sending
    spoken_s: float = 0.0  # length of the utterance

    def latency_ms(self) -> float:
        assert self.speech_end is not None and self.audio
        return 1000 * (self.audio[0][0] - self.speech_end)

    def transcript_ms(self) -> float | None:
        if self.speech_end is None or self.transcript_at is None:
            return None
        return 1000 * (self.transcript_at - self.speech_end)

    def audio_s(self) -> float:
        return sum(s for _, s in self.audio)

    def rate(self) -> float | None:
        """Seconds of reply audio per wall second, first byte → turnComplete."""
        if self.complete_at is None or not self.audio:
            return None
        wall = self.complete_at - self.audio[0][0]
        return self.audio_s() / wall if wall > 0 else math.inf

    def worst_gap_ms(self) -> float:
        """Longest a player that starts at the first byte would wait for audio (0 = none)."""
        if not self.audio:
            return 0.0
        start, played, worst = self.audio[0][0], 0.0, 0.0
        for arrived, seconds in self.audio:
            worst = max(worst, arrived - (start + played))
            played += seconds
        return 1000 * worst

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sentence": self.sentence, "heard": self.transcript.strip(),
                               "spoken_s": round(self.spoken_s, 2)}
        if self.audio and self.speech_end is not None:
            out["latency_ms"] = round(self.latency_ms(), 1)
        if (t := self.transcript_ms()) is not None:
            out["transcript_ms"] = round(t, 1)
        if self.complete_at is not None:
            out["audio_s"] = round(self.audio_s(), 3)
            out["rate"] = round(self.rate() or 0.0, 3)
            out["worst_gap_ms"] = round(self.worst_gap_ms(), 1)
        if self.early_audio:
            out["early_audio_chunks"] = self.early_audio
        out["send_lag_ms"] = round(self.send_lag_ms, 1)
        return out


class Pacer:
    """Sends 20 ms chunks at real time on an absolute schedule: chunk k leaves when its audio
    would have been captured, (k + 1) × 20 ms after the start."""

    def __init__(self, turn: TurnLog) -> None:
        self.start = time.perf_counter()
        self.sent = 0
        self.turn = turn

    async def send(self, live: LiveSession, chunk: bytes) -> None:
        delay = self.start + (self.sent + 1) * CHUNK_S - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            self.turn.send_lag_ms = max(self.turn.send_lag_ms, -1000 * delay)
        self.sent += 1
        await live.send_audio(chunk, RATE)


def chunks(pcm: bytes) -> Iterator[bytes]:
    for i in range(0, len(pcm), CHUNK_BYTES):
        yield pcm[i : i + CHUNK_BYTES]


def last_voiced_chunk(pcm: bytes) -> int:
    """Index of the last 20 ms chunk of `pcm` holding anything but near-silence."""
    samples = np.abs(np.frombuffer(pcm, dtype=np.int16).astype(np.int32))
    loud = np.flatnonzero(samples > VOICED_PEAK)
    return int(loud[-1]) * 2 // CHUNK_BYTES if loud.size else 0


def live_setup(url: str, options: SetupOptions) -> tuple[Any, Any]:
    settings = Settings.of(backend="gemini", base_url=url, model=MODEL, response="audio")
    endpoint = build_endpoint(settings)
    return endpoint, build_setup(settings, endpoint.model, options)


def manual_options() -> SetupOptions:
    return SetupOptions(manual_activity=True, input_transcription=True)


def vad_options(silence_ms: int) -> SetupOptions:
    return SetupOptions(input_transcription=True, vad_silence_ms=silence_ms)


async def speak_manual(live: LiveSession, turn: TurnLog, pcm: bytes) -> None:
    """activityStart, the speech at real time, activityEnd (= the end of speech)."""
    await live.send_activity_start()
    pacer = Pacer(turn)
    for chunk in chunks(pcm):
        await pacer.send(live, chunk)
    await live.send_activity_end()
    turn.speech_end = time.perf_counter()


async def speak_open_mic(live: LiveSession, turn: TurnLog, pcm: bytes,
                         stop: asyncio.Event) -> None:
    """Silence, the speech, then silence until `stop`, all at real time (server VAD)."""
    audio = silence(LEAD_MS, RATE) + pcm
    last = last_voiced_chunk(audio)
    pacer = Pacer(turn)
    for k, chunk in enumerate(chunks(audio)):
        await pacer.send(live, chunk)
        if k == last:
            turn.speech_end = time.perf_counter()
    quiet = silence(CHUNK_S * 1000, RATE)
    while not stop.is_set():
        await pacer.send(live, quiet)


async def receive(events: AsyncIterator[Any], turn: TurnLog, whole_reply: bool) -> None:
    """Record the reply: until its first audio byte, or (`whole_reply`) its turnComplete."""
    async with asyncio.timeout(TURN_TIMEOUT_S):
        async for event in events:
            now = time.perf_counter()
            if isinstance(event, Reconnecting | Reconnected):
                raise RuntimeError(f"the session reconnected: {event}")
            ended = turn.speech_end is not None and now >= turn.speech_end
            if isinstance(event, ev.InputTranscript):  # deltas; the last one ends the words
                turn.transcript += event.text
                if ended and not turn.audio:
                    turn.transcript_at = now
            elif isinstance(event, ev.ModelAudio):
                if not ended:
                    turn.early_audio += 1
                    continue
                turn.audio.append((now, len(event.data) / 2 / event.rate))
                if not whole_reply:
                    return
            elif isinstance(event, ev.TurnComplete) and turn.audio:
                turn.complete_at = now
                return
    raise RuntimeError("the session ended before the reply")


# ---- part 3: end of speech → first audio, in-process server --------------------------------------

async def one_latency_turn(url: str, sentence: str, pcm: bytes, manual: bool,
                           silence_ms: int) -> TurnLog:
    options = manual_options() if manual else vad_options(silence_ms)
    endpoint, setup = live_setup(url, options)
    turn = TurnLog(sentence, spoken_s=len(pcm) / 2 / RATE)
    async with LiveSession(endpoint, setup) as live:
        events = live.events()
        if manual:
            await speak_manual(live, turn, pcm)
            await receive(events, turn, whole_reply=False)
            return turn
        stop = asyncio.Event()
        sender = asyncio.create_task(speak_open_mic(live, turn, pcm, stop))
        try:
            await receive(events, turn, whole_reply=False)
        finally:
            stop.set()
            await sender
    return turn


def effective_silence_ms(silence_ms: int) -> float:
    """The VAD's real end-of-speech wait for `silence_ms` (whole frames), if it says."""
    try:
        segmenter = vad.SpeechSegmenter(vad.VadSettings(silence_duration_ms=silence_ms))
        frames, frame_bytes = segmenter.end_frames, segmenter.frame_bytes
        return round(frames * frame_bytes / 2 / segmenter.rate * 1000, 1)
    except (AttributeError, TypeError):  # the segmenter's internals changed: trust the setting
        return float(silence_ms)


async def run_latency(sentences: list[str], pcms: list[bytes], turns: int, silence_ms: int,
                      asr: Engine) -> dict[str, Any]:
    async with await start_server(asr.server_config(), EchoAssistant()) as server:
        w = _shortest(pcms)
        for manual in (True, False):  # warm-up (models load, first-use costs): not counted
            await one_latency_turn(server.url, sentences[w], pcms[w], manual, silence_ms)
        logs: dict[bool, list[TurnLog]] = {True: [], False: []}
        for i in range(turns):
            k = (i + 1) % len(sentences)  # short and long utterances alternate (utterances())
            for manual in (True, False):  # interleaved: both see the same background load
                logs[manual].append(await one_latency_turn(server.url, sentences[k], pcms[k],
                                                           manual, silence_ms))
    wait = effective_silence_ms(silence_ms)
    return {"manual": _latency_case(logs[True], "activityEnd"),
            "vad": {**_latency_case(logs[False], "last non-silent chunk sent"),
                    "silence_ms": silence_ms, "silence_wait_ms": wait},
            "target_ms": TARGET_MS}


def _latency_case(logs: list[TurnLog], since: str) -> dict[str, Any]:
    latency = [t.latency_ms() for t in logs]
    transcript = [x for t in logs if (x := t.transcript_ms()) is not None]
    after = [t.latency_ms() - x for t in logs if (x := t.transcript_ms()) is not None]
    by_length = {f"{lo}-{hi} s": summary([x for t in logs if lo < t.spoken_s <= hi
                                          and (x := t.transcript_ms()) is not None])
                 for lo, hi in ((0, 3), (3, 6))}
    return {"measured_from": since, "first_audio_ms": summary(latency),
            "transcript_ms": summary(transcript), "transcript_ms_by_length": by_length,
            "transcript_to_audio_ms": summary(after),
            "early_audio_turns": sum(1 for t in logs if t.early_audio),
            "send_lag_ms_max": round(max(t.send_lag_ms for t in logs), 1),
            "turns": [t.row() for t in logs]}


def print_latency(result: dict[str, Any]) -> bool:
    m, v = result["manual"], result["vad"]
    n = m["first_audio_ms"]["n"]
    print(f"\n3. End of speech → first reply audio byte, ms (in-process server, pace 1, AUDIO, "
          f"{n} turns each, fresh session per turn)")
    print(f"   {'mode':34} {'p50':>6} {'p95':>6} {'max':>6}   {'→ transcript p50':>16} "
          f"{'p95':>6} {'transcript → audio':>18}")
    for name, case in (("(a) manual, from activityEnd", m),
                       (f"(b) server VAD, silence {v['silence_ms']} ms", v)):
        f, t, a = case["first_audio_ms"], case["transcript_ms"], case["transcript_to_audio_ms"]
        print(f"   {name:34} {f['p50']:>6.0f} {f['p95']:>6.0f} {f['max']:>6.0f}   "
              f"{t['p50']:>16.0f} {t['p95']:>6.0f} {a['p50']:>18.0f}")
    for span, t in m["transcript_ms_by_length"].items():
        print(f"   (a) end of speech → final transcript, utterances of {span}: "
              f"p50 {t['p50']:.0f} / p95 {t['p95']:.0f} / max {t['max']:.0f} ms (n {t['n']})")
    wait = v["silence_wait_ms"]
    print(f"   (b) includes the VAD's silence wait of {wait:.0f} ms: p50 beyond it "
          f"{v['first_audio_ms']['p50'] - wait:.0f} ms"
          + (f"; {v['early_audio_turns']} turns cut early by the VAD"
             if v["early_audio_turns"] else ""))
    met = m["first_audio_ms"]["p95"] <= TARGET_MS
    print(f"   target (a) first audio p95 ≤ {TARGET_MS:.0f} ms: {'met' if met else 'NOT met'} "
          f"({m['first_audio_ms']['p95']:.0f} ms)")
    heard = m["transcript_ms"]["p95"] <= TRANSCRIPT_TARGET_MS
    print(f"   target (a) final transcript p95 ≤ {TRANSCRIPT_TARGET_MS:.0f} ms: "
          f"{'met' if heard else 'NOT met'} ({m['transcript_ms']['p95']:.0f} ms)")
    return met and heard


# ---- part 4: concurrent sessions on a `voicecli serve` subprocess -------------------------------

@contextlib.contextmanager
def serve_subprocess(asr: Engine) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        command = [sys.executable, "-m", "voicecli", "serve", "--port", str(port), "--pace", "1",
                   *asr.serve_args()]
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_port(port)
            yield proc, f"ws://127.0.0.1:{port}"
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-2000:])
            raise
        finally:
            stop_server(proc)


@dataclass
class Activity:
    """How part 4's sessions take turns: manual activity, or server VAD with an open mic."""

    vad_silence_ms: int | None = None  # None: manual activity

    def options(self) -> SetupOptions:
        if self.vad_silence_ms is None:
            return manual_options()
        return vad_options(self.vad_silence_ms)

    def allowance_ms(self) -> float:
        """The part of the latency that is the VAD's configured wait (0 for manual)."""
        return 0.0 if self.vad_silence_ms is None else effective_silence_ms(self.vad_silence_ms)

    async def turn(self, live: LiveSession, events: AsyncIterator[Any], turn: TurnLog,
                   pcm: bytes) -> None:
        """Speak `pcm` and receive the whole reply (open mic: silence streams on meanwhile)."""
        if self.vad_silence_ms is None:
            await speak_manual(live, turn, pcm)
            await receive(events, turn, whole_reply=True)
            return
        stop = asyncio.Event()
        sender = asyncio.create_task(speak_open_mic(live, turn, pcm, stop))
        try:
            await receive(events, turn, whole_reply=True)
        finally:
            stop.set()
            await sender


async def hold_session(url: str, activity: Activity, first: int, turns: int,
                       sentences: list[str], pcms: list[bytes], delay: float) -> list[TurnLog]:
    await asyncio.sleep(delay)
    endpoint, setup = live_setup(url, activity.options())
    logs = []
    async with LiveSession(endpoint, setup) as live:
        events = live.events()
        for t in range(turns):
            k = (first + t) % len(sentences)
            turn = TurnLog(sentences[k])
            await activity.turn(live, events, turn, pcms[k])
            logs.append(turn)
            if t + 1 < turns and activity.vad_silence_ms is None:
                await asyncio.sleep(PAUSE_S)
    return logs


async def run_level(url: str, pid: int, activity: Activity, n: int, turns: int,
                    sentences: list[str], pcms: list[bytes]) -> dict[str, Any]:
    mean_s = float(np.mean([len(p) / 2 / RATE for p in pcms]))
    cpu0, client0, wall0 = tree_cpu_seconds(pid), time.process_time(), time.perf_counter()
    per_session = await asyncio.gather(*(
        hold_session(url, activity, i * turns + 1, turns, sentences, pcms, i * mean_s / n)
        for i in range(n)))
    wall = time.perf_counter() - wall0
    cpu1, client = tree_cpu_seconds(pid), time.process_time() - client0
    logs = [t for session in per_session for t in session]
    main_cpu = cpu1.get(pid, 0.0) - cpu0.get(pid, 0.0)
    others = sum(c - cpu0.get(p, 0.0) for p, c in cpu1.items() if p != pid)
    latency = summary([t.latency_ms() for t in logs])
    rates = [r for t in logs if (r := t.rate()) is not None]
    gaps = [t.worst_gap_ms() for t in logs]
    real_time = len(rates) == len(logs) and min(rates) >= RT_MIN
    latency_ok = latency["p95"] - activity.allowance_ms() <= TARGET_MS
    return {
        "sessions": n, "turns": len(logs), "wall_s": round(wall, 1),
        "first_audio_ms": latency,
        "transcript_ms": summary([x for t in logs if (x := t.transcript_ms()) is not None]),
        "rate_min": round(min(rates), 3), "rate_p50": round(float(np.median(rates)), 3),
        "worst_gap_ms": round(max(gaps), 1),
        "replies_with_gap": sum(1 for g in gaps if g > 0),
        "server_cpu_pct": round(100 * (main_cpu + others) / wall, 1),
        "server_main_cpu_pct": round(100 * main_cpu / wall, 1),
        "server_children_cpu_pct": round(100 * others / wall, 1),
        "client_cpu_pct": round(100 * client / wall, 1),
        "send_lag_ms_max": round(max(t.send_lag_ms for t in logs), 1),
        "early_audio_turns": sum(1 for t in logs if t.early_audio),
        "real_time": real_time, "latency_ok": latency_ok,
        "ok": real_time and latency_ok,
        "turn_log": [t.row() for t in logs],
    }


async def run_sessions(levels: list[int], turns: int, activity: Activity,
                       sentences: list[str], pcms: list[bytes], asr: Engine) -> dict[str, Any]:
    with serve_subprocess(asr) as (proc, url):
        w = _shortest(pcms)
        await one_latency_turn(url, sentences[w], pcms[w], True, 0)  # warm-up: not counted
        rows = []
        for n in levels:
            rows.append(await run_level(url, proc.pid, activity, n, turns, sentences, pcms))
            _print_level(rows[-1], activity if len(rows) == 1 else None)
    passing = [r["sessions"] for r in rows if r["ok"]]
    return {"levels": rows, "turns_per_session": turns, "rate_min": RT_MIN,
            "activity": "manual" if activity.vad_silence_ms is None else "vad",
            "vad_silence_ms": activity.vad_silence_ms,
            "latency_allowance_ms": activity.allowance_ms(),
            "largest_ok": max(passing) if passing else None}


def _print_level(r: dict[str, Any], header: Activity | None) -> None:
    if header is not None:
        how = ("manual activity" if header.vad_silence_ms is None else
               f"server VAD + open mic, silence {header.vad_silence_ms} ms")
        print(f"\n4. Concurrent sessions (voicecli serve subprocess, pace 1, {how}, "
              "whole replies)")
        print(f"   {'N':>2} {'turns':>5} {'1st audio p50':>13} {'p95':>6} {'→transcript':>11} "
              f"{'rate min':>8} {'gap max':>7} {'server CPU':>10} {'(ASR proc)':>10} "
              f"{'client':>6}  ok")
    f = r["first_audio_ms"]
    flags = [] if r["real_time"] else ["slow audio"]
    if not r["latency_ok"]:
        flags.append("latency")
    print(f"   {r['sessions']:>2} {r['turns']:>5} {f['p50']:>11.0f}ms {f['p95']:>6.0f} "
          f"{r['transcript_ms']['p50']:>11.0f} {r['rate_min']:>7.3f}× {r['worst_gap_ms']:>5.0f}ms "
          f"{r['server_cpu_pct']:>9.0f}% {r['server_children_cpu_pct']:>9.0f}% "
          f"{r['client_cpu_pct']:>5.0f}%  {'yes' if r['ok'] else 'no: ' + ', '.join(flags)}")


# ---- baseline ------------------------------------------------------------------------------------

def compare(baseline: dict[str, Any], current: dict[str, Any], tolerance: float) -> bool:
    """Print the differences from `baseline`; False when WER got worse beyond `tolerance`."""
    print(f"\nCompared with the baseline ({baseline.get('meta', {}).get('date', '?')}):")
    ok = True
    for name, now in current["engines"].items():
        before = baseline.get("engines", {}).get(name)
        if before is None:
            print(f"   {name}: not in the baseline")
            continue
        for voice, asr in now.get("asr", {}).items():
            base_asr = before.get("asr", {}).get(voice)
            if base_asr:
                ok = _compare_wer(f"{name}, {voice}", base_asr, asr, tolerance) and ok
        for label, path in (("ASR × real time p50", ("asr", "espeak", "x_rt")),
                            ("TTS first audio p95 ms", ("stages", "tts", "first_chunk_ms",
                                                        "p95")),
                            ("(a) transcript p95 ms", ("latency", "manual", "transcript_ms",
                                                       "p95")),
                            ("(a) first audio p95 ms", ("latency", "manual", "first_audio_ms",
                                                        "p95")),
                            ("(b) first audio p95 ms", ("latency", "vad", "first_audio_ms",
                                                        "p95")),
                            ("largest N ok", ("sessions", "largest_ok"))):
            old_v, new_v = _dig(before, path), _dig(now, path)
            if old_v is not None and new_v is not None:
                print(f"   {name}: {label:26} {old_v} → {new_v}")
    return ok


def _compare_wer(label: str, base_asr: dict[str, Any], asr: dict[str, Any],
                 tolerance: float) -> bool:
    old = {s["ref"]: s for s in base_asr["sentences"]}
    both = [s for s in asr["sentences"] if s["ref"] in old]
    if not both:
        print(f"   {label} WER: no sentence in common with the baseline")
        return False
    words = sum(s["words"] for s in both)
    now_wer = 100 * sum(s["errors"] for s in both) / words
    old_wer = 100 * sum(old[s["ref"]]["errors"] for s in both) / words
    delta = now_wer - old_wer
    verdict = "ok" if delta <= tolerance else f"WORSE by more than {tolerance:g} points"
    print(f"   {label} WER over {len(both)} common sentences: {old_wer:.1f} % → "
          f"{now_wer:.1f} % ({delta:+.1f} points; {verdict})")
    for s in both:
        before = old[s["ref"]]
        if before["errors"] != s["errors"]:
            print(f"     {before['errors']:>2} → {s['errors']:>2} errors  {s['ref']}  "
                  f"(was: {before['hyp'] or '-'}; now: {s['hyp'] or '-'})")
    return delta <= tolerance


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _shortest(pcms: list[bytes]) -> int:
    return min(range(len(pcms)), key=lambda i: len(pcms[i]))


def _p50(values: list[float]) -> float:
    return round(float(np.median(values)), 1 if np.median(values) < 100 else 0)


def _git_revision() -> str:
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


# ---- main --------------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="8 sentences, 3 latency turns per mode, N = 1,4 with 1 turn")
    parser.add_argument("--parts", default="asr,stages,latency",
                        help=f"which parts to run, comma-separated ({','.join(PARTS)}; default "
                             "asr,stages,latency)")
    parser.add_argument("--engines", default="old,new",
                        help="old (pocketsphinx + espeak), new (whisper + piper), or both "
                             "(default old,new)")
    parser.add_argument("--voices", default=",".join(VOICES),
                        help="who speaks the corpus for the WER: espeak, piper (default both)")
    parser.add_argument("--turns", type=int, help="part 3 turns per mode (default 12, quick 4)")
    parser.add_argument("--sessions", help="part 4 session counts (default 1,2,4,8; quick 1,4)")
    parser.add_argument("--session-turns", type=int,
                        help="part 4 turns per session (default 2, quick 1)")
    parser.add_argument("--silence-ms", type=int, default=300,
                        help="silenceDurationMs for the server-VAD cases (default 300)")
    parser.add_argument("--session-activity", choices=("manual", "vad"), default="manual",
                        help="part 4's turns: manual activity (default) or server VAD with an "
                             "open mic (latency target then counted beyond the silence wait)")
    parser.add_argument("--asr-model", help="the new engine's Whisper model (--asr-model)")
    parser.add_argument("--baseline", type=Path, help="an earlier local_engine.json to compare")
    parser.add_argument("--tolerance", type=float, default=2.0,
                        help="WER points the baseline may be beaten by before exit 1 (default 2)")
    parser.add_argument("--out", help="JSON path (default benchmarks/results/local_engine.json)")
    args = parser.parse_args()
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := set(args.parts) - set(PARTS):
        parser.error(f"unknown --parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if unknown := set(args.engines) - set(ENGINES):
        parser.error(f"unknown --engines {sorted(unknown)}; choose from old,new")
    args.voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    if unknown := set(args.voices) - set(VOICES):
        parser.error(f"unknown --voices {sorted(unknown)}; choose from {','.join(VOICES)}")
    args.turns = args.turns or (3 if args.quick else 12)
    args.sessions = [int(n) for n in (args.sessions or ("1,4" if args.quick else "1,2,4,8"))
                     .split(",")]
    args.session_turns = args.session_turns or (1 if args.quick else 2)
    if args.baseline is not None and "asr" not in args.parts:
        parser.error("--baseline compares WER: include the asr part")
    return args


def utterances(sentences: list[str], pcms: list[bytes]) -> tuple[list[str], list[bytes]]:
    """Part 3's utterances: the corpus, and pairs of its sentences joined by "and" (3-6 s)."""
    pairs = [f"{a} and {b}" for a, b in zip(sentences[::2], sentences[1::2], strict=False)]
    long = [(t, p) for t, p in zip(pairs, synthesize_corpus(pairs), strict=True)
            if len(p) / 2 / RATE <= MAX_UTTERANCE_S]
    mixed: list[tuple[str, bytes]] = []
    for k, short in enumerate(zip(sentences, pcms, strict=True)):  # short, long, short, ...
        mixed += [short, *([long[k]] if k < len(long) else [])]
    return [t for t, _ in mixed], [p for _, p in mixed]


def run_engine(engine: Engine, args: argparse.Namespace, sentences: list[str],
               speech: dict[str, list[bytes]], spoken: tuple[list[str], list[bytes]],
               ) -> dict[str, Any]:
    out: dict[str, Any] = {"label": engine.label, "recognizer":
                           engine.server_config().recognizer(), "tts": engine.tts}
    if "asr" in args.parts:
        out["asr"] = {}
        for voice, pcms in speech.items():
            out["asr"][voice] = run_asr(sentences, pcms, engine)
            print_asr(out["asr"][voice], engine, voice)
    if "stages" in args.parts:
        out["stages"] = run_stages(sentences, speech["espeak"], engine)
    if "asr" in args.parts or "stages" in args.parts:
        print_stages(out.get("stages"), out.get("asr", {}).get("espeak"), engine)
    if "latency" in args.parts:
        out["latency"] = asyncio.run(run_latency(*spoken, args.turns, args.silence_ms, engine))
        print(f"   [{engine.label}]")
        out["latency"]["target_met"] = print_latency(out["latency"])
    if "sessions" in args.parts:
        activity = Activity(args.silence_ms if args.session_activity == "vad" else None)
        out["sessions"] = asyncio.run(run_sessions(args.sessions, args.session_turns,
                                                   activity, sentences, speech["espeak"],
                                                   engine))
    return out


def print_side_by_side(engines: dict[str, dict[str, Any]]) -> None:
    """The summary table: one column per engine, the issue's targets beside."""
    rows = [
        ("WER, espeak speech %", ("asr", "espeak", "wer"), "≤ 15"),
        ("WER, Piper speech %", ("asr", "piper", "wer"), "≤ 3"),
        ("ASR × real time p50", ("asr", "espeak", "x_rt"), ""),
        ("ASR finish() p95 ms", ("asr", "espeak", "finish_ms", "p95"), ""),
        ("VAD × real time p50", ("stages", "vad", "x_rt"), ""),
        ("TTS × real time p50", ("stages", "tts", "x_rt"), ""),
        ("TTS first audio p50 ms", ("stages", "tts", "first_chunk_ms", "p50"), ""),
        ("TTS first audio p95 (echo)", ("stages", "tts", "first_chunk_ms", "p95"),
         f"≤ {FIRST_AUDIO_TARGET_MS:.0f}"),
        ("  20+ words p95 ms", ("stages", "tts", "long_sentence_first_chunk_ms", "p95"),
         f"≤ {FIRST_AUDIO_TARGET_MS:.0f}"),
        ("  plain sentence p95 ms", ("stages", "tts", "plain_sentence_first_chunk_ms", "p95"),
         f"≤ {FIRST_AUDIO_TARGET_MS:.0f}"),
        ("speech end → transcript p50", ("latency", "manual", "transcript_ms", "p50"), ""),
        ("speech end → transcript p95", ("latency", "manual", "transcript_ms", "p95"),
         f"≤ {TRANSCRIPT_TARGET_MS:.0f}"),
        ("  utterances 3-6 s p95", ("latency", "manual", "transcript_ms_by_length", "3-6 s",
                                    "p95"), f"≤ {TRANSCRIPT_TARGET_MS:.0f}"),
        ("speech end → 1st audio p95", ("latency", "manual", "first_audio_ms", "p95"),
         f"≤ {TARGET_MS:.0f}"),
        ("VAD: speech end → audio p95", ("latency", "vad", "first_audio_ms", "p95"), ""),
    ]
    names = list(engines)
    print("\nSide by side (manual activity unless marked VAD; ms from the end of speech)")
    print(f"   {'':30}" + "".join(f"{n:>12}" for n in names) + f"{'target':>10}")
    for label, path, target in rows:
        cells = [_dig(engines[n], path) for n in names]
        if all(c is None for c in cells):
            continue
        print(f"   {label:30}" + "".join(f"{c if c is not None else '-':>12}" for c in cells)
              + f"{target:>10}")
    for n in names:
        print(f"   {n}: {engines[n]['label']}")


def main() -> int:
    args = parse_args()
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    started = time.perf_counter()
    sentences = load_corpus(args.quick)
    speech = {"espeak": synthesize_corpus(sentences)}
    if "piper" in args.voices and "asr" in args.parts:
        speech["piper"] = synthesize_corpus_piper(sentences, seed=0)
    if "espeak" not in args.voices:
        speech = {"piper": speech["piper"], "espeak": speech["espeak"]}  # stages need espeak
    engines = [ENGINES[e] if e == "old" else Engine("new", "whisper", args.asr_model, "piper")
               for e in args.engines]
    result: dict[str, Any] = {
        "meta": meta(revision=_git_revision()),
        "config": {"voice": VOICE, "wpm": WPM, "piper_seed": 0, "engines": args.engines,
                   "asr_model": args.asr_model, "corpus": str(CORPUS.relative_to(ROOT)),
                   "sentences": len(sentences), "quick": args.quick, "chunk_ms": 20,
                   "parts": args.parts},
        "engines": {},
    }
    speech_s = sum(len(p) for p in speech["espeak"]) / 2 / RATE
    print(f"local engine: {len(sentences)} sentences ({speech_s:.1f} s of espeak speech), "
          f"{result['meta']['cpus']} CPUs, load {result['meta']['loadavg_1m']}, "
          f"revision {result['meta']['revision']}")
    spoken = utterances(sentences, speech["espeak"]) if "latency" in args.parts else ([], [])
    for engine in engines:
        result["engines"][engine.name] = run_engine(engine, args, sentences, speech, spoken)
    print_side_by_side(result["engines"])
    ok = compare(baseline, result, args.tolerance) if baseline is not None else True
    result["meta"]["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    result["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\n{result['meta']['seconds']:.0f} s, load {result['meta']['loadavg_1m']} → "
          f"{result['meta']['loadavg_1m_end']}")
    write_result("local_engine", result, args.out or str(RESULTS / "local_engine.json"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
