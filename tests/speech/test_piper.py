"""voicecli.speech.piper: the Piper voice, streamed in 40 ms chunks at 24 kHz, abortable."""

from __future__ import annotations

import numpy as np

from tests.wer import normalize, synthesize_corpus_piper
from voicecli.audio.pcm import duration_ms, rms_dbfs
from voicecli.speech.piper import PiperSynthesizer, phrases
from voicecli.speech.tts import CHUNK_BYTES, RATE
from voicecli.speech.whisper import WhisperRecognizer

PHRASE = "what is the weather like in london today"


def test_speech_is_24k_pcm16_in_40ms_chunks_at_a_sane_level() -> None:
    chunks: list[bytes] = []
    PiperSynthesizer().synthesize(PHRASE, chunks.append)
    pcm = b"".join(chunks)
    assert all(len(c) == CHUNK_BYTES for c in chunks[:-1]) and 0 < len(chunks[-1]) <= CHUNK_BYTES
    assert 1.2 < duration_ms(len(pcm), RATE) / 1000 < 4.0
    assert -30 < rms_dbfs(pcm) < -8
    assert np.max(np.abs(np.frombuffer(pcm, dtype=np.int16))) < 32767  # no clipping


def test_the_recogniser_hears_what_the_voice_says() -> None:
    # a seeded rendering (tests/wer.py): Piper's noise differs each run, the words must not
    [pcm16k] = synthesize_corpus_piper([PHRASE], seed=0)
    recognizer = WhisperRecognizer()
    try:
        assert normalize(recognizer.transcribe(pcm16k)) == PHRASE.split()
    finally:
        recognizer.close()


def test_returning_true_stops_within_one_chunk() -> None:
    got: list[bytes] = []
    PiperSynthesizer().synthesize("One sentence here. And another one after it.",
                                  lambda c: got.append(c) or len(got) >= 3)
    assert len(got) == 3


def test_a_short_sentence_is_cut_at_its_clause_mark_or_before_a_preposition() -> None:
    assert phrases("You said: What time is it.") == ["You said:", "What time is it."]
    # no clause mark: whole up to nine words (a cut there changes how the words sound)
    assert phrases("what is the weather like in london today") == [
        "what is the weather like in london today"]
    assert phrases("Yes, sir.") == ["Yes, sir."]  # nothing worth a second piece after it
    assert phrases("Stop the music now.") == ["Stop the music now."]


def test_a_recurring_first_piece_sounds_the_same_every_time() -> None:
    synth = PiperSynthesizer()
    first, second = (synth.synthesize_bytes(f"You said: {words}.")
                     for words in ("lock the front door", "what time is it"))
    prefix = len(synth.synthesize_bytes("You said:")) - CHUNK_BYTES  # before the join's tail
    assert prefix > RATE // 2 and first[:prefix] == second[:prefix]  # rendered once, reused


def test_long_sentences_start_with_a_short_first_clause() -> None:
    assert phrases("Hello there.") == ["Hello there."]
    long = "Well, the weather in London today is cloudy with a chance of rain later on."
    assert phrases(long) == ["Well,", long[len("Well, "):]]
    no_comma = "The weather in London today is cloudy with a chance of rain later on."
    first, rest = phrases(no_comma)
    assert first == "The weather in London today is cloudy"  # before "with", ≤ 7 words
    assert rest.startswith("with a chance")
    assert " ".join(phrases(no_comma)) == no_comma
