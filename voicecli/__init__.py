"""voicecli: a terminal client for the Gemini Live API, and a local Live-compatible server."""

__version__ = "0.1.0"
