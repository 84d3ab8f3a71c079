"""PartialTranscript: append-only deltas from revisable partial hypotheses (§4.2)."""

from __future__ import annotations

from voicecli.server.partials import PartialTranscript


def _run(hypotheses: list[str], final: str) -> list[str]:
    partial = PartialTranscript()
    deltas = [partial.update(h) for h in hypotheses]
    return [d for d in deltas if d] + [partial.finish(final)]


def test_words_are_released_once_stable_and_never_the_last_one() -> None:
    partial = PartialTranscript()
    assert partial.update("what") == ""
    assert partial.update("what is") == "what"  # stable in 2 hypotheses, not the last word
    assert partial.update("what is the") == " is"
    assert partial.update("what is the") == ""  # "the" is still the last word heard
    deltas = _run(["what", "what is", "what is the", "what is the weather"],
                  "what is the weather like")
    assert "".join(deltas) == "what is the weather like"
    assert deltas[-1] == " weather like"


def test_a_revised_tail_is_not_released_early() -> None:
    deltas = _run(["what is the whether", "what is the weather", "what is the weather like"],
                  "what is the weather like in london")
    assert "whether" not in "".join(deltas)
    assert "".join(deltas) == "what is the weather like in london"


def test_a_final_that_disagrees_sends_only_its_words_beyond_the_released_count() -> None:
    deltas = _run(["please turn on", "please turn on the"], "please turn off the lights")
    assert deltas[0] == "please turn on"
    assert deltas[-1] == " the lights"  # "off" replaced the released "on": the count decides


def test_finish_resets_for_the_next_utterance_and_empty_finals_send_nothing() -> None:
    partial = PartialTranscript()
    for h in ("set a", "set a timer", "set a timer for"):
        partial.update(h)
    assert partial.finish("set a timer for ten minutes").endswith(" for ten minutes")
    assert partial.update("play") == ""
    assert partial.finish("play music") == "play music"  # no leading space on a new utterance
    assert partial.finish("") == ""
