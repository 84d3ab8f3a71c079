"""The server's inner room: what answers a turn — the engine interface, the echo assistant, the
OpenAI-compatible brain (and finding one on this machine), the translation echo and the
stand-ins for the service's own tools.

It imports nothing else of the server (tests/server/test_rooms.py).
"""
