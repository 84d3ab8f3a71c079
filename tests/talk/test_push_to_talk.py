"""The push-to-talk table (voicecli/talk/push_to_talk.py), driven chunk by chunk: no loop."""

from __future__ import annotations

from voicecli.talk.push_to_talk import TRANSITIONS, PttAction, PttState, PttStep, PushToTalk

START, KEEP, SEND, END = PttAction.START, PttAction.KEEP, PttAction.SEND, PttAction.END


def test_before_the_key_chunks_are_kept_and_only_the_last_preroll_survives() -> None:
    ptt = PushToTalk(tail_ms=200, preroll_chunks=2)
    for n in range(3):
        assert ptt.on_chunk(float(n)) == (KEEP,)
        ptt.keep(bytes([n]))
    assert not ptt.talking
    assert ptt.take_preroll() == [b"\x01", b"\x02"]
    assert ptt.take_preroll() == []


def test_a_press_starts_then_sends_and_a_release_ends_after_the_tail() -> None:
    ptt = PushToTalk(tail_ms=200, preroll_chunks=15)
    ptt.toggle()
    assert ptt.on_chunk(10.0) == (START, SEND)
    assert ptt.state is PttState.TALKING and ptt.talking
    assert ptt.on_chunk(10.02) == (SEND,)
    ptt.toggle()  # released at 10.04: the tail runs to 10.24
    assert ptt.on_chunk(10.04) == (SEND,)
    assert ptt.state is PttState.TAIL and ptt.tail_until == 10.04 + 0.2
    assert ptt.on_chunk(10.2) == (SEND,)
    assert ptt.on_chunk(10.25) == (SEND, END)
    assert ptt.state is PttState.IDLE and ptt.tail_until is None
    assert ptt.on_chunk(10.27) == (KEEP,)


def test_no_tail_ends_the_activity_on_the_release_chunk() -> None:
    ptt = PushToTalk(tail_ms=0, preroll_chunks=1)
    ptt.toggle()
    ptt.on_chunk(1.0)
    ptt.toggle()
    assert ptt.on_chunk(1.02) == (SEND, END)
    assert not ptt.talking


def test_a_press_during_the_tail_does_not_cancel_it_and_starts_again_after() -> None:
    ptt = PushToTalk(tail_ms=100, preroll_chunks=5)
    ptt.toggle()
    ptt.on_chunk(0.0)
    ptt.toggle()
    ptt.on_chunk(0.02)  # tail to 0.12
    ptt.toggle()  # pressed again
    assert ptt.on_chunk(0.06) == (SEND,)
    assert ptt.on_chunk(0.13) == (SEND, END)
    assert ptt.on_chunk(0.15) == (START, SEND)


def test_the_table_covers_every_key_position_in_every_state() -> None:
    for state in PttState:
        for step in (PttStep.PRESSED, PttStep.RELEASED):
            assert (state, step) in TRANSITIONS
    assert [key for key in TRANSITIONS if key[1] is PttStep.TAIL_OVER] == [
        (PttState.TAIL, PttStep.TAIL_OVER)]
