"""How the server's catch-alls report a failure they keep from taking the server down."""

from __future__ import annotations

import logging

log = logging.getLogger("voicecli.server")


def log_failure(session_id: str, what: str, exc: BaseException) -> None:
    """One WARNING line naming the session and the error (no traceback on the user's terminal),
    then the traceback at DEBUG (`--debug`)."""
    detail = " ".join(str(exc).split())
    log.warning("session %s: %s: %s%s", session_id, what, type(exc).__name__,
                f": {detail}" if detail else "")
    log.debug("session %s: %s", session_id, what, exc_info=exc)
