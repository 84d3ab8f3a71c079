"""Keep native libraries from writing over the live screen.

PortAudio and ALSA print straight to file descriptor 2 ("underrun occurred", assertion notes),
which tears the Rich live region (../shared/audio-testing.md pitfall 4). While the screen is up,
fd 2 goes to a file; afterwards it is restored and the user is told, in one line, what was held
back and where it is.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def stderr_to_file(notice: list[str]) -> Iterator[Path | None]:
    """Redirect fd 2 into a temporary file for the block; append a summary line to `notice`."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="voicecli-talk-", suffix=".stderr.log")
    path = Path(name)
    try:
        os.dup2(fd, 2)
        yield path
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
        _summarise(path, notice)


def _summarise(path: Path, notice: list[str]) -> None:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if not lines:
        path.unlink(missing_ok=True)
        return
    notice.append(f"voicecli: the audio system printed {len(lines)} line(s) during the session; "
                  f"kept in {path}")
