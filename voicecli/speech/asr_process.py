"""Speech recognition in a child process, so decoding never stalls the caller's threads.

pocketsphinx holds the GIL while it decodes: measured, ``transcribe()`` of a few seconds of
speech on a worker thread stalls the main thread for ~480 ms, and ``finish()`` ~350 ms on a
7.7 s utterance. An asyncio server cannot afford that (barge-in, audio pacing, other sessions),
so :data:`PROCESSES` shared worker processes per parent (one per core, at most two) hold the
:class:`~voicecli.speech.asr.Recognizer`\\ s; a :class:`RemoteRecognizer` lives in the one with
the fewest open recognizers and talks to it over a pipe: waiting on the pipe releases the GIL.
Models load once per process and are shared by every session in it.

Each process is a fresh interpreter (forking a process that runs asyncio and threads is unsafe)
started from the allow-listed environment every child of voicecli gets
(tools/environment.subprocess_env, plus `CHILD_VARS`): no API key or token reaches it. It
starts lazily, serves one request at a time, and exits when its pipe closes. If it
dies, the call that finds out raises :class:`ASRProcessError`, and so does the next call of
every other recognizer that lived in it (their audio is lost); later calls start a new process.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from voicecli.errors import ConfigError
from voicecli.numbers import whole_number
from voicecli.speech.asr import supports_language
from voicecli.tools.environment import subprocess_env

#: Beyond the base allow list: what the interpreter and the recognisers' libraries read.
CHILD_VARS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OMP_NUM_THREADS", "HF_HOME",
              "HF_HUB_OFFLINE", "HF_HUB_CACHE", "CT2_VERBOSE", "CT2_USE_EXPERIMENTAL_PACKED_GEMM")
_CHILD_MAIN = ("import sys\n"
               "from multiprocessing.connection import Connection\n"
               "from voicecli.speech.asr_process import _serve\n"
               "_serve(Connection(int(sys.argv[1])))\n")


class ASRProcessError(RuntimeError):
    """The recognition process died (or was restarted) during or since the last call."""


def _serve(conn: Connection) -> None:
    """The child: run requests ``(op, id, args)`` until the parent closes the pipe."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we end
    # (it closes the pipe), so the child must not die with a traceback on SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    recognizers: dict[int, Any] = {}
    while True:
        try:
            op, rid, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result: Any = None
            if op == "open":
                recognizers[rid] = open_recognizer(*args)
            elif op == "probe":
                open_recognizer(*args).close()
            elif op == "close":
                if (rec := recognizers.pop(rid, None)) is not None:
                    rec.close()
            elif op == "counts":
                result = {**_decoder_counts(), "open": len(recognizers)}
            else:
                result = getattr(recognizers[rid], op)(*args)
            conn.send((True, result))
        except Exception as exc:  # noqa: BLE001 - handed to the parent
            conn.send((False, (type(exc).__name__, str(exc))))


def _decoder_counts() -> dict[str, int]:
    from voicecli.speech import asr

    return asr.pool_counts()


def counts() -> list[dict[str, int]]:
    """Per started process: its open recognizers and pocketsphinx decoders (idle, lent)."""
    return [worker.call("counts", 0) for worker in _workers
            if worker is not None and not worker.dead]


def open_recognizer(language: str | None, engine: str = "whisper",
                    model: str | None = None) -> Any:
    """A recogniser of `engine`: "whisper" (its `model`, None = the bundled tiny.en) or
    "pocketsphinx"."""
    if engine == "whisper":
        from voicecli.speech.whisper import WhisperRecognizer

        return WhisperRecognizer(model, language)
    from voicecli.speech.asr import Recognizer

    return Recognizer(language)


_ERRORS: dict[str, type[Exception]] = {"ConfigError": ConfigError, "ValueError": ValueError}


class _Child:
    """The recognition process: a fresh interpreter serving the pipe end it was handed."""

    def __init__(self, conn: Connection) -> None:
        fd = conn.fileno()
        self._popen = subprocess.Popen(
            [sys.executable, "-c", _CHILD_MAIN, str(fd)], pass_fds=(fd,), env=child_env(),
            stdin=subprocess.DEVNULL, close_fds=True)
        self.pid = self._popen.pid

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def kill(self) -> None:
        self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


def child_env() -> dict[str, str]:
    """The allow list (issue 13 §6), never voicecli's own environment with its keys; the
    folder voicecli is imported from goes first on PYTHONPATH, installed or not."""
    env = subprocess_env(CHILD_VARS)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    return env


class _Worker:
    """One child process and the parent's end of its pipe."""

    def __init__(self) -> None:
        self._conn, child = multiprocessing.Pipe()
        self.process = _Child(child)
        child.close()  # so the parent sees EOF when the child dies
        self.lock = threading.Lock()
        self.dead = False

    def call(self, op: str, rid: int, args: tuple[Any, ...] = ()) -> Any:
        with self.lock:
            if self.dead:
                raise ASRProcessError("the speech recognition process has stopped")
            try:
                self._conn.send((op, rid, args))
                ok, value = self._conn.recv()
            except BaseException as exc:
                self.stop()  # out of step with the child (or it is gone): end it
                if isinstance(exc, (EOFError, OSError)):
                    raise ASRProcessError(
                        f"the speech recognition process died (exit code {self.process.exitcode})"
                    ) from exc
                raise
        if not ok:
            name, message = value
            raise _ERRORS.get(name, ASRProcessError)(message if name in _ERRORS else
                                                     f"{name}: {message}")
        return value

    def stop(self) -> None:
        """Close the pipe and end the child (call with :attr:`lock` held; idempotent)."""
        self.dead = True
        self._conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


