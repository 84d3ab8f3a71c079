"""Audio test fixtures: ``va_env``, the virtual PulseAudio devices (see virtual.py)."""

from tests.audio.virtual import va_env

__all__ = ["va_env"]
