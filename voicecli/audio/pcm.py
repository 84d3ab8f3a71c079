"""PCM helpers: decode any audio file to int16 mono, resample, and write crash-safe WAV files.

Everything here works on 16-bit little-endian PCM ("PCM16"), the format of the Live API
(16 kHz in, 24 kHz out). Decoding uses soundfile (bundled libsndfile: WAV, FLAC, OGG Vorbis/Opus,
MP3); resampling uses soxr (HQ). See ../shared/components.md §1.
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from voicecli.errors import InputFileError, UsageError

IN_RATE = 16000
OUT_RATE = 24000

AudioSource = str | os.PathLike[str] | bytes | bytearray | BinaryIO

_CONVERT_HINT = "convert it to WAV or FLAC first, e.g. `ffmpeg -i {name} out.wav`"


# ---------------------------------------------------------------------------------------------
# decoding


def load_audio(source: AudioSource, rate: int = IN_RATE) -> np.ndarray:
    """Decode an audio file to int16 mono samples at ``rate``.

    ``source`` is a path (``"-"`` = standard input), raw file bytes, or a binary file object.
    Any PCM width, float WAV, FLAC, OGG Vorbis/Opus and MP3 are read; channels are averaged;
    the rate is converted with soxr HQ.

    Raises:
        InputFileError: one line naming the file: missing, a directory, unreadable, empty,
            truncated or corrupt, text, no audio in it, or a format soundfile cannot read.
    """
    if rate <= 0:
        raise UsageError(f"sample rate must be positive, got {rate}")
    name, data = _read_source(source)
    samples, file_rate = _decode(name, data)
    if samples.size == 0:
        raise InputFileError(f"{name}: contains no audio (0 samples)")
    if file_rate != rate:
        samples = soxr.resample(samples, file_rate, rate, quality="HQ")
    return _float_to_int16(samples)


def _read_source(source: AudioSource) -> tuple[str, bytes]:
    """Return (display name, whole file bytes), mapping every OS problem to InputFileError."""
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "<audio bytes>"
    elif isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        data = sys.stdin.buffer.read() if name == "-" else _read_path(name)
        name = "<stdin>" if name == "-" else name
    else:
        name = str(getattr(source, "name", "<audio stream>"))
        try:
            data = source.read()
        except OSError as e:
            raise InputFileError(f"{name}: cannot read ({e.strerror or e})") from None
    if not data:
        raise InputFileError(f"{name}: file is empty (0 bytes)")
    return name, data


def _read_path(name: str) -> bytes:
    path = Path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{name}: is a directory, not an audio file") from None
    except PermissionError:
        raise InputFileError(f"{name}: permission denied (cannot read the file)") from None
    except OSError as e:
        raise InputFileError(f"{name}: cannot read ({e.strerror or e})") from None


def _decode(name: str, data: bytes) -> tuple[np.ndarray, int]:
    """Decode bytes to float32 mono; every decoder failure becomes one InputFileError line."""
    _check_wav_length(name, data)
    try:
        frames, file_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError, RuntimeError, TypeError, ...
        raise InputFileError(_decode_failure(name, data, e)) from None
    mono = frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]
    return np.ascontiguousarray(mono), int(file_rate)


def _check_wav_length(name: str, data: bytes) -> None:
    """A RIFF WAV whose data chunk promises more bytes than the file holds was cut short
    (a copy interrupted, a download stopped): say so, rather than read part of it silently.
    Sizes 0 and 0xFFFFFFFF mean "unknown" (a stream being written) and are accepted."""
    if not data.startswith(b"RIFF") or data[8:12] != b"WAVE":
        return
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"data":
            held = len(data) - pos - 8
            if size not in (0, 0xFFFFFFFF) and size > held:
                raise InputFileError(f"{name}: truncated WAV: its header promises {size} bytes "
                                     f"of audio, the file holds {held}")
            return
        pos += 8 + size + (size & 1)


def _decode_failure(name: str, data: bytes, exc: Exception) -> str:
    head = data[:64]
    if head[4:8] == b"ftyp":
        return (f"{name}: MP4/M4A (AAC) audio, which soundfile cannot read; "
                + _CONVERT_HINT.format(name=name))
    if head.startswith((b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3")):
        return f"{name}: truncated or corrupt audio file ({_short(exc)})"
    if _looks_like_text(data[:4096]):
        return f"{name}: looks like a text file, not audio"
    return (f"{name}: unsupported or corrupt audio format (soundfile reads WAV, FLAC, OGG, MP3); "
            + _CONVERT_HINT.format(name=name))


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t\f" for c in text)


def _short(exc: Exception) -> str:
    text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>:?", "", str(exc))
    return " ".join(text.split())[:120] or type(exc).__name__


def _float_to_int16(samples: np.ndarray) -> np.ndarray:
    finite = np.nan_to_num(np.asarray(samples, dtype=np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    scaled = np.rint(finite * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------------------------------------
# resampling


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample int16 mono samples (soxr HQ); returns int16."""
    samples = np.asarray(samples, dtype=np.int16)
    if from_rate == to_rate:
        return samples.copy()
    return soxr.resample(samples, from_rate, to_rate, quality="HQ")


