"""Giving freed native memory back to the operating system.

The speech models (Silero's ggml graph, pocketsphinx decoders of ~95 MB) are allocated with
malloc in many pieces of a few hundred KB. glibc serves pieces of that size from the heap once
its dynamic mmap threshold has risen, and a heap with live allocations above the freed ones
cannot shrink: measured, loading and freeing two Silero models per session grew the server by
~0.5 MB a session, and freeing six of ten decoders returned only 240 of their 570 MB. Pools keep
the models that are reused; `release_free_memory` returns what a pool did not keep.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger("voicecli.speech")


@functools.cache
def _malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc.malloc_trim if libc is not None else None  # glibc only
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """`malloc_trim(0)`: free heap pages go back to the OS (glibc; elsewhere a no-op).
    Costs about a millisecond per 100 MB of heap; call it after freeing a model, not per frame."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)  # type: ignore[operator]
    return True
