"""Microphone and Speaker on real PortAudio streams: the virtual PulseAudio devices.

Each test runs the device side in a fresh interpreter with the virtual-device environment
(PortAudio fixes its device list at import), and observes from outside: the speaker through a
timestamped recorder on its monitor, the mic by playing into it with pacat.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.audio.virtual import (
    ROOT,
    MonitorRecorder,
    Recording,
    dominant_hz,
    feed_mic,
    first_loud_index,
    last_loud_index,
    private_daemon,
    run_python,
    stop_daemon,
)
from tests.speechgen import silence, speech_pcm16, tone

PLAY_TONE = """
import asyncio, json, sys, time
from tests.speechgen import tone
from voicecli.audio.playback import Speaker

async def main(flush_after: float) -> None:
    async with Speaker(latency="low", block_ms=5) as sp:
        sp.play(tone(440, 1000, rate=24000, dbfs=-10))
        sp.end_of_turn()
        await asyncio.sleep(flush_after)
        heard, flushed = sp.heard_at, time.monotonic()
        if flush_after < 1:
            sp.flush()
            sp.play(tone(440, 500, rate=24000))  # late audio of the interrupted turn
        await asyncio.sleep(0.3)
        print(json.dumps({"heard": heard, "flushed": flushed, "rate": sp.rate,
                          "stats": vars(sp.stats), "buffered_ms": sp.buffered_ms}))

asyncio.run(main(float(sys.argv[1])))
"""


def play_and_record(code: str, env: dict[str, str], *args: str,
                    ) -> tuple[dict[str, Any], Recording]:
    """Run a speaker script (it prints one JSON line) while the monitor records."""
    recorder = MonitorRecorder(env)
    try:
        result = json.loads(run_python(code, env, *args))
    finally:
        rec = recorder.stop()
    return result, rec


def test_speaker_plays_a_tone_that_the_monitor_hears(va_env: dict[str, str]) -> None:
    result, rec = play_and_record(PLAY_TONE, va_env, "1.3")
    start = first_loud_index(rec.samples)
    assert start is not None, "nothing reached the speaker"
    end = last_loud_index(rec.samples, start, len(rec.samples))
    assert (end - start) / rec.rate == pytest.approx(1.0, abs=0.01)
    assert dominant_hz(rec.samples[start:end], rec.rate) == pytest.approx(440, abs=2)
    assert result["stats"]["underruns"] == 0 and result["buffered_ms"] == 0
    assert abs(rec.time_of(start) - result["heard"]) < 0.05  # heard_at ≈ when it sounded


def test_flush_silences_the_speaker_within_tens_of_ms(va_env: dict[str, str]) -> None:
    result, rec = play_and_record(PLAY_TONE, va_env, "0.5")
    start = first_loud_index(rec.samples)
    assert start is not None
    end = last_loud_index(rec.samples, start, len(rec.samples))
    flush_to_silence = rec.time_of(end) - result["flushed"]
    assert flush_to_silence < 0.06, f"{flush_to_silence * 1000:.0f} ms"
    assert 0.4 < (end - start) / rec.rate < 0.56  # ~0.5 s played, then nothing more
    assert result["stats"]["late_dropped_frames"] == 12000


TWO_TURNS = """
import asyncio, json, sys, time
from tests.speechgen import tone
from voicecli.audio.opening import open_speaker

async def main() -> None:
    async with open_speaker(None) as sp:  # talk's settings
        await asyncio.sleep(0.8)  # nothing to play: the stream stops itself
        idle_before = sp.stats.idle_stops
        played = time.monotonic()
        sp.play(tone(440, 1000, rate=24000, dbfs=-10))  # a reply: starts it again
        await asyncio.sleep(0.5)
        flushed = time.monotonic()
        sp.flush()  # barge-in
        sp.play(tone(440, 200, rate=24000))  # late audio of the interrupted turn
        sp.end_of_turn()
        await asyncio.sleep(0.8)
        second = time.monotonic()
        sp.play(tone(660, 300, rate=24000, dbfs=-10))
        sp.end_of_turn()
        await asyncio.sleep(1.2)
        print(json.dumps({"played": played, "flushed": flushed, "second": second,
                          "idle_before": idle_before, "stats": vars(sp.stats)}))

