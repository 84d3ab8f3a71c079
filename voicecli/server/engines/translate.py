"""The live-translate stand-in (live-protocol.md §7.1, translationConfig §3.1).

Offline there is no translator, and this engine does not pretend: it says the recognised words
back as the recogniser wrote them (words and punctuation), marked with the target language —
``[es] What is the weather like?`` — in the target language's voice. The session layer sends
the input transcript and the outputTranscription of exactly that, so every part of a
translation session's protocol (setup, both transcripts, audio replies, no barge-in) can be
exercised. Following echoTargetLanguage, speech already in the target language is repeated only
when it is true; otherwise nothing is said.

The spoken language is the recogniser's. The bundled Whisper tiny.en and pocketsphinx hear
English only, which is the right ears for translating *from* English into any target; a
multilingual Whisper model (``--asr-model``) hears the languageCodes hint or
speechConfig.languageCode.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

from voicecli.server.engines.interface import Dialogue, Prompt, ReplyEvent, Say, UserText

_WORD = re.compile(r"[\w']+")
MAX_WORDS = 60


def base_language(code: str | None) -> str:
    """`pt-BR` → `pt`; None → `en` (the bundled recogniser's language)."""
    return (code or "en").strip().lower().replace("_", "-").split("-")[0] or "en"


class TranslationStandIn:
    """Engine for sessions whose setup carries translationConfig (see the module docstring)."""

    def __init__(self, spoken_language: str | None = None) -> None:
        self.spoken = base_language(spoken_language)

    def describe(self) -> str:
        return "translation stand-in: the recognised words, marked [target], in its voice"

    async def respond(self, conversation: Dialogue,
                      prompt: Prompt) -> AsyncGenerator[ReplyEvent, None]:
        target = conversation.translate_to or "en"
        if not isinstance(prompt, UserText):
            return
        if not _WORD.search(prompt.text):
            return
        if base_language(target) == self.spoken and not conversation.echo_target:
            return  # echoTargetLanguage false: no audio for speech already in the target
        heard = " ".join(prompt.text.split()[:MAX_WORDS])  # exactly what was heard, bounded
        yield Say(f"[{target}] {heard}")
