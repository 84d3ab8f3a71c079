"""The one task that writes to the socket: frames out, in order, with faults applied.

Producers call `ServerSession.send_*()` and then `Outbox.push()` (synchronous, so the order of
frames is the order of the calls) and `await Outbox.drain()` where they want backpressure. Only
the writer task awaits `websocket.send`, so cancelling a producer (barge-in) never cuts a frame
in half, and an `interrupted` frame queued by another task goes out right behind what was
already queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicecli.server.session.faults import MALFORMED_FRAME, After, FrameFaults, close_reason

log = logging.getLogger("voicecli.server")


MAX_REASON_BYTES = 123  # RFC 6455 §5.5: control frame payload ≤ 125, minus the 2-byte code


def fit_reason(reason: str) -> str:
    """`reason` cut to what a close frame can carry, on a UTF-8 character boundary."""
    data = reason.encode("utf-8")[:MAX_REASON_BYTES]
    return data.decode("utf-8", errors="ignore")


class Outbox:
    def __init__(
        self,
        ws: ServerConnection,
        pull: Callable[[], list[bytes]],
        faults: FrameFaults,
    ) -> None:
        self._ws = ws
        self._pull = pull
        self._faults = faults
        self._queue: asyncio.Queue[bytes | tuple[int, str]] = asyncio.Queue()
        self.closed = asyncio.Event()  # set once the writer stopped (close sent or socket gone)
        self.frames_sent = 0
        self.on_first_reply_audio: Callable[[], None] | None = None  # goaway-in-reply
        self._closing = False
        self._unsent = 0
        self._idle = asyncio.Event()  # set when nothing is queued (or the writer has stopped)
        self._idle.set()

    def push(self) -> None:
        """Queue everything the session has produced since the last push."""
        if self.closed.is_set():
            self._pull()  # keep the session's buffer from growing after the end
            return
        for data in self._pull():
            self._queue.put_nowait(data)
            self._unsent += 1
            self._idle.clear()

    async def drain(self) -> None:
        """Wait until every queued frame has been written (or the writer has stopped)."""
        self.push()
        await self._idle.wait()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (§5.9: errors are reported by closing).

        Only the first close counts; the reason is cut to the 123 bytes a close frame holds."""
        if self._closing:
            return
        self._closing = True
        self.push()
        self._queue.put_nowait((code, fit_reason(reason)))

    async def run(self) -> None:
        """The writer task: send until closed."""
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, tuple):
                    await self._close(*item)
                    return
                sent = await self._send(item)
                self._unsent -= 1
                if self._unsent == 0:
                    self._idle.set()
                if not sent:
                    return
        except ConnectionClosed:
            log.debug("connection closed while sending")
        finally:
            self._stop()

    async def _send(self, data: bytes) -> bool:
        faults = self._faults
        if faults.delay_s:
            await asyncio.sleep(faults.delay_s)
        if faults.malformed_before_next():
            await self._ws.send(MALFORMED_FRAME, text=False)
        await self._ws.send(data, text=False)  # §2: the service sends binary frames
        self.frames_sent += 1
        if faults.first_reply_audio(data) and self.on_first_reply_audio is not None:
            self.on_first_reply_audio()
        action, code = faults.after_send()
        if action is After.DROP:
            log.debug("fault: dropping the connection after %d frames", faults.sent)
            self._ws.transport.abort()
            return False
        if action is After.CLOSE:
            log.debug("fault: closing %d after %d frames", code, faults.sent)
            await self._close(code, close_reason(code))
            return False
        return True

    async def _close(self, code: int, reason: str) -> None:
        self._closing = True
        self._stop()
        await self._ws.close(code, reason)

    def _stop(self) -> None:
        self.closed.set()
        self._idle.set()  # nothing more goes out; release waiters in drain()
        while not self._queue.empty():
            self._queue.get_nowait()
