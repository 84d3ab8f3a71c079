from __future__ import annotations

import wave
from pathlib import Path

from voicecli.talk.keys import BACKSPACE, ENTER, ESCAPE, decode_keys
from voicecli.talk.record import Recording, TranscriptFile, format_turn
from voicecli.ui.state import ToolCallView, TurnView


def frames(path: Path) -> tuple[int, int]:
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnframes()


def test_tracks_sit_on_the_session_clock(tmp_path: Path) -> None:
    rec = Recording(tmp_path / "rec", "title")
    t0 = rec.t0
    rec.add_mic(bytes(640), t0 + 0.02)  # 20 ms at 16 kHz: no gap worth padding
    rec.add_speaker(bytes(4800), t0 + 1.0)  # 100 ms at 24 kHz, one second in
    rec.add_speaker(bytes(4800), t0 + 1.0)  # a burst: laid end to end, not on top
    # not closed: the files must already be complete (as after kill -9)
    assert frames(tmp_path / "rec" / "mic.wav") == (16000, 320)
    assert frames(tmp_path / "rec" / "speaker.wav") == (24000, 24000 + 4800)


def test_mic_gap_longer_than_the_slack_is_padded(tmp_path: Path) -> None:
    rec = Recording(tmp_path, "title")
    rec.add_mic(bytes(640), rec.t0 + 2.0)
    assert frames(tmp_path / "mic.wav")[1] == 32000 + 320
    rec.close()


def test_transcript_is_written_turn_by_turn(tmp_path: Path) -> None:
    path = tmp_path / "t.md"
    transcript = TranscriptFile(path, "voicecli talk")
    transcript.add_turn(TurnView(user="hello", model="Hi there."))
    assert path.read_text() == "# voicecli talk\n\n**You:** hello\n\n**Gemini:** Hi there.\n\n"
    transcript.add_turn(TurnView())  # nothing said: nothing written
    transcript.add_turn(TurnView(user="and then"), partial=True)
    assert path.read_text().endswith("*(the conversation ended during this turn)*\n\n")


def test_interrupted_turn_strikes_what_was_not_heard() -> None:
    turn = TurnView(user="go", model="one two three", interrupted=True, cut_at=3,
                    tools=[ToolCallView("f", "x=1", "ok")], typed=True)
    text = format_turn(turn)
    assert "**You (typed):** go" in text
    assert "- tool `f(x=1)` → ok" in text
    assert "**Gemini:** one *(interrupted)* ~~two three~~" in text


def test_keys_from_a_cbreak_terminal() -> None:
    assert decode_keys(b"m") == ["m"]
    assert decode_keys(b"hi\r") == ["h", "i", ENTER]
    assert decode_keys(b"\x7f") == [BACKSPACE]
    assert decode_keys(b"\x1b[A") == [ESCAPE]  # an arrow key is not three keys
    assert decode_keys("é".encode()) == ["é"]
    assert decode_keys(b"\x01\x02") == []
