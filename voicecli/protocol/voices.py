"""The prebuilt Live voices and their styles (live-protocol.md §7.2)."""

from __future__ import annotations

import difflib
import re

# name → style, as the service documents them; the same 30 voices as the Gemini TTS models.
PREBUILT_VOICES: dict[str, str] = {
    "Zephyr": "Bright", "Puck": "Upbeat", "Charon": "Informative", "Kore": "Firm",
    "Fenrir": "Excitable", "Leda": "Youthful", "Orus": "Firm", "Aoede": "Breezy",
    "Callirrhoe": "Easy-going", "Autonoe": "Bright", "Enceladus": "Breathy", "Iapetus": "Clear",
    "Umbriel": "Easy-going", "Algieba": "Smooth", "Despina": "Smooth", "Erinome": "Clear",
    "Algenib": "Gravelly", "Rasalgethi": "Informative", "Laomedeia": "Upbeat",
    "Achernar": "Soft", "Alnilam": "Firm", "Schedar": "Even", "Gacrux": "Mature",
    "Pulcherrima": "Forward", "Achird": "Friendly", "Zubenelgenubi": "Casual",
    "Vindemiatrix": "Gentle", "Sadachbia": "Lively", "Sadaltager": "Knowledgeable",
    "Sulafat": "Warm",
}

# §7.2: 3.8 also accepts catalog voices with ids like `en-us-tavi`, and custom `voice_…` ids.
_CATALOG_ID = re.compile(r"^([a-z]{2,3}-[a-z]{2}-[a-z0-9-]+|voice_[A-Za-z0-9_-]+)$")
_BY_LOWER = {name.lower(): name for name in PREBUILT_VOICES}


def canonical_voice(name: str) -> str | None:
    """The prebuilt voice's proper name, the id itself for a catalog id, or None if unknown."""
    if name.lower() in _BY_LOWER:
        return _BY_LOWER[name.lower()]
    return name if _CATALOG_ID.match(name) else None


def is_catalog_id(name: str) -> bool:
    """A catalog (``en-us-tavi``) or designed (``voice_…``) id rather than a prebuilt name."""
    return name.lower() not in _BY_LOWER and bool(_CATALOG_ID.match(name))


def suggest_voice(name: str) -> list[str]:
    """The prebuilt voices `name` most likely meant (``Korre`` → ``Kore``)."""
    close = difflib.get_close_matches(name.lower(), _BY_LOWER, n=2, cutoff=0.5)
    return [_BY_LOWER[c] for c in close]


def voice_hint(name: str) -> str:
    """`did you mean Kore?` (or nothing), then where the whole list is."""
    close = suggest_voice(name)
    maybe = f"did you mean {' or '.join(close)}? " if close else ""
    return f"{maybe}`voicecli voices` lists the {len(PREBUILT_VOICES)} prebuilt voices"
