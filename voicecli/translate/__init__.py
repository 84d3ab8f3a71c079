"""`voicecli translate`: speech in one language, speech in another (live-protocol.md §7.1).

The live-translate model (`gemini-3.5-live-translate-preview`) is an interpreter, not an
assistant: audio in only, no system instruction or tools, a continuous stream rather than turns.
Its whole configuration is `generationConfig.translationConfig` (`targetLanguageCode`,
`echoTargetLanguage`, §3.1); it detects the spoken language itself, and there is no wire field
for it, so `--from` only names the source side on screen and in transcripts (the model takes
`inputAudioTranscription` as an empty object, §3.1.6).

- interactive: `run_talk` with `TalkOptions(translation=…)` (the talk machinery: mic, speaker,
  echo handling, the live screen in a translate view);
- a file: `translate_file` (voicecli.translate.file).
"""

from voicecli.translate.setup import TranslationOptions, translation_setup

__all__ = ["TranslationOptions", "translation_setup"]
