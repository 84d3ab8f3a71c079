"""Minimal ctypes binding to libespeak-ng (see ../shared/components.md §4).

espeak-ng keeps process-global state, so everything goes through :data:`LOCK` and the library is
initialised once. The library and data come from ``espeakng_loader``; without it the system
``libespeak-ng.so.1`` (Debian ``libespeak-ng1``) is used with its own data.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path

from voicecli.errors import ConfigError

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE = 1
CHARS_UTF8 = 1
POS_CHARACTER = 1
EE_OK = 0
RAND_SEED = 1

# int callback(short *wav, int numsamples, espeak_EVENT *events); return 1 to abort
SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

LOCK = threading.RLock()


class Engine:
    """The initialised library (one per process, obtained via :func:`engine`)."""

    def __init__(self, lib: ctypes.CDLL, data_dir: str | None) -> None:
        self.lib = lib
        self.data_dir = data_dir
        _declare(lib)
        parent = os.path.dirname(data_dir).encode() if data_dir else None
        self.sample_rate: int = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, parent, 0)
        if self.sample_rate <= 0:
            raise ConfigError("espeak-ng failed to initialise (voice data not found)")
        self._callback: Callable[[int, int], bool] | None = None
        self._set_seed = getattr(lib, "espeak_ng_SetRandSeed", None)  # espeak-ng >= 1.52
        if self._set_seed is not None:
            self._set_seed.argtypes = [ctypes.c_long]
            self._set_seed.restype = None
        # keep the C callback object referenced for the life of the process (no GC crash)
        self._c_callback = SynthCallback(self._on_audio)
        lib.espeak_SetSynthCallback(self._c_callback)

    def _on_audio(self, wav: ctypes._Pointer, numsamples: int, _events: int) -> int:
        if self._callback is None or not wav or numsamples <= 0:
            return 0
        addr = ctypes.cast(wav, ctypes.c_void_p).value or 0
        return 1 if self._callback(addr, numsamples) else 0

    def set_voice(self, name: str) -> bool:
        """Select a voice such as ``"en-us+f3"``; False if espeak does not know it."""
        return self.lib.espeak_SetVoiceByName(name.encode()) == EE_OK

    def synth(self, text: str, rate_wpm: int, on_audio: Callable[[int, int], bool]) -> None:
        """Synthesize ``text``; ``on_audio(address, numsamples)`` returns True to abort.

        Caller must hold :data:`LOCK`.
        """
        self.lib.espeak_SetParameter(ESPEAK_RATE, rate_wpm, 0)
        if self._set_seed is not None:  # less randomness; pitch flutter still carries over
            self._set_seed(RAND_SEED)
        data = text.encode("utf-8") + b"\0"
        self._callback = on_audio
        try:
            self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
        finally:
            self._callback = None


def _declare(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int


_engine: Engine | None = None


def engine() -> Engine:
    """The process-wide engine, initialised on first use (under :data:`LOCK`)."""
    global _engine
    with LOCK:
        if _engine is None:
            _engine = Engine(*_locate())
        return _engine


def _locate() -> tuple[ctypes.CDLL, str | None]:
    try:
        import espeakng_loader
    except ImportError:
        espeakng_loader = None
    if espeakng_loader is not None:
        return ctypes.CDLL(espeakng_loader.get_library_path()), espeakng_loader.get_data_path()
    try:
        return ctypes.CDLL("libespeak-ng.so.1"), None
    except OSError:
        raise ConfigError(
            "no espeak-ng library: `pip install espeakng-loader` (or apt install libespeak-ng1)"
        ) from None


def data_dir() -> Path | None:
    """Folder holding espeak's ``lang/`` voice files, if known."""
    d = engine().data_dir
    if d:
        return Path(d)
    candidates = [*Path("/usr/lib").glob("*/espeak-ng-data"), Path("/usr/share/espeak-ng-data")]
    return next((p for p in candidates if (p / "lang").is_dir()), None)
