"""Test audio for the whole project: real espeak-ng speech, silence, tones and WAV files.

Speech comes from :class:`voicecli.speech.tts.Synthesizer`, so no Debian espeak or sox is needed.
espeak carries state (a pitch-flutter phase, ...) from one utterance to the next, so the same text
sounds slightly different depending on what the process said before — enough to change what
pocketsphinx hears. :func:`speech_pcm16` therefore renders each phrase in a fresh subprocess
(~0.3 s, once per phrase per test process): the audio is then identical in every run and order.
The defaults (voice ``en-us+f2`` at 150 words per minute) are what pocketsphinx recognises best:
"what is the weather like in london today" comes back word-perfect.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from voicecli.audio.pcm import resample
from voicecli.speech.tts import RATE as TTS_RATE

ASR_VOICE = "en-us+f2"
ASR_WPM = 150


@functools.lru_cache(maxsize=64)
def speech_pcm16(text: str, rate: int = 16000, voice: str | None = None,
                 words_per_minute: int = ASR_WPM) -> bytes:
    """``text`` spoken by espeak as PCM16 mono at ``rate`` (default voice: :data:`ASR_VOICE`).

    Reproducible: rendered by a fresh process, so earlier synthesis cannot colour it.
    """
    pcm = _fresh_synthesis(text, voice or ASR_VOICE, words_per_minute)
    if rate == TTS_RATE:
        return pcm
    return resample(np.frombuffer(pcm, dtype=np.int16), TTS_RATE, rate).tobytes()


_CHILD = (
    "import sys\n"
    "from voicecli.speech.tts import Synthesizer\n"
    "voice, wpm, text = sys.argv[1:]\n"
    "sys.stdout.buffer.write(Synthesizer(voice, int(wpm)).synthesize_bytes(text))\n"
)
_ROOT = Path(__file__).resolve().parents[1]


def _fresh_synthesis(text: str, voice: str, words_per_minute: int) -> bytes:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT),
                                                                     os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _CHILD, voice, str(words_per_minute), text],
                          capture_output=True, env=env, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"speech synthesis failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def silence(ms: float, rate: int = 16000) -> bytes:
    """``ms`` milliseconds of digital silence."""
    return bytes(2 * round(rate * ms / 1000))


def tone(freq: float, ms: float, rate: int = 16000, dbfs: float = -20.0) -> bytes:
    """A sine at ``freq`` Hz whose RMS level is ``dbfs`` (peak = RMS + 3 dB)."""
    n = round(rate * ms / 1000)
    amplitude = 32768.0 * math.sqrt(2) * 10 ** (dbfs / 20)
    wave = amplitude * np.sin(2 * np.pi * freq * np.arange(n) / rate)
    return np.clip(np.rint(wave), -32768, 32767).astype(np.int16).tobytes()


def write_wav(path: str | os.PathLike[str], pcm: bytes, rate: int = 16000,
              subtype: str = "PCM_16", channels: int = 1, format: str | None = None) -> None:
    """Write PCM16 mono ``pcm`` with soundfile as ``subtype`` (``PCM_U8``, ``PCM_24``, ``FLOAT``,
    ``VORBIS``, ...), duplicated to ``channels``; ``format`` defaults to the file extension.

    OGG is written in 1 s blocks (soundfile segfaults on long single Vorbis writes).
    """
    data = np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768.0
    frames = np.repeat(data[:, None], channels, axis=1)
    with sf.SoundFile(os.fspath(path), "w", rate, channels, subtype, format=format) as f:
        for start in range(0, len(frames), rate):
            f.write(frames[start : start + rate])
