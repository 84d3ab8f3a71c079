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


#: Decoded in blocks of this many input frames (~4 s at 48 kHz): memory is the output plus this.
DECODE_BLOCK_FRAMES = 1 << 18
#: Outputs larger than this live in an unlinked temporary file, not in RAM (transcribe of hours).
SPILL_BYTES = 64 << 20
_HEADER_BYTES = 1 << 20  # where a WAV's data chunk header is looked for


def load_audio(
    source: AudioSource, rate: int = IN_RATE, *, max_seconds: float | None = None,
    what: str = "this command",
) -> np.ndarray:
    """Decode an audio file to int16 mono samples at ``rate``.

    ``source`` is a path (``"-"`` = standard input), raw file bytes, or a binary file object.
    Any PCM width, float WAV, FLAC, OGG Vorbis/Opus and MP3 are read; channels are averaged;
    the rate is converted with soxr HQ. A file is decoded in blocks straight from disk (a 1 GiB
    WAV never sits in memory as bytes or floats); an output over `SPILL_BYTES` is a memory map
    of an unlinked temporary file. With `max_seconds`, a longer file is refused from its header,
    before any decoding (`what` names the command in the message).

    Raises:
        InputFileError: one line naming the file: missing, a directory, unreadable, empty,
            truncated or corrupt, text, no audio in it, too long, or a format soundfile cannot
            read.
    """
    if rate <= 0:
        raise UsageError(f"sample rate must be positive, got {rate}")
    name, opened, head, size = _open_source(source)
    _check_wav_length(name, head, size)
    try:
        with _sound_file(name, opened, head) as audio:
            frames, file_rate = audio.frames, int(audio.samplerate)
            if frames <= 0 or file_rate <= 0:
                raise InputFileError(f"{name}: contains no audio (0 samples)")
            _check_duration(name, frames / file_rate, max_seconds, what)
            return _decode_blocks(name, audio, frames, file_rate, rate)
    finally:
        if not isinstance(opened, io.BytesIO):
            opened.close()


def _open_source(source: AudioSource) -> tuple[str, BinaryIO, bytes, int]:
    """(display name, a seekable binary file, its first bytes, its size); every OS problem is
    one InputFileError. Paths are opened, not read; stdin and file objects are read whole."""
    if isinstance(source, str | os.PathLike) and os.fspath(source) != "-":
        name = os.fspath(source)
        opened = _open_path(name)
        size = os.fstat(opened.fileno()).st_size
        head = opened.read(_HEADER_BYTES)
        opened.seek(0)
    else:
        name, data = _read_source(source)
        opened, head, size = io.BytesIO(data), data[:_HEADER_BYTES], len(data)
    if size == 0:
        opened.close()
        raise InputFileError(f"{name}: file is empty (0 bytes)")
    return name, opened, head, size


def _open_path(name: str) -> BinaryIO:
    path = Path(name)
    try:
        if path.is_dir():
            raise IsADirectoryError
        return path.open("rb")
    except FileNotFoundError:
        raise InputFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{name}: is a directory, not an audio file") from None
    except PermissionError:
        raise InputFileError(f"{name}: permission denied (cannot read the file)") from None
    except OSError as e:
        raise InputFileError(f"{name}: cannot read ({e.strerror or e})") from None


def _read_source(source: AudioSource) -> tuple[str, bytes]:
    """Return (display name, whole file bytes), mapping every OS problem to InputFileError."""
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "<audio bytes>"
    elif isinstance(source, str | os.PathLike):
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        name = str(getattr(source, "name", "<audio stream>"))
        try:
            data = source.read()
        except OSError as e:
            raise InputFileError(f"{name}: cannot read ({e.strerror or e})") from None
    if not data:
        raise InputFileError(f"{name}: file is empty (0 bytes)")
    return name, data


def _sound_file(name: str, opened: BinaryIO, head: bytes) -> sf.SoundFile:
    try:
        return sf.SoundFile(opened)
    except Exception as e:  # soundfile raises LibsndfileError, RuntimeError, TypeError, ...
        raise InputFileError(_decode_failure(name, head, e)) from None


def _check_duration(name: str, seconds: float, max_seconds: float | None, what: str) -> None:
    if max_seconds is not None and seconds > max_seconds:
        raise InputFileError(f"{name}: {_clock(seconds)} of audio; {what} takes at most "
                             f"{_clock(max_seconds)}")


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _decode_blocks(name: str, audio: sf.SoundFile, frames: int, file_rate: int,
                   rate: int) -> np.ndarray:
    """Every block read, averaged to mono, resampled (one soxr stream, as one-shot HQ would)
    and converted to int16 into a preallocated output; peak memory is the output plus a block."""
    stream = (soxr.ResampleStream(file_rate, rate, 1, dtype="float32", quality="HQ")
              if file_rate != rate else None)
    out = _output_array(math.ceil(frames * rate / file_rate) + 16)
    filled = 0
    try:
        while True:
            block = audio.read(DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True)
            last = len(block) < DECODE_BLOCK_FRAMES
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            if stream is not None:
                mono = stream.resample_chunk(np.ascontiguousarray(mono), last=last)
            pcm = _float_to_int16(mono)
            out[filled : filled + len(pcm)] = pcm[: len(out) - filled]
            filled = min(len(out), filled + len(pcm))
            if last:
                break
    except InputFileError:
        raise
    except Exception as e:  # a corrupt block in the middle of the file
        raise InputFileError(f"{name}: truncated or corrupt audio file ({_short(e)})") from None
    if filled == 0:
        raise InputFileError(f"{name}: contains no audio (0 samples)")
    return out[:filled]


def _output_array(samples: int) -> np.ndarray:
    if samples * 2 <= SPILL_BYTES:
        return np.empty(samples, dtype=np.int16)
    with tempfile.TemporaryFile(prefix="voicecli-audio-") as backing:  # unlinked already
        backing.truncate(samples * 2)
        return np.memmap(backing, dtype=np.int16, mode="r+", shape=(samples,))


def _check_wav_length(name: str, data: bytes, size: int) -> None:
    """A RIFF WAV whose data chunk promises more bytes than the file holds was cut short
    (a copy interrupted, a download stopped): say so, rather than read part of it silently.
    Sizes 0 and 0xFFFFFFFF mean "unknown" (a stream being written) and are accepted.
    `data` is the head of the file, `size` its whole length."""
    if not data.startswith(b"RIFF") or data[8:12] != b"WAVE":
        return
    pos = 12
    while pos + 8 <= len(data):
        chunk, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"data":
            held = size - pos - 8
            if length not in (0, 0xFFFFFFFF) and length > held:
                raise InputFileError(f"{name}: truncated WAV: its header promises {length} "
                                     f"bytes of audio, the file holds {held}")
            return
        pos += 8 + length + (length & 1)


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

    def restart(self) -> None:
        """Empty the file again (a reply that is coming once more from its start)."""
        if self._fd is None:
            raise ValueError("restart of a closed WavWriter")
        os.ftruncate(self._fd, 44)
        os.lseek(self._fd, 44, os.SEEK_SET)
        self._data_bytes, self._carry = 0, b""
        os.pwrite(self._fd, struct.pack("<I", 36), 4)
        os.pwrite(self._fd, struct.pack("<I", 0), 40)

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
