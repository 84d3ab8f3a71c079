"""voicecli.audio.pcm: decoding a corpus of real files, resampling accuracy, crash-safe WAV."""

from __future__ import annotations

import io
import math
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.speechgen import silence, tone, write_wav
from voicecli.audio.pcm import (
    IN_RATE,
    OUT_RATE,
    StreamResampler,
    WavWriter,
    duration_ms,
    load_audio,
    resample,
    rms_dbfs,
    write_wav_atomic,
)
from voicecli.errors import InputFileError

REPO = Path(__file__).resolve().parents[2]


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amp * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def snr_db(got: np.ndarray, freq: float, rate: int, trim: int) -> float:
    """SNR of ``got`` against the best-fitting sine at ``freq`` (edges trimmed)."""
    x = got[trim:-trim].astype(np.float64)
    t = (np.arange(len(got)) / rate)[trim:-trim]
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    residual = x - basis @ coef
    return 10 * math.log10(np.sum((basis @ coef) ** 2) / np.sum(residual**2))


# -- resampling ------------------------------------------------------------------------------


@pytest.mark.parametrize(("src", "dst"), [(48000, 16000), (16000, 24000), (22050, 24000)])
def test_resample_sine_is_clean_and_right_length(src: int, dst: int) -> None:
    out = resample(sine(1000, src, 1.0), src, dst)
    assert out.dtype == np.int16
    assert abs(len(out) - dst) <= 1
    assert snr_db(out, 1000, dst, trim=dst // 50) > 60


def test_resample_identity_returns_copy() -> None:
    x = sine(440, 16000, 0.1)
    y = resample(x, 16000, 16000)
    assert np.array_equal(x, y) and y is not x


@pytest.mark.parametrize(("src", "dst"), [(48000, 16000), (16000, 24000), (22050, 24000)])
def test_stream_resampler_matches_one_shot(src: int, dst: int) -> None:
    x = sine(1000, src, 1.0)
    raw = x.tobytes()
    rs = StreamResampler(src, dst)
    sizes = [2 * src // 50, 7, 333, 2 * src // 100]  # 20 ms, odd sizes, 10 ms
    out, pos, i = bytearray(), 0, 0
    while pos < len(raw):
        n = sizes[i % len(sizes)]
        out += rs.process(raw[pos : pos + n])
        pos, i = pos + n, i + 1
    out += rs.process(b"", last=True)
    streamed = np.frombuffer(bytes(out), dtype=np.int16)
    batch = resample(x, src, dst)
    assert abs(len(streamed) - len(batch)) <= 2
    n = min(len(streamed), len(batch))
    assert np.max(np.abs(streamed[:n].astype(int) - batch[:n])) <= 2


def test_stream_resampler_identity_and_reuse() -> None:
    rs = StreamResampler(16000, 16000)
    assert rs.process(b"\x01\x02\x03") == b"\x01\x02"
    assert rs.process(b"\x04", last=True) == b"\x03\x04"
    rs = StreamResampler(16000, 24000)
    first = rs.process(sine(500, 16000, 0.2).tobytes(), last=True)
    second = rs.process(sine(500, 16000, 0.2).tobytes(), last=True)
    assert first == second and len(first) == 2 * 4800


# -- measuring -------------------------------------------------------------------------------


def test_duration_and_level() -> None:
    assert duration_ms(32000, 16000) == 1000.0
    assert duration_ms(4800, 24000) == 100.0
    assert rms_dbfs(tone(440, 500, 16000, dbfs=-20)) == pytest.approx(-20, abs=0.1)
    assert rms_dbfs(silence(100)) == -math.inf
    assert rms_dbfs(b"") == -math.inf


# -- decoding a corpus -----------------------------------------------------------------------

CORPUS = [  # (file name, rate, subtype, channels, lossy)
    ("u8.wav", 16000, "PCM_U8", 1, False),
    ("s16.wav", 44100, "PCM_16", 1, False),
    ("s24.wav", 48000, "PCM_24", 1, False),
    ("s32.wav", 22050, "PCM_32", 1, False),
    ("f32.wav", 16000, "FLOAT", 1, False),
    ("f64.wav", 8000, "DOUBLE", 1, False),
    ("hi96k.wav", 96000, "PCM_16", 1, False),
    ("six.wav", 48000, "PCM_16", 6, False),
    ("stereo.flac", 44100, "PCM_16", 2, False),
    ("vorbis.ogg", 44100, "VORBIS", 1, True),
    ("opus.ogg", 48000, "OPUS", 1, True),
    ("mpeg.mp3", 44100, "MPEG_LAYER_III", 1, True),
]


@pytest.mark.parametrize(("name", "rate", "subtype", "channels", "lossy"), CORPUS)
def test_load_audio_corpus(tmp_path: Path, name: str, rate: int, subtype: str, channels: int,
                           lossy: bool) -> None:
    src = sine(440, rate, 1.5, amp=0.4)
    path = tmp_path / name
    write_wav(path, src.tobytes(), rate, subtype=subtype, channels=channels)
    out = load_audio(path)
    assert out.dtype == np.int16 and out.ndim == 1
    tolerance = 0.1 * IN_RATE if lossy else 2  # encoders add priming / padding
    assert abs(len(out) - 1.5 * IN_RATE) <= tolerance
    level = rms_dbfs(out[IN_RATE // 10 : IN_RATE].tobytes())
    assert level == pytest.approx(20 * math.log10(0.4 / math.sqrt(2)), abs=1.0)
    min_snr = 20 if lossy else (35 if subtype == "PCM_U8" else 60)
    assert snr_db(out[: IN_RATE], 440, IN_RATE, trim=IN_RATE // 10) > min_snr


def test_load_audio_downmixes_channels(tmp_path: Path) -> None:
    left, right = sine(440, 16000, 0.5), np.zeros(8000, dtype=np.int16)
    sf.write(tmp_path / "lr.wav", np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    out = load_audio(tmp_path / "lr.wav")
    assert np.max(np.abs(out.astype(int) - left.astype(int) // 2)) <= 1


def test_load_audio_16k_pcm16_is_bit_exact(tmp_path: Path) -> None:
    pcm = sine(300, 16000, 0.5).tobytes()
    write_wav(tmp_path / "a.wav", pcm, 16000)
    assert load_audio(tmp_path / "a.wav").tobytes() == pcm
    assert len(load_audio(str(tmp_path / "a.wav"), rate=24000)) == 12000


def test_load_audio_from_bytes_file_object_and_stdin(tmp_path: Path) -> None:
    pcm = sine(300, 16000, 0.5).tobytes()
    write_wav(tmp_path / "a.flac", pcm, 16000)
    data = (tmp_path / "a.flac").read_bytes()
    assert load_audio(data).tobytes() == pcm
    assert load_audio(io.BytesIO(data)).tobytes() == pcm
    code = "import sys; from voicecli.audio.pcm import load_audio; print(len(load_audio('-')))"
    done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == b"8000"


# -- bad input -------------------------------------------------------------------------------


def _bad(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"bad-{kind}.wav"
    good = io.BytesIO()
    sf.write(good, sine(440, 16000, 0.2), 16000, format="WAV", subtype="PCM_16")
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good.getvalue()[:30])
    elif kind == "text":
        path = tmp_path / "notes.txt"
        path.write_text("this is not audio\nline two\n")
    elif kind == "m4a":
        path = tmp_path / "voice.m4a"
        path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isommp42" + os.urandom(512))
    elif kind == "garbage":
        path = tmp_path / "noise.bin"
        path.write_bytes(bytes(range(1, 256)) * 8)
    elif kind == "zero-length":
        sf.write(path, np.zeros(0, dtype=np.int16), 16000, subtype="PCM_16")
    elif kind == "directory":
        path.mkdir()
    return path


@pytest.mark.parametrize(("kind", "phrase"), [
    ("empty", "empty"),
    ("truncated", "truncated or corrupt"),
    ("text", "text file"),
    ("m4a", "ffmpeg"),
    ("garbage", "unsupported"),
    ("zero-length", "no audio"),
    ("directory", "directory"),
    ("missing", "no such file"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, kind: str, phrase: str) -> None:
    path = _bad(tmp_path, kind)
    with pytest.raises(InputFileError) as err:
        load_audio(path)
    message = str(err.value)
    assert str(path) in message and phrase in message and "\n" not in message


def test_m4a_message_says_soundfile_cannot_read_it(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"soundfile cannot read.*WAV or FLAC"):
        load_audio(_bad(tmp_path, "m4a"))


def test_bad_bytes_and_stdin_names() -> None:
    with pytest.raises(InputFileError, match="<audio bytes>: looks like a text file"):
        load_audio(b"hello world")
    with pytest.raises(InputFileError, match="empty"):
        load_audio(io.BytesIO(b""))


def test_unreadable_file_is_reported() -> None:
    with tempfile.TemporaryDirectory() as folder:  # in /tmp: only the file's own mode matters
        Path(folder).chmod(0o755)
        _check_unreadable(Path(folder) / "secret.wav")


def _check_unreadable(path: Path) -> None:
    write_wav(path, silence(100), 16000)
    path.chmod(0)
    if not os.access(path, os.R_OK):  # a normal user: permissions apply to this process
        with pytest.raises(InputFileError, match="permission denied"):
            load_audio(path)
        return
    assert os.geteuid() == 0, "a mode-000 file is readable, yet we are not root"
    assert _load_as_nobody(path) == f"{path}: permission denied (cannot read the file)"


def _load_as_nobody(path: Path) -> str:
    """Root ignores file modes: fork, drop to uid 65534 and report load_audio's error."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            try:
                load_audio(path)
                message = "no error"
            except InputFileError as e:
                message = str(e)
            os.write(write_end, message.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return message


# -- writing ---------------------------------------------------------------------------------

_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from voicecli.audio.pcm import WavWriter
    rng = np.random.default_rng(7)
    pcm = rng.integers(-20000, 20000, 16000, dtype=np.int16).tobytes()
    w = WavWriter(sys.argv[1], 16000)
    for i in range(0, len(pcm), 640):
        w.write(pcm[i:i + 640])
    print(w.frames_written, flush=True)
    time.sleep(60)
""")


def test_wav_writer_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "killed.wav"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)], cwd=REPO,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"16000"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    expected = np.random.default_rng(7).integers(-20000, 20000, 16000, dtype=np.int16)
    data, rate = sf.read(path, dtype="int16")
    assert rate == 16000 and np.array_equal(data, expected)
    with wave.open(str(path)) as w:  # the stdlib parser agrees on the header sizes
        assert w.getnframes() == 16000


def test_wav_writer_context_partial_frames_and_stereo(tmp_path: Path) -> None:
    pcm = sine(440, 24000, 0.3).tobytes()
    with WavWriter(tmp_path / "a.wav", OUT_RATE) as w:
        w.write(pcm[:3])
        w.write(pcm[3:])
        assert w.frames_written == len(pcm) // 2
    assert load_audio(tmp_path / "a.wav", rate=OUT_RATE).tobytes() == pcm
    with WavWriter(tmp_path / "st.wav", 16000, channels=2) as w:
        w.write(b"\x01\x00\x02\x00" * 10)
        assert w.frames_written == 10
    data, _ = sf.read(tmp_path / "st.wav", dtype="int16")
    assert data.shape == (10, 2) and data[0].tolist() == [1, 2]


def test_write_wav_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    target.write_bytes(b"old")
    pcm = sine(440, 16000, 0.25).tobytes()
    write_wav_atomic(target, pcm, 16000)
    assert load_audio(target).tobytes() == pcm
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_a_wav_cut_short_in_its_data_is_refused(tmp_path) -> None:
    from voicecli.audio.pcm import write_wav_atomic

    path = tmp_path / "whole.wav"
    write_wav_atomic(path, bytes(32000), 16000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[:-10000])
    with pytest.raises(InputFileError, match="truncated WAV: its header promises 32000 bytes"):
        load_audio(str(cut))
    assert load_audio(str(path)).size == 16000  # the whole file is fine


def test_decoder_errors_do_not_show_python_object_names() -> None:
    broken = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 16
    with pytest.raises(InputFileError) as info:
        load_audio(broken)
    assert "object at 0x" not in str(info.value)
