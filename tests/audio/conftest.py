"""Audio test fixtures: ``va_env``, the virtual PulseAudio devices (see virtual.py)."""

from tests.audio.virtual import va_env
from tests.e2e.harness import virtual_audio

__all__ = ["va_env", "virtual_audio"]
