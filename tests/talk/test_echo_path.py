"""voicecli.audio.echo_path: the speaker tap and the mic wired into the canceller as `talk` does.

The tap is a real SpeakerTap at a 48 kHz device rate, written block by block as the output
callback writes it; the mic gets simulated laptop echo (tests/audio/echo_sim.py) of what the tap
says was played. The timestamps carry none of the echo delay, as with real devices.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.audio import echo_sim as es
from voicecli.audio.echo import aec_available, resolve_mode
from voicecli.audio.echo_path import EchoPath, looks_like_headset
from voicecli.audio.pcm import resample
from voicecli.audio.timeline import SpeakerTap
from voicecli.errors import ConfigError, UsageError
from voicecli.settings import load_settings
from voicecli.talk.options import TalkOptions
from voicecli.ui.render import status_bar
from voicecli.ui.state import ViewState

DEVICE_RATE = 48000
T0 = 1000.0


class TappedSpeaker:
    """What EchoPath needs from a Speaker: a device name and enable_tap()."""

    def __init__(self, name: str = "Built-in Audio Analog Stereo") -> None:
        self.device_name = name
        self.tap = SpeakerTap(DEVICE_RATE)

    def enable_tap(self) -> SpeakerTap:
        return self.tap


class NamedMic:
    def __init__(self, name: str = "Built-in Audio Analog Stereo") -> None:
        self.device_name = name


def run_path(path: EchoPath, tap: SpeakerTap, sig: es.Signals, chunk_ms: int = 20) -> np.ndarray:
    """Drive the path like Conversation._capture: the output callback runs ~30 ms ahead of the
    DAC in 10 ms blocks; every mic chunk is processed once complete."""
    far48 = resample(sig.far, 16000, DEVICE_RATE).astype(np.float32) / 32768.0
    block, written, out = DEVICE_RATE // 100, 0, []
    step = 16 * chunk_ms
    for pos in range(0, sig.mic.size, step):
        now = (pos + step) / 16000  # the chunk is complete (the last one may be short)
        while written < far48.size and written / DEVICE_RATE < now + 0.03:
            tap.timeline.mark(tap.ring.write_position, T0 + written / DEVICE_RATE)
            tap.ring.write(far48[written : written + block])
            written += block
        out.append(path.process(sig.mic[pos : pos + step].tobytes(), T0 + pos / 16000))
    return np.frombuffer(b"".join(out), dtype=np.int16)


@pytest.mark.parametrize("mode", ["gate", "aec"])
def test_the_echo_of_what_the_speaker_played_is_removed(mode: str) -> None:
    if mode == "aec" and not aec_available():
        pytest.fail("the dev extra installs livekit; aec must be testable here")
    s = es.Scenario(delay_ms=120)
    sig = es.signals(s)
    speaker = TappedSpeaker()
    path = EchoPath.for_devices(mode, NamedMic(), speaker)
    assert path is not None and path.mode == mode
    y = run_path(path, speaker.tap, sig)
    scores = es.measure(sig, s, y, vad=False)
    assert y.size == sig.mic.size  # nothing dropped: the stream clock stays right
    assert scores["erle_db"] >= 25.0, scores
    assert scores["dt_near_gain_db"] > -8.0, scores  # the user still comes through
    assert path.stats.delay_ms is not None and abs(path.stats.delay_ms - 120) <= 20


def test_without_the_path_the_echo_stays() -> None:
    """The measurement above can fail: the same signals unprocessed have no echo removed."""
    s = es.Scenario(delay_ms=120)
    sig = es.signals(s)
    assert es.measure(sig, s, sig.mic, vad=False)["erle_db"] == pytest.approx(0.0, abs=0.01)


def test_auto_is_off_on_a_headset_and_cancels_on_speakers() -> None:
    assert looks_like_headset("Jabra EVOLVE 20 Headset", "")
    assert looks_like_headset("", "WH-1000XM4 Headphones")
    assert not looks_like_headset("Built-in Microphone", "MacBook Pro Speakers")
    assert resolve_mode("auto", headset=looks_like_headset("USB Headset", "USB Headset")) == "off"
    assert resolve_mode("auto", headset=looks_like_headset("Built-in Microphone", "Speakers")) == (
        "aec" if aec_available() else "gate")
    assert resolve_mode("gate", headset=looks_like_headset("USB Headset", "")) == "gate"  # asked


def test_no_path_when_nothing_is_played_or_asked() -> None:
    assert EchoPath.for_devices("off", NamedMic(), TappedSpeaker()) is None
    assert EchoPath.for_devices("aec", NamedMic(), None) is None  # text replies
    assert EchoPath.for_devices("auto", NamedMic("USB Headset"), TappedSpeaker()) is None


def test_bad_echo_values_are_refused_early() -> None:
    with pytest.raises(UsageError, match="--echo must be one of auto, aec, gate, off"):
        TalkOptions(echo="loud")
    with pytest.raises(ConfigError, match="echo must be one of"):
        load_settings(env={"VOICECLI_ECHO": "sometimes", "XDG_CONFIG_HOME": "/nonexistent"})
    assert load_settings(env={"VOICECLI_ECHO": "gate",
                              "XDG_CONFIG_HOME": "/nonexistent"}).echo.mode == "gate"


def test_the_status_bar_names_the_echo_mode() -> None:
    state = ViewState(echo="aec")
    state.counters.echo_erle_db = 34.6
    assert "echo aec −35 dB" in _text(state)
    assert "echo gate" in _text(ViewState(echo="gate"))
    assert "echo" not in _text(ViewState(echo="off", text_replies=True))


def _text(state: ViewState) -> str:
    from rich.console import Console

    console = Console(width=120, record=True, color_system=None)
    console.print(status_bar(state))
    return console.export_text()


def test_aec_without_the_extra_is_refused_before_anything_opens(monkeypatch) -> None:
    import asyncio

    from voicecli.settings import Settings
    from voicecli.talk import run

    monkeypatch.setattr(run, "aec_available", lambda: False)
    opened = []
    monkeypatch.setattr(run, "_microphone", lambda options: opened.append("mic"))
    with pytest.raises(UsageError, match=r"voicecli\[aec\].*--echo gate"):
        asyncio.run(run.run_talk(Settings.of(backend="local"), TalkOptions(echo="aec"),
                                 read_keys=False))
    assert not opened


@pytest.mark.parametrize(("agc", "gain_db"), [(False, (-1.0, 1.0)), (True, (6.0, 30.0))])
def test_agc_raises_a_quiet_microphone_only_when_asked(agc: bool, gain_db: tuple) -> None:
    from tests.speechgen import speech_pcm16

    quiet = (np.frombuffer(speech_pcm16("what is the weather like in london today"),
                           dtype=np.int16) * 0.1).astype(np.int16)  # -20 dB
    x = np.concatenate([quiet] * 3)
    path = EchoPath.for_devices("aec", NamedMic(), TappedSpeaker(), auto_gain_control=agc)
    assert path is not None
    y = np.frombuffer(path.process(x.tobytes(), T0), dtype=np.int16)
    last = slice(2 * quiet.size, None)  # once the gain control has settled
    change = 20 * np.log10(np.std(y[last].astype(float)) / np.std(x[last].astype(float)))
    assert gain_db[0] <= change <= gain_db[1]
