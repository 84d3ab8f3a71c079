"""The Live loop: finished turns go to the scrollback, the turn in progress stays live.

rich's Live runs its own refresh thread unless ``auto_refresh=False``; here the event loop owns
the cadence and pushes whole frames, so no other thread ever reads the mutable ViewState
(style-guide §4, §13). A frame is drawn only when what it shows changed (render.frame_key, and
the terminal's size): listening to a quiet room repaints nothing. ``python -m voicecli.ui.live``
shows it on made-up state.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

from rich.console import Console
from rich.live import Live

from voicecli.ui.render import frame_key, render, render_turn
from voicecli.ui.state import ViewState

REFRESH_HZ = 12.0


class LiveView:
    """`with LiveView(console) as view: await view.run(state)` — redraws at most at REFRESH_HZ,
    and only frames that changed."""

    def __init__(self, console: Console, hz: float = REFRESH_HZ) -> None:
        self.console = console
        self.period = 1.0 / hz
        self._live = Live(console=console, auto_refresh=False, transient=False,
                          redirect_stdout=False, redirect_stderr=False)
        self.frames = 0
        self._drawn: tuple[object, ...] | None = None  # frame_key and size of the last frame

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.stop()

    def draw(self, state: ViewState) -> None:
        """Print finished turns above the live region, then repaint it."""
        self._drawn = (frame_key(state), self.console.size)
        for turn in state.take_finished():
            rendered = render_turn(turn, labels=state.labels)
            if rendered is not None:
                self._live.console.print(rendered)
        self._live.update(render(state), refresh=True)
        self.frames += 1

    async def run(self, state: ViewState) -> None:
        """Redraw until cancelled, on a steady clock (a slow frame does not shift later ones)."""
        next_at = time.monotonic()
        while True:
            if state.finished or (frame_key(state), self.console.size) != self._drawn:
                self.draw(state)
            next_at += self.period
            delay = next_at - time.monotonic()
            if delay < 0:  # fell behind (a stalled machine): skip frames rather than queue them
                next_at = time.monotonic()
                delay = 0
            await asyncio.sleep(delay)


def _demo() -> None:  # pragma: no cover - a manual demo
    from voicecli.ui.state import Status

    state = ViewState(status=Status.LISTENING, where="gemini-3.8-live · demo")

    async def script() -> None:
        view_task = asyncio.create_task(view.run(state))
        for word in "what is the weather like in Paris today".split():
            state.status = Status.USER_SPEAKING
            state.turn.user += (" " if state.turn.user else "") + word
            state.mic_dbfs = -20.0
            await asyncio.sleep(0.15)
        state.status, state.mic_dbfs = Status.SPEAKING, -70.0
        for word in "It is sunny in Paris, about twenty degrees.".split():
            state.turn.model += (" " if state.turn.model else "") + word
            await asyncio.sleep(0.15)
        state.finish_turn()
        state.status = Status.LISTENING
        await asyncio.sleep(0.5)
        view_task.cancel()

    with LiveView(Console()) as view:
        asyncio.run(script())


if __name__ == "__main__":  # pragma: no cover
    _demo()