def _process_count() -> int:
    """How many recognition processes: one per core, at most two (`VOICECLI_ASR_PROCESSES`)."""
    wanted = os.environ.get("VOICECLI_ASR_PROCESSES", "")
    count = whole_number(wanted)
    if count is not None and count > 0:
        return count
    return max(1, min(2, os.cpu_count() or 1))


PROCESSES = _process_count()
_workers: list[_Worker | None] = [None] * PROCESSES
_open_in: list[int] = [0] * PROCESSES  # open recognizers per process
_worker_lock = threading.Lock()
_ids = itertools.count(1)


def _current(slot: int = 0) -> _Worker:
    """The live worker of `slot`, started (or restarted after a death) on demand."""
    with _worker_lock:
        worker = _workers[slot]
        if worker is None or worker.dead or not worker.process.is_alive():
            if worker is not None:
                with worker.lock:
                    worker.stop()
            worker = _workers[slot] = _Worker()
        return worker


def _claim_slot() -> int:
    """The process with the fewest open recognizers: utterances that end together are
    finished in parallel (finish() takes ~110 ms of one core, benchmarks/bench_local_engine)."""
    with _worker_lock:
        slot = min(range(PROCESSES), key=_open_in.__getitem__)
        _open_in[slot] += 1
        return slot


def _release_slot(slot: int) -> None:
    with _worker_lock:
        _open_in[slot] -= 1


def warm_up(engine: str = "whisper", model: str | None = None) -> None:
    """Start the processes and load `engine`'s model into each (blocking, ~1 s the first
    time; models stay loaded for the life of the process)."""
    probe(engine, model)


def probe(engine: str, model: str | None = None) -> None:
    """Load `engine`'s model in every process now; raises ConfigError with one clear line."""
    workers = [_current(slot) for slot in range(PROCESSES)]  # they start in parallel
    for worker in workers:
        worker.call("probe", 0, (None, engine, model))


def process_id(slot: int = 0) -> int | None:
    """The pid of the worker in `slot`, or None before it has started."""
    worker = _workers[slot]
    return worker.process.pid if worker is not None else None


class RemoteRecognizer:
    """A :class:`~voicecli.speech.asr.Recognizer` that decodes in the shared child process.

    Same API; each call blocks its thread (not the GIL) until the child answers. Thread-safe:
    calls from several threads run one after another.

    Raises:
        ConfigError: ``language`` is not English (checked here, before the child is involved).
        ASRProcessError: from any call, once, when the child died since the last one.
    """

    def __init__(self, language: str | None = None, engine: str = "whisper",
                 model: str | None = None) -> None:
        if engine == "pocketsphinx" and not supports_language(language):
            raise ConfigError(
                f"offline speech recognition only supports English, not {language!r}"
            )
        self.language = language or "en-US"
        self._open_args = (language, engine, model)
        self._id = next(_ids)
        self._slot = _claim_slot()
        self._worker: _Worker | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._attach()

    def start(self) -> None:
        """Begin a new utterance (ends any open one, discarding its result)."""
        self._call("start")

    def feed(self, pcm16_16k: bytes) -> str:
        """Add audio; returns the current partial hypothesis (lowercase, may be "")."""
        return str(self._call("feed", bytes(pcm16_16k)))

    def finish(self) -> str:
        """End the utterance; returns its final text (lowercase words, "" if nothing heard)."""
        return str(self._call("finish"))

    def transcribe(self, pcm16_16k: bytes) -> str:
        """Recognise one complete utterance (one round trip)."""
        return str(self._call("transcribe", bytes(pcm16_16k)))

    def close(self) -> None:
        """Free the child's recognizer (idempotent; never raises if the child is gone)."""
        with self._lock:
            if not self._closed:
                _release_slot(self._slot)
            worker, self._worker, self._closed = self._worker, None, True
            if worker is not None and not worker.dead:
                try:
                    worker.call("close", self._id)
                except ASRProcessError:
                    pass

    def __enter__(self) -> RemoteRecognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def process_id(self) -> int | None:
        """The pid of the process this recognizer decodes in (None before its first call)."""
        return self._worker.process.pid if self._worker is not None else None

    def _attach(self) -> _Worker:
        worker = _current(self._slot)
        if self._worker is not worker:
            if self._worker is not None:  # the process it lived in died since the last call
                self._worker = None
                raise ASRProcessError("the speech recognition process was restarted; "
                                      "the audio of this recognizer was lost")
            worker.call("open", self._id, self._open_args)
            self._worker = worker
        return worker

    def _call(self, op: str, *args: Any) -> Any:
        with self._lock:
            if self._closed:
                raise ValueError("Recognizer is closed")
            worker = self._attach()
            try:
                return worker.call(op, self._id, args)
            except ASRProcessError:
                if worker.dead:
                    self._worker = None  # the next call opens a new recognizer in a new process
                raise
