"""The microphone and speaker of a conversation (talk, translate, doctor), opened with the
buffer sizes a live conversation needs. PortAudio loads only when one is opened.

    async with open_microphone(None) as mic, open_speaker(None) as speaker: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicecli.errors import UsageError
from voicecli.numbers import whole_number

if TYPE_CHECKING:
    from voicecli.audio.capture import Microphone
    from voicecli.audio.playback import Speaker

# The speaker's latency no longer decides barge-in: Speaker.flush() aborts the stream, which drops
# what the device holds at once (benchmarks/bench_bargein.py: silence within a few ms at any
# latency), and the stream stops itself between replies (Speaker idle_stop_s). What it decides is
# how soon the first reply audio is heard: a reply streamed at 1x plays without gaps only if it
# starts the device's lead (how far ahead of the DAC the stream pulls) after its first chunk, so
# the buffer is kept small. Measured on PulseAudio's ALSA plugin (outputBufferDacTime):
#   block 10 ms: lead 29.7 ms at any latency asked for (PortAudio rounds it up to 20 ms);
#   block 6.7 ms (160 frames at 24 kHz), latency 10 ms: lead 13.1 ms;  block 5 ms: 14.7 ms.
# A do-nothing callback costs ~1.3 % of a core at 10 ms blocks, ~2 % at 6.7, ~3 % at 5, and only
# while a reply plays (the stream idles between replies).
# On a loaded machine the small buffer can run dry (the callback or the sound server late: 0
# and 3 device underflows in two 10-minute soaks at --load 2, benchmarks/bench_bargein_soak.py);
# after the first, the Speaker reopens with SPEAKER_FALLBACK's 10 ms blocks and 20 ms buffer
# (lead 29.7 ms; no device underflow in the soaks run on it) as the next reply begins.
SPEAKER_LATENCY_S = 0.01
SPEAKER_BLOCK_MS = 20 / 3
SPEAKER_FALLBACK = (10.0, 0.02)  # (block_ms, latency)
MIC_LATENCY_S = 0.03
# PortAudio delivers the mic in MIC_BLOCK_MS blocks (16.7 callbacks a second, not one per 20 ms
# chunk): a third of the wake-ups of its thread, and a PortAudio input callback costs ~1 % of a
# core at 40 ms blocks, ~0.8 % at 64 (measured on PulseAudio's ALSA plugin). It adds at most one
# block to mic → wire, which stays under the cookbook sample's (1024-frame reads, 64 ms, on a
# thread): 59 vs 96 ms p50 (benchmarks/bench_vs_cookbook.py).
MIC_BLOCK_MS = 60
CHUNK_MS = 20  # talk's default chunk (voicecli.talk.options.TalkOptions.chunk_ms)
SILENT_MIC_FATAL_S = 30.0  # talk's default (TalkOptions.silent_mic_fatal_s)


def device_spec(spec: str | int | None) -> str | int | None:
    """A device as given (--input-device/--output-device): "3" is index 3, other text a name
    substring (voicecli.audio.devices.pick_device), None the system default."""
    if spec is None or isinstance(spec, int):
        return spec
    index = whole_number(spec)
    return spec if index is None else index


def latency_spec(value: str | float | None) -> float | str | None:
    """A device buffer as given (--latency): seconds (0.001–2), "low", "high" or None."""
    if value is None or value in ("low", "high"):
        return value
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"--latency must be seconds or low/high, not {value!r}") from None
    if not 0.001 <= seconds <= 2.0:
        raise UsageError("--latency must be between 0.001 and 2 seconds")
    return seconds


def open_microphone(device: str | int | None, *, chunk_ms: int = CHUNK_MS,
                    latency: float | str | None = None,
                    silence_timeout_s: float | None = SILENT_MIC_FATAL_S) -> Microphone:
    """The input device, one PortAudio callback per MIC_BLOCK_MS or per chunk, whichever is
    longer (an async context manager)."""
    from voicecli.audio.capture import Microphone

    return Microphone(device, chunk_ms=chunk_ms, latency=latency or MIC_LATENCY_S,
                      silence_timeout_s=silence_timeout_s, block_ms=max(chunk_ms, MIC_BLOCK_MS))


def open_speaker(device: str | int | None, *, latency: float | str | None = None) -> Speaker:
    """The output device (an async context manager)."""
    from voicecli.audio.playback import Speaker

    return Speaker(device, latency=latency or SPEAKER_LATENCY_S, block_ms=SPEAKER_BLOCK_MS,
                   fallback=None if latency else SPEAKER_FALLBACK)


__all__ = ["device_spec", "latency_spec", "open_microphone", "open_speaker"]