asyncio.run(main())
"""


def test_the_speaker_idles_between_turns_and_a_flush_cuts_at_once(va_env: dict[str, str],
                                                                   ) -> None:
    result, rec = play_and_record(TWO_TURNS, va_env)
    stats = result["stats"]
    assert result["idle_before"] == 1  # stopped before the first reply
    assert stats["restarts"] == 2 and stats["idle_stops"] >= 2  # and again after the second
    first = first_loud_index(rec.samples, rec.index_at(result["played"]) - rec.rate // 10)
    assert first is not None
    assert rec.time_of(first) - result["played"] < 0.06  # a stopped stream starts at once
    # up to 100 ms before the second reply: its stream restarts within ms, and the recording's
    # clock is only that exact (the same margin the onset search below takes)
    end = last_loud_index(rec.samples, first, rec.index_at(result["second"]) - rec.rate // 10)
    assert rec.time_of(end) - result["flushed"] < 0.02  # aborted: nothing buffered plays out
    onset = first_loud_index(rec.samples, rec.index_at(result["second"]) - rec.rate // 10)
    assert onset is not None and rec.time_of(onset) - result["second"] < 0.06
    tail = last_loud_index(rec.samples, onset, len(rec.samples))
    assert (tail - onset) / rec.rate == pytest.approx(0.3, abs=0.01)  # all of it, no fade
    assert dominant_hz(rec.samples[onset:tail], rec.rate) == pytest.approx(660, abs=3)
    assert stats["underruns"] == 0 and stats["late_dropped_frames"] == 4800


UNDERFLOW = """
import asyncio, json, sys, time
from tests.speechgen import tone
from voicecli.audio.opening import open_speaker

async def main() -> None:
    async with open_speaker(None) as sp:  # talk's settings: the small buffer first
        small = sp.block_ms
        sp.play(tone(440, 800, rate=24000, dbfs=-10))
        sp.end_of_turn()
        await asyncio.sleep(0.3)
        sys.setswitchinterval(1.0)
        held = time.monotonic()
        while time.monotonic() - held < 0.15:  # the GIL held: the callback cannot run
            pass
        sys.setswitchinterval(0.005)
        await asyncio.sleep(1.5)  # played out; the stream stops itself
        underflows = sp.stats.device_underflows
        second = time.monotonic()
        reply = tone(660, 1000, rate=24000, dbfs=-10)
        for i in range(0, len(reply), 1920):  # a 1 s reply in 40 ms chunks at 1x
            sp.play(reply[i:i + 1920])
            await asyncio.sleep(0.04)
        sp.end_of_turn()
        await asyncio.sleep(0.8)
        print(json.dumps({"small": small, "block_ms": sp.block_ms, "second": second,
                          "underflows": underflows, "stats": vars(sp.stats)}))

asyncio.run(main())
"""


def test_after_a_device_underflow_the_speaker_reopens_with_the_bigger_buffer(
        va_env: dict[str, str]) -> None:
    """A real underflow (the callback starved of the GIL for 150 ms): the next reply opens the
    fallback buffer and plays whole, without a gap."""
    result, rec = play_and_record(UNDERFLOW, va_env)
    stats = result["stats"]
    assert result["underflows"] >= 1
    assert result["small"] < 10.0 and result["block_ms"] == 10.0 and stats["reopens"] == 1
    onset = first_loud_index(rec.samples, rec.index_at(result["second"]) - rec.rate // 10)
    assert onset is not None and rec.time_of(onset) - result["second"] < 0.08
    tail = last_loud_index(rec.samples, onset, len(rec.samples))
    assert (tail - onset) / rec.rate == pytest.approx(1.0, abs=0.01)
    quiet = np.abs(rec.samples[onset:tail]) < 0.01
    assert not any(quiet[i:i + rec.rate // 500].all()
                   for i in range(0, len(quiet), rec.rate // 1000))  # no gap of 2 ms
    assert stats["underruns"] == 0 and stats["device_underflows"] == result["underflows"]


TAPPED = """
import asyncio, json, time
from tests.speechgen import tone
from voicecli.audio.opening import open_speaker

async def main() -> None:
    async with open_speaker(None) as sp:
        small = sp.block_ms
        tap = sp.enable_tap()  # echo handling: the stream runs on, on the bigger buffer
        played = time.monotonic()
        sp.play(tone(440, 300, rate=24000, dbfs=-10))
        sp.end_of_turn()
        await asyncio.sleep(1.0)
        taken, _ = tap.take()
        print(json.dumps({"small": small, "block_ms": sp.block_ms, "played": played,
                          "tapped_s": len(taken) / sp.rate,
                          "stats": vars(sp.stats)}))

