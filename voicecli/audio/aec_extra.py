"""Whether the ``aec`` extra (WebRTC echo cancellation, livekit) is installed, and the one-line
error when it is needed but missing; light, so that `talk` can refuse ``--echo aec`` before
numpy or any device loads (voicecli.audio.echo re-exports both)."""

from __future__ import annotations

import importlib.util

from voicecli.errors import UsageError

AEC_HINT = "pip install 'voicecli[aec]'"


def aec_available() -> bool:
    """Whether the ``aec`` extra (livekit) is installed, without importing it."""
    return importlib.util.find_spec("livekit") is not None


def aec_missing(detail: str = "") -> UsageError:
    """The one-line error for ``--echo aec`` without the extra."""
    suffix = f" [{detail}]" if detail else ""
    return UsageError(f"--echo aec needs WebRTC echo cancellation: {AEC_HINT} "
                      f"(or use --echo gate){suffix}")


__all__ = ["AEC_HINT", "aec_available", "aec_missing"]
