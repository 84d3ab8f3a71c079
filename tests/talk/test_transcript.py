from __future__ import annotations

from voicecli.talk.transcript import cut_index, join_fragment


def test_service_deltas_concatenate_as_sent() -> None:
    # live-protocol.md §4 example: deltas carry their own leading spaces
    text = ""
    for delta in ("What's the weather", " in Redmond?"):
        text = join_fragment(text, delta)
    assert text == "What's the weather in Redmond?"


def test_bare_words_get_spaces_but_punctuation_does_not() -> None:
    text = ""
    for delta in ("Hello", "there", ",", "how", "are", "you", "?"):
        text = join_fragment(text, delta)
    assert text == "Hello there, how are you?"


def test_whitespace_is_collapsed_and_leading_space_dropped() -> None:
    assert join_fragment("", "  Hi \n there") == "Hi there"
    assert join_fragment("Hi", "  there   now") == "Hi there now"
    assert join_fragment("Hi", "") == "Hi"


def test_cut_index_snaps_to_the_nearest_word_boundary() -> None:
    text = "one two three four"
    assert text[: cut_index(text, 0.5)] == "one two"
    assert cut_index(text, 0.0) == 0
    assert cut_index(text, 1.0) == len(text)
    assert cut_index("", 0.5) == 0
    assert cut_index("word", 0.2) == 0 and cut_index("word", 0.8) == 4
