"""Offline speech parts for the local engine: ``asr``, ``tts`` and ``vad``."""
