"""The conversation's pure parts (latency, status, keys, counters), with no loop or device."""

from __future__ import annotations

import math

import pytest

from voicecli.audio.capture import CaptureStats
from voicecli.audio.playback import PlaybackStats
from voicecli.talk.counters import read_device_counters
from voicecli.talk.key_commands import KeyCommand, command_for, edit_typing
from voicecli.talk.keys import BACKSPACE, ENTER, ESCAPE
from voicecli.talk.latency import THINKING_MAX_S, LatencyMeter
from voicecli.talk.status import (
    SilentMicNotice,
    go_away_notice,
    next_status,
    reconnected_notice,
    reconnecting_notice,
)
from voicecli.ui.state import Counters, Status


def test_audio_latency_runs_from_the_last_loud_chunk_to_the_first_sample_heard() -> None:
    meter = LatencyMeter()
    meter.spoke(100.0)
    assert meter.thinking(101.0)
    assert meter.reply_started(100.4, 101.0, text_only=False) is None
    assert not meter.thinking(101.0)
    assert meter.heard(None, received=True) is None  # nothing sounded yet
    assert meter.heard(101.2, received=False) is None  # nothing of the reply here yet
    assert meter.heard(101.2, received=True) == pytest.approx(800.0)
    meter.turn_done()
    assert meter.heard(101.2, received=True) is None


def test_text_latency_is_given_at_the_first_text_and_typing_starts_the_clock() -> None:
    meter = LatencyMeter()
    meter.asked(50.0)
    assert meter.reply_started(-math.inf, 50.35, text_only=True) == pytest.approx(350.0)
    silent = LatencyMeter()
    assert silent.reply_started(-math.inf, 1.0, text_only=True) is None  # no question at all


def test_push_to_talk_release_is_the_end_of_speech_and_thinking_gives_up() -> None:
    meter = LatencyMeter()
    meter.spoke(0.0)
    meter.speech_ended(1.0)
    meter.reply_started(0.9, 2.0, text_only=False)  # the key's end wins over the last voice
    assert meter.heard(1.5, received=True) == pytest.approx(500.0)
    waiting = LatencyMeter()
    waiting.spoke(0.0)
    assert waiting.thinking(THINKING_MAX_S - 0.1) and not waiting.thinking(THINKING_MAX_S)


@pytest.mark.parametrize(("playing", "user", "thinking", "expected"), [
    (True, True, True, Status.SPEAKING),
    (False, True, True, Status.USER_SPEAKING),
    (False, False, True, Status.THINKING),
    (False, False, False, Status.LISTENING),
])
def test_status_prefers_the_reply_then_you_then_thinking(playing: bool, user: bool,
                                                          thinking: bool,
                                                          expected: Status) -> None:
    assert next_status(Status.LISTENING, playing=playing, user_speaking=user,
                       thinking=thinking) is expected


@pytest.mark.parametrize("held", [Status.CONNECTING, Status.RECONNECTING, Status.CLOSED])
def test_status_set_by_events_is_kept(held: Status) -> None:
    assert next_status(held, playing=True, user_speaking=True, thinking=True) is held


def test_notice_texts() -> None:
    assert reconnecting_notice("1006") == "reconnecting (1006)…"
    assert reconnected_notice(resumed=True, dropped_audio_ms=0) == "reconnected"
    assert (reconnected_notice(resumed=False, dropped_audio_ms=2500) ==
            "reconnected (a new session); 2.5 s of audio could not be resent")
    assert (go_away_notice(9.6) ==
            "the service ends this connection in 10 s; resuming on a new one")
    assert go_away_notice(None) == "the service ends this connection; resuming on a new one"


def test_the_silent_mic_notice_comes_up_and_goes_down_unless_replaced() -> None:
    notice = SilentMicNotice(after_s=3.0)
    stats = CaptureStats(silent_s=2.0)
    assert notice.update("", stats) == ""
    stats.silent_s = 4.0
    shown = notice.update("", stats)
    assert shown == ("the microphone has given only digital silence for 4 s: muted, or no"
                     " permission to use it?")
    stats.signal_seen, stats.silent_s = True, 0.0
    assert notice.update(shown, stats) == ""  # taken down
    stats.signal_seen, stats.silent_s = False, 5.0
    notice.update("", stats)
    stats.signal_seen = True
    assert notice.update("reconnected", stats) == "reconnected"  # replaced: left alone


def test_keys_map_to_commands() -> None:
    assert command_for("q", typing_allowed=True, ptt=False) is KeyCommand.QUIT
    assert command_for("M", typing_allowed=True, ptt=False) is KeyCommand.MUTE
    assert command_for("t", typing_allowed=True, ptt=False) is KeyCommand.TYPE
    assert command_for("t", typing_allowed=False, ptt=False) is None  # translate
    assert command_for(" ", typing_allowed=True, ptt=True) is KeyCommand.PUSH_TO_TALK
    assert command_for(" ", typing_allowed=True, ptt=False) is None
    assert command_for("x", typing_allowed=True, ptt=True) is None


def test_typing_edits_and_sends_the_stripped_message() -> None:
    assert edit_typing("hell", "o") == ("hello", None)
    assert edit_typing("hello", BACKSPACE) == ("hell", None)
    assert edit_typing("hello", ESCAPE) == (None, None)
    assert edit_typing("  hi there ", ENTER) == (None, "hi there")
    assert edit_typing("   ", ENTER) == (None, None)


def test_device_counters_convert_dropped_frames_at_the_device_rate() -> None:
    counters = Counters()
    echo = type("EchoStats", (), {"erle_db": 12.5})()
    read_device_counters(counters, CaptureStats(overflows=2, dropped_frames=4800), 48000,
                         speaker_stats=PlaybackStats(underruns=3), echo_stats=echo)
    assert (counters.mic_dropped_ms, counters.mic_overflows) == (100.0, 2)
    assert (counters.underruns, counters.echo_erle_db) == (3, 12.5)
    read_device_counters(counters, CaptureStats(dropped_frames=1600), 0)  # not open yet: 16 kHz
    assert counters.mic_dropped_ms == 100.0 and counters.underruns == 3