asyncio.run(main())
"""


def test_a_tapped_speaker_runs_on_the_fallback_buffer(va_env: dict[str, str]) -> None:
    result, rec = play_and_record(TAPPED, va_env)
    assert result["small"] < 10.0 and result["block_ms"] == 10.0
    assert result["stats"]["reopens"] == 1 and result["stats"]["idle_stops"] == 0
    assert result["tapped_s"] > 0.9  # the far end keeps coming while nothing plays
    onset = first_loud_index(rec.samples, rec.index_at(result["played"]) - rec.rate // 10)
    assert onset is not None
    tail = last_loud_index(rec.samples, onset, len(rec.samples))
    assert (tail - onset) / rec.rate == pytest.approx(0.3, abs=0.01)


RECORD_MIC = """
import asyncio, json, sys
from voicecli.audio.capture import Microphone

async def main(seconds: float, out: str) -> None:
    async with Microphone(chunk_ms=20, silence_timeout_s=None) as mic:
        await mic.read_chunk()
        print("READY", flush=True)
        chunks = [await mic.read_chunk() for _ in range(int(seconds * 50))]
    open(out, "wb").write(b"".join(chunks))
    print(json.dumps({"rate": mic.rate, "stats": vars(mic.stats),
                      "sizes": sorted({len(c) for c in chunks})}), flush=True)

asyncio.run(main(float(sys.argv[1]), sys.argv[2]))
"""


def start_python(code: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.kill()
        raise AssertionError(f"not ready: {line!r} {proc.communicate()[1][-2000:]}")
    return proc


def test_microphone_captures_a_tone_and_speech(va_env: dict[str, str], tmp_path: Path) -> None:
    speech = speech_pcm16("what is the weather like in london today")
    fed = tone(1000, 600, dbfs=-12) + silence(400) + speech
    proc = start_python(RECORD_MIC, va_env, str(2.0 + len(fed) / 32000), str(tmp_path / "m"))
    assert feed_mic(fed, va_env, latency_ms=250).wait(30) == 0
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    info = json.loads(out)
    assert info["sizes"] == [640] and info["stats"]["overflows"] == 0
    got = np.frombuffer((tmp_path / "m").read_bytes(), "<i2").astype(np.float64) / 32768
    start = first_loud_index(got, threshold=0.01)
    assert start is not None, "the microphone heard nothing"
    assert dominant_hz(got[start + 800:start + 8800], 16000) == pytest.approx(1000, abs=3)
    ref = np.frombuffer(speech, "<i2").astype(np.float64) / 32768
    at = start + 16000 - 2000  # the speech starts 1 s after the tone
    corr = np.correlate(got[at:at + len(ref) + 4000], ref, mode="valid")
    best = int(np.argmax(corr))
    seg = got[at + best:at + best + len(ref)]
    assert corr[best] / np.sqrt(np.dot(seg, seg) * np.dot(ref, ref)) > 0.99


SILENT_MIC = """
import asyncio
from voicecli.audio.capture import Microphone
from voicecli.errors import AudioDeviceError

async def main() -> None:
    async with Microphone(silence_timeout_s=1.0) as mic:
        try:
            for _ in range(200):
                await mic.read_chunk()
                mic.raise_if_failed()
        except AudioDeviceError as e:
            print(f"{mic.stats.silent_s:.2f}", e)

asyncio.run(main())
"""


def test_a_mic_that_gives_only_zeros_is_reported(va_env: dict[str, str]) -> None:
    out = run_python(SILENT_MIC, va_env)  # nothing plays into vmic: it gives digital silence
    assert out.startswith("1.00 the microphone (default) has delivered only digital silence")


LOSE_DEVICES = """
import asyncio, time
from voicecli.audio.capture import Microphone
from voicecli.audio.playback import Speaker
from voicecli.errors import AudioDeviceError

async def main() -> None:
    async with Microphone() as mic, Speaker() as sp:
        await mic.read_chunk()
        print("READY", flush=True)
        try:
            while True:
                await mic.read_chunk()
        except AudioDeviceError as e:
            print("mic:", e, flush=True)
        await asyncio.sleep(0.2)
        try:
            sp.raise_if_failed()
        except AudioDeviceError as e:
            print("speaker:", e, flush=True)

asyncio.run(main())
"""


def test_losing_the_sound_server_is_a_device_error() -> None:
    with private_daemon() as env:
        proc = start_python(LOSE_DEVICES, env)
        stop_daemon(env)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err[-2000:]
    assert "mic: the microphone (default) stopped:" in out
    assert "speaker: the speaker (default) stopped:" in out


def test_an_unknown_device_is_one_clear_error(va_env: dict[str, str]) -> None:
    code = ("from voicecli.audio.capture import Microphone\n"
            "from voicecli.errors import AudioDeviceError\n"
            "try:\n    Microphone('no such mic').open()\n"
            "except AudioDeviceError as e:\n    print(e)\n")
    assert run_python(code, va_env).startswith("no audio device matches 'no such mic'")
