"""Offline streaming speech recognition with pocketsphinx and its bundled en-US model.

Demo quality (about 60 % word error rate on synthetic speech, ../shared/components.md §3), but
fully offline. Loading a decoder takes ~0.5 s, so decoders are pooled per process: a Recognizer
borrows one on creation (its cepstral-mean adaptation reset to :data:`CMN_INIT`, so results do
not depend on what the decoder heard before) and gives it back on :meth:`Recognizer.close`.
Within one Recognizer the adaptation carries over between utterances, as it should for one
speaker.
"""

from __future__ import annotations

import functools
import threading

import pocketsphinx

from voicecli.errors import ConfigError

RATE = 16000
# Initial cepstral mean (live CMN then adapts). pocketsphinx's default "40,3,-1" is a generic
# microphone; this one was measured after four espeak utterances at -20 dBFS, and raised keyword
# hits on fresh decoders from 22/40 to 30/40 on the local engine's synthetic speech.
CMN_INIT = "55.49,2.10,-1.66,17.88,-8.73,4.16,-4.63,-13.27,-5.74,-8.82,11.86,-6.99,0.37"
_POOL_MAX = 4
_pool: list[pocketsphinx.Decoder] = []
_pool_lock = threading.Lock()


def supports_language(code: str | None) -> bool:
    """True for English (``None``, ``en``, ``en-US``, ``en-GB``, ...); only English ships."""
    return code is None or code.strip().lower().replace("_", "-").split("-")[0] in ("", "en")


@functools.cache
def _config_json() -> str:
    pocketsphinx.set_loglevel("FATAL")
    config = pocketsphinx.Config(loglevel="FATAL", samprate=RATE, cmninit=CMN_INIT)
    return config.dumps()


def _acquire() -> pocketsphinx.Decoder:
    """A decoder from the pool (or a new one) with its cepstral mean reset to :data:`CMN_INIT`."""
    with _pool_lock:
        decoder = _pool.pop() if _pool else None
    if decoder is None:
        decoder = pocketsphinx.Decoder(pocketsphinx.Config.parse_json(_config_json()))
    # live CMN adapts to the audio it hears; a new stream must not inherit the last one's
    decoder.set_cmn(CMN_INIT)
    return decoder


def _release(decoder: pocketsphinx.Decoder) -> None:
    with _pool_lock:
        if len(_pool) < _POOL_MAX:
            _pool.append(decoder)


class Recognizer:
    """One streaming recognizer: ``start()``, ``feed()`` 16 kHz PCM16, ``finish()``.

    Not thread-safe: use one Recognizer per stream (they are cheap once the first decoder is
    loaded). ``feed`` starts an utterance automatically if needed.

    Raises:
        ConfigError: ``language`` is not English (check :func:`supports_language` first).
    """

    def __init__(self, language: str | None = None) -> None:
        if not supports_language(language):
            raise ConfigError(
                f"offline speech recognition only supports English, not {language!r}"
            )
        self.language = language or "en-US"
        self._decoder: pocketsphinx.Decoder | None = _acquire()
        self._in_utt = False
        self._carry = b""

    def start(self) -> None:
        """Begin a new utterance (ends any open one, discarding its result)."""
        dec = self._dec()
        if self._in_utt:
            dec.end_utt()
        dec.start_utt()
        self._in_utt, self._carry = True, b""

    def feed(self, pcm16_16k: bytes) -> str:
        """Add audio; returns the current partial hypothesis (lowercase, may be "")."""
        if not self._in_utt:
            self.start()
        data = self._carry + bytes(pcm16_16k)
        cut = len(data) - len(data) % 2
        data, self._carry = data[:cut], data[cut:]
        dec = self._dec()
        if data:
            dec.process_raw(data, False, False)
        return _text(dec.hyp())

    def finish(self) -> str:
        """End the utterance; returns its final text (lowercase words, "" if nothing heard)."""
        if not self._in_utt:
            return ""
        dec = self._dec()
        dec.end_utt()
        self._in_utt = False
        return _text(dec.hyp())

    def transcribe(self, pcm16_16k: bytes) -> str:
        """Recognise one complete utterance."""
        self.start()
        self.feed(pcm16_16k)
        return self.finish()

    def close(self) -> None:
        """Return the decoder to the process pool (idempotent)."""
        if self._decoder is not None:
            decoder, self._decoder = self._decoder, None
            if self._in_utt:
                decoder.end_utt()
                self._in_utt = False
            _release(decoder)

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _dec(self) -> pocketsphinx.Decoder:
        if self._decoder is None:
            raise ValueError("Recognizer is closed")
        return self._decoder


def _text(hyp: pocketsphinx.Hypothesis | None) -> str:
    if hyp is None:
        return ""
    words = [w for w in hyp.hypstr.lower().split() if not w.startswith(("<", "["))]
    return " ".join(words)
