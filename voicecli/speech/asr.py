"""Offline streaming speech recognition with pocketsphinx and its bundled en-US model.

Demo quality (about 60 % word error rate on synthetic speech, ../shared/components.md §3), but
fully offline. Loading a decoder takes ~0.5 s, so decoders are pooled per process: a Recognizer
borrows one on creation and gives it back on :meth:`Recognizer.close`.
"""

from __future__ import annotations

import functools
import threading

import pocketsphinx

from voicecli.errors import ConfigError

RATE = 16000
_POOL_MAX = 4
_pool: list[pocketsphinx.Decoder] = []
_pool_lock = threading.Lock()


def supports_language(code: str | None) -> bool:
    """True for English (``None``, ``en``, ``en-US``, ``en-GB``, ...); only English ships."""
    return code is None or code.strip().lower().replace("_", "-").split("-")[0] in ("", "en")


@functools.cache
def _config_json() -> str:
    pocketsphinx.set_loglevel("FATAL")
    config = pocketsphinx.Config(loglevel="FATAL", samprate=RATE)
    return config.dumps()


def _acquire() -> pocketsphinx.Decoder:
    with _pool_lock:
        if _pool:
            return _pool.pop()
    return pocketsphinx.Decoder(pocketsphinx.Config.parse_json(_config_json()))


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
            dec, self._decoder = self._decoder, None
            if self._in_utt:
                dec.end_utt()
                self._in_utt = False
            _release(dec)

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