class StreamResampler:
    """Chunked PCM16 mono resampler whose output matches one-shot :func:`resample`.

    Keeps filter state across calls; pass ``last=True`` with the final chunk to drain the tail.
    After ``last=True`` the resampler is ready for a new stream.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._carry = b""  # an odd trailing byte waiting for its partner
        self._stream = self._new_stream()

    def _new_stream(self) -> soxr.ResampleStream | None:
        if self.from_rate == self.to_rate:
            return None
        return soxr.ResampleStream(self.from_rate, self.to_rate, 1, dtype="int16", quality="HQ")

    def process(self, pcm16: bytes, last: bool = False) -> bytes:
        """Resample one chunk of PCM16 bytes; returns whatever output is ready."""
        data = self._carry + bytes(pcm16)
        cut = len(data) - len(data) % 2
        data, self._carry = data[:cut], data[cut:]
        if self._stream is None:
            return data
        out = self._stream.resample_chunk(np.frombuffer(data, dtype=np.int16), last=last)
        if last:
            self._stream, self._carry = self._new_stream(), b""
        return out.tobytes()


# ---------------------------------------------------------------------------------------------
# writing


def _wav_header(rate: int, channels: int, data_bytes: int) -> bytes:
    block = 2 * channels
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
            + b"data" + struct.pack("<I", data_bytes))


class WavWriter:
    """A PCM16 WAV file whose header is valid after every :meth:`write`.

    Each write appends the samples, then patches the RIFF and data sizes in place (two 4-byte
    ``pwrite`` calls), with no user-space buffering. A process killed with SIGKILL therefore leaves
    a complete, playable file holding everything written so far.
    """

    _MAX_DATA = 0xFFFFFFFF - 36

    def __init__(self, path: str | os.PathLike[str], rate: int, channels: int = 1) -> None:
        if rate <= 0 or channels <= 0:
            raise UsageError(f"bad WAV format: rate={rate}, channels={channels}")
        self.path = os.fspath(path)
        self.rate = rate
        self.channels = channels
        self._data_bytes = 0
        self._carry = b""
        try:
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            raise UsageError(f"{self.path}: cannot write ({e.strerror or e})") from None
        _write_all(self._fd, _wav_header(rate, channels, 0))

    @property
    def frames_written(self) -> int:
        """Number of complete sample frames in the file."""
        return self._data_bytes // (2 * self.channels)

    def write(self, pcm16: bytes) -> None:
        """Append PCM16 bytes (a partial frame is held until completed) and patch the header."""
        if self._fd is None:
            raise ValueError("write to a closed WavWriter")
        data = self._carry + bytes(pcm16)
        block = 2 * self.channels
        cut = len(data) - len(data) % block
        data, self._carry = data[:cut], data[cut:]
        if not data:
            return
        if self._data_bytes + len(data) > self._MAX_DATA:
            raise UsageError(f"{self.path}: WAV files cannot exceed 4 GiB")
        _write_all(self._fd, data)
        self._data_bytes += len(data)
        os.pwrite(self._fd, struct.pack("<I", 36 + self._data_bytes), 4)
        os.pwrite(self._fd, struct.pack("<I", self._data_bytes), 40)

    def close(self) -> None:
        """Close the file (idempotent). A dangling partial frame is dropped."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_wav_atomic(path: str | os.PathLike[str], pcm16: bytes, rate: int) -> None:
    """Write a mono PCM16 WAV via a temp file in the same directory and ``os.replace``."""
    target = Path(path)
    data = bytes(pcm16)[: len(pcm16) - len(pcm16) % 2]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent if str(target.parent) else ".")
    except OSError as e:
        raise UsageError(f"{target}: cannot write ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_wav_header(rate, 1, len(data)) + data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{target}: cannot write ({e.strerror or e})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# measuring


def duration_ms(nbytes: int, rate: int) -> float:
    """Duration in milliseconds of ``nbytes`` of PCM16 mono at ``rate``."""
    return nbytes / 2 / rate * 1000.0


def rms_dbfs(pcm16: bytes) -> float:
    """RMS level of PCM16 bytes in dBFS (full-scale sine ≈ -3 dB); ``-inf`` for silence/empty."""
    samples = np.frombuffer(pcm16, dtype=np.int16, count=len(pcm16) // 2)
    if samples.size == 0:
        return -math.inf
    wide = samples.astype(np.float64)
    rms = math.sqrt(float(np.dot(wide, wide)) / samples.size) / 32768.0
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf
