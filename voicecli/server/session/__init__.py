"""The server's middle room: one accepted Live session on the protocol side — client messages in,
model turns out through the outbox — with its resumption handles, usage estimates, injected
faults and the speech parts driven from asyncio.

It may import `engines`, never `transport` (tests/server/test_rooms.py).
"""
