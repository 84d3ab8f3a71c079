"""The setup of a translation session (live-protocol.md §3.1, §3.1.6, §7.1)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from voicecli.client.setup_tools import setup_tools
from voicecli.errors import UsageError
from voicecli.protocol.languages import canonical_language, language_problem
from voicecli.protocol.messages import (
    AudioTranscriptionConfig,
    GenerationConfig,
    SessionResumptionConfig,
    Setup,
    TranslationConfig,
)
from voicecli.protocol.models import check_setup
from voicecli.settings import Settings
from voicecli.tools.spec import ToolDef

_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class TranslationOptions:
    to: str  # BCP-47 target language (translationConfig.targetLanguageCode)
    source: str | None = None  # names the spoken side; the model detects the language itself
    echo_target: bool = False  # translationConfig.echoTargetLanguage: repeat target-language speech

    def __post_init__(self) -> None:
        for flag, code in (("--from", self.source), ("--to", self.to)):
            if code is not None and not _BCP47.match(code):
                raise UsageError(f"{flag} takes a BCP-47 language code such as es, en or pt-BR, "
                                 f"not {code!r}")
        # a BCP-47 shaped --to is also checked like --language (§7.3, with a "did you mean")
        canonical = canonical_language(self.to)
        if canonical is None:
            raise UsageError(language_problem(self.to, "--to") or f"--to {self.to!r}")
        object.__setattr__(self, "to", canonical)

    @property
    def labels(self) -> tuple[str, str]:
        """How the two sides are named on screen and in transcripts."""
        return (self.source or "source", self.to)


def translation_setup(settings: Settings, model: str, options: TranslationOptions,
                      tools: Iterable[ToolDef] = ()) -> Setup:
    """AUDIO replies with both transcriptions and translationConfig; nothing the model refuses
    (no systemInstruction, tools, voice or languageCode from the config file, §3.1.3, §7.1).
    `tools`: only those given on the command line (``translate --mcp-config``), for a model
    that takes them; check_setup refuses them for one that does not."""
    setup = Setup(
        tools=setup_tools(model, tools, google_search=False, code_execution=False),
        model=model,
        generation_config=GenerationConfig(
            response_modalities=["AUDIO"],
            translation_config=TranslationConfig(target_language_code=options.to,
                                                 echo_target_language=options.echo_target),
        ),
        input_audio_transcription=AudioTranscriptionConfig(),  # §3.1.6: no hints for it
        output_audio_transcription=AudioTranscriptionConfig(),
        session_resumption=SessionResumptionConfig(),
    )
    backend = "vertex" if settings.connection.backend == "vertex" else "gemini"
    check_setup(setup, api_version=settings.connection.api_version, backend=backend)
    return setup
