"""The languages the Live API documents (live-protocol.md §7.3), and `--language` validation.

Three lists, each from its source: the 97 BCP-47 language codes of the Gemini API Live guide
(2026), the locales the v1beta proto lists for ``speechConfig.languageCode`` (half-cascade
models), and the 24 locales of Vertex AI Live (2.5). A code is accepted when one of them holds it,
in any letter case (``EN-us`` → ``en-US``); anything else is refused with the nearest documented
codes, so a typo never reaches the service.
"""

from __future__ import annotations

import difflib

#: §7.3, Gemini Developer API Live, 2026 docs (Hebrew is ``iw``, not ``he``).
LANGUAGES: dict[str, str] = {
    "af": "Afrikaans", "ak": "Akan", "sq": "Albanian", "am": "Amharic", "ar": "Arabic",
    "hy": "Armenian", "as": "Assamese", "az": "Azerbaijani", "eu": "Basque", "be": "Belarusian",
    "bn": "Bengali", "bs": "Bosnian", "bg": "Bulgarian", "my": "Burmese", "ca": "Catalan",
    "ceb": "Cebuano", "zh": "Chinese", "hr": "Croatian", "cs": "Czech", "da": "Danish",
    "nl": "Dutch", "en": "English", "et": "Estonian", "fo": "Faroese", "fil": "Filipino",
    "fi": "Finnish", "fr": "French", "gl": "Galician", "ka": "Georgian", "de": "German",
    "el": "Greek", "gu": "Gujarati", "ha": "Hausa", "iw": "Hebrew", "hi": "Hindi",
    "hu": "Hungarian", "is": "Icelandic", "id": "Indonesian", "ga": "Irish", "it": "Italian",
    "ja": "Japanese", "kn": "Kannada", "kk": "Kazakh", "km": "Khmer", "rw": "Kinyarwanda",
    "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz", "lo": "Lao", "lv": "Latvian",
    "lt": "Lithuanian", "mk": "Macedonian", "ms": "Malay", "ml": "Malayalam", "mt": "Maltese",
    "mi": "Maori", "mr": "Marathi", "mn": "Mongolian", "ne": "Nepali", "no": "Norwegian",
    "or": "Odia", "om": "Oromo", "ps": "Pashto", "fa": "Persian", "pl": "Polish",
    "pt": "Portuguese", "pa": "Punjabi", "qu": "Quechua", "ro": "Romanian", "rm": "Romansh",
    "ru": "Russian", "sr": "Serbian", "sd": "Sindhi", "si": "Sinhala", "sk": "Slovak",
    "sl": "Slovenian", "so": "Somali", "st": "Southern Sotho", "es": "Spanish", "sw": "Swahili",
    "sv": "Swedish", "tg": "Tajik", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tn": "Tswana",
    "tr": "Turkish", "tk": "Turkmen", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek",
    "vi": "Vietnamese", "cy": "Welsh", "fy": "Western Frisian", "wo": "Wolof", "yo": "Yoruba",
    "zu": "Zulu",
}

#: §7.3, the v1beta proto's valid ``speechConfig.languageCode`` values (TTS / half-cascade).
SPEECH_LOCALES: tuple[str, ...] = (
    "de-DE", "en-AU", "en-GB", "en-IN", "en-US", "es-US", "fr-FR", "hi-IN", "pt-BR", "ar-XA",
    "es-ES", "fr-CA", "id-ID", "it-IT", "ja-JP", "tr-TR", "vi-VN", "bn-IN", "gu-IN", "kn-IN",
    "ml-IN", "mr-IN", "ta-IN", "te-IN", "nl-NL", "ko-KR", "cmn-CN", "pl-PL", "ru-RU", "th-TH",
)

#: §7.3, Vertex AI Live (2.5) locales.
VERTEX_LOCALES: tuple[str, ...] = (
    "ar-EG", "bn-BD", "nl-NL", "en-IN", "en-US", "fr-FR", "de-DE", "hi-IN", "id-ID", "it-IT",
    "ja-JP", "ko-KR", "mr-IN", "pl-PL", "pt-BR", "ro-RO", "ru-RU", "es-US", "ta-IN", "te-IN",
    "th-TH", "tr-TR", "uk-UA", "vi-VN",
)

LOCALES: tuple[str, ...] = tuple(dict.fromkeys(SPEECH_LOCALES + VERTEX_LOCALES))
_BY_LOWER: dict[str, str] = {code.lower(): code for code in (*LANGUAGES, *LOCALES)}
#: Common codes the documents spell differently.
_ALIASES = {"he": "iw", "zh-cn": "cmn-CN", "nb": "no", "tl": "fil"}
MAX_SUGGESTIONS = 4


def canonical_language(code: str) -> str | None:
    """The documented spelling of `code` (any case, `_` or `-`), or None if no list holds it."""
    return _BY_LOWER.get(code.strip().replace("_", "-").lower())


def is_locale(code: str) -> bool:
    """A documented locale (``de-DE``), as ``speechConfig.languageCode`` takes (§7.3)."""
    return "-" in code and canonical_language(code) in LOCALES


def locales_of(code: str) -> list[str]:
    """The documented locales of a language: ``de`` or ``de-AT`` → ``["de-DE"]``."""
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return [loc for loc in LOCALES if loc.split("-")[0].lower() == base]


def suggest_language(code: str) -> list[str]:
    """The documented codes `code` most likely meant (a typo, a region, a language name)."""
    cleaned = code.strip().replace("_", "-").lower()
    alias = _ALIASES.get(cleaned)
    if alias is not None:
        return [alias]
    base = cleaned.split("-")[0]
    found = ([base] if base in LANGUAGES else []) + locales_of(cleaned)
    by_name = {name.lower(): c for c, name in LANGUAGES.items()}
    if len(cleaned) >= 3:
        found += [c for name, c in by_name.items() if name.startswith(cleaned)]
    found += [by_name[n] for n in difflib.get_close_matches(cleaned, by_name, n=2, cutoff=0.75)]
    if not found:
        found = [_BY_LOWER[c] for c in difflib.get_close_matches(cleaned, _BY_LOWER, n=3)]
    return list(dict.fromkeys(found))[:MAX_SUGGESTIONS]


def language_problem(code: str, flag: str = "--language") -> str | None:
    """One line saying why `code` is not a documented Live language, with what it likely meant."""
    if canonical_language(code) is not None:
        return None
    hints = suggest_language(code)
    hint = f"did you mean {' or '.join(hints)}? " if hints else ""
    return (f"{flag} {code!r} is not a language the Live API documents (§7.3); {hint}"
            "codes are BCP-47, like en, de or pt-BR")
