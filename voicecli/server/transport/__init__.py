"""The server's outer room: listening, the HTTP front (REST, 404/503), the WebSocket connection,
credentials and TLS, admitting a `setup`, and assembling the local engine from the settings.

It may import `session` and `engines`; neither imports it (tests/server/test_rooms.py).
"""
