"""Offline streaming speech recognition with pocketsphinx and its bundled en-US model.

Demo quality (about 60 % word error rate on synthetic speech, ../shared/components.md §3), but
fully offline. A decoder holds ~95 MB and takes ~0.5 s to load, so decoders are pooled per
process and lent per *utterance*: a Recognizer borrows one at :meth:`Recognizer.start` and gives
it back at :meth:`Recognizer.finish`, so memory follows the utterances decoded at once, not the
sessions open (64 open sessions that each sent some audio held 64 decoders, 2.4 GB). Each
Recognizer keeps its own cepstral-mean adaptation (starting at :data:`CMN_INIT`) and sets it on
the decoder it borrows, so results never depend on what a decoder heard for someone else, and
the adaptation carries over between one speaker's utterances. Opening a Recognizer makes sure
the pool has a decoder ready for it (up to :data:`_POOL_MAX`), so the first utterance does not
wait for a load. Decoders no open Recognizer needs are freed and their memory returned to the
OS: after a burst of sessions a process keeps one idle decoder.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

import pocketsphinx

from voicecli.errors import ConfigError
from voicecli.speech.native import release_free_memory

RATE = 16000
# Initial cepstral mean (live CMN then adapts). pocketsphinx's default "40,3,-1" is a generic
# microphone; this one was measured after four espeak utterances at -20 dBFS, and raised keyword
# hits on fresh decoders from 22/40 to 30/40 on the local engine's synthetic speech.
CMN_INIT = "55.49,2.10,-1.66,17.88,-8.73,4.16,-4.63,-13.27,-5.74,-8.82,11.86,-6.99,0.37"
_POOL_MAX = 4  # idle decoders kept per process (~95 MB each)
_pool_lock = threading.Lock()


def supports_language(code: str | None) -> bool:
    """True for English (``None``, ``en``, ``en-US``, ``en-GB``, ...); only English ships."""
    return code is None or code.strip().lower().replace("_", "-").split("-")[0] in ("", "en")


@functools.cache
def _config_json() -> str:
    pocketsphinx.set_loglevel("FATAL")
    config = pocketsphinx.Config(loglevel="FATAL", samprate=RATE, cmninit=CMN_INIT)
    return config.dumps()


@dataclass
class _Pool:
    idle: list[pocketsphinx.Decoder] = field(default_factory=list)
    made: int = 0  # decoders alive (idle, lent, or being loaded)
    lent: int = 0
    recognizers: int = 0  # open Recognizers in this process


_pool = _Pool()


def _load() -> pocketsphinx.Decoder:
    return pocketsphinx.Decoder(pocketsphinx.Config.parse_json(_config_json()))


def _acquire(cmn: str) -> pocketsphinx.Decoder:
    """A decoder from the pool (or a new one) with its cepstral mean set to `cmn`."""
    with _pool_lock:
        decoder = _pool.idle.pop() if _pool.idle else None
        _pool.lent += 1
        if decoder is None:
            _pool.made += 1
    if decoder is None:
        decoder = _load()
    # live CMN adapts to the audio it hears; a stream must not inherit another one's
    decoder.set_cmn(cmn)
    return decoder


def _spare() -> int:
    """Idle decoders worth keeping (lock held): one per open Recognizer not decoding now, at
    least one (the next session's), at most :data:`_POOL_MAX` in all."""
    return max(1, min(_pool.recognizers, _POOL_MAX)) - _pool.lent


def _release(decoder: pocketsphinx.Decoder) -> None:
    with _pool_lock:
        _pool.lent -= 1
        kept = len(_pool.idle) < _spare()
        if kept:
            _pool.idle.append(decoder)
        else:
            _pool.made -= 1
    if not kept:
        del decoder
        release_free_memory()


def _opened() -> None:
    """One more open Recognizer: load a decoder ahead for it, while the pool is short."""
    with _pool_lock:
        _pool.recognizers += 1
        short = _pool.made < min(_pool.recognizers, _POOL_MAX)
        if short:
            _pool.made += 1
    if short:
        decoder = _load()
        with _pool_lock:
            _pool.idle.append(decoder)


def _closed() -> None:
    """One Recognizer fewer: free the decoders nobody needs now (after a burst of sessions the
    process goes back to one idle decoder, and its memory to the OS)."""
    with _pool_lock:
        _pool.recognizers -= 1
        extra = [_pool.idle.pop() for _ in range(len(_pool.idle) - max(0, _spare()))]
        _pool.made -= len(extra)
    if extra:
        del extra
        release_free_memory()


def pool_counts() -> dict[str, int]:
    """Decoders of this process: idle, lent (decoding an utterance), and open Recognizers."""
    with _pool_lock:
        return {"idle": len(_pool.idle), "lent": _pool.lent, "recognizers": _pool.recognizers}


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
        self._decoder: pocketsphinx.Decoder | None = None  # borrowed for one utterance
        self._cmn = CMN_INIT  # this speaker's adaptation, kept between utterances
        self._closed = False
        self._in_utt = False
        self._carry = b""
        _opened()

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
        text = _text(dec.hyp())
        self._give_back()
        return text

    def transcribe(self, pcm16_16k: bytes) -> str:
        """Recognise one complete utterance."""
        self.start()
        self.feed(pcm16_16k)
        return self.finish()

    def close(self) -> None:
        """Give back any borrowed decoder (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._decoder is not None and self._in_utt:
            self._decoder.end_utt()
        self._in_utt = False
        self._give_back()
        _closed()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _dec(self) -> pocketsphinx.Decoder:
        if self._closed:
            raise ValueError("Recognizer is closed")
        if self._decoder is None:
            self._decoder = _acquire(self._cmn)
        return self._decoder

    def _give_back(self) -> None:
        if self._decoder is not None:
            decoder, self._decoder = self._decoder, None
            self._cmn = decoder.get_cmn()
            _release(decoder)


def _text(hyp: pocketsphinx.Hypothesis | None) -> str:
    if hyp is None:
        return ""
    words = [w for w in hyp.hypstr.lower().split() if not w.startswith(("<", "["))]
    return " ".join(words)
