"""Every error voicecli raises on purpose, and the exit code each one maps to.

The tree (one funnel, ``voicecli.cli.main``, turns these into one stderr line and an exit code):

    VoicecliError                      exit 1  unexpected
    ├── UsageError                     exit 2  bad flags, bad config, bad input file
    │   ├── ConfigError
    │   ├── InputFileError
    │   └── CapabilityError                    the model rejects a setting (live-protocol.md §7)
    ├── ProtocolError                  exit 1
    │   ├── LocalProtocolError                 our own code misused the protocol
    │   └── RemoteProtocolError        exit 3  the peer broke the protocol (broken frame, order)
    ├── NetworkError                   exit 3  unreachable, abnormal close (1006), timeouts
    │   ├── SetupTimeout
    │   └── ServiceUnavailable                 1011 internal / deadline / unavailable (retryable)
    ├── AuthenticationError            exit 4  missing or rejected API key / token
    ├── ServiceRefused                 exit 5  model not found, policy, quota, invalid argument
    ├── AudioDeviceError               exit 6  no device, PortAudio missing, device lost, silent mic
    └── Several                        the most severe of its errors' codes (talk's task group)

Messages say what to do. Nothing here may carry an API key: callers pass reasons that came from
the service or from our own text, never a URL with a query string or a header value.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Self


class ExitCode(IntEnum):
    """Documented process exit codes (README "Exit codes")."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NETWORK = 3
    AUTH = 4
    REFUSED = 5
    AUDIO_DEVICE = 6
    INTERRUPTED = 130


#: Most severe first: a bug outranks what it may have caused; what the user must fix (flags,
#: credentials, a refusal, a device) outranks a transient network failure; an interrupt is last.
SEVERITY = (ExitCode.UNEXPECTED, ExitCode.USAGE, ExitCode.AUTH, ExitCode.REFUSED,
            ExitCode.AUDIO_DEVICE, ExitCode.NETWORK, ExitCode.INTERRUPTED, ExitCode.OK)


class VoicecliError(Exception):
    """Base of every error voicecli raises on purpose."""

    exit_code: ExitCode = ExitCode.UNEXPECTED
    code: str = "error"  # short machine-readable name for NDJSON `error` events
    close_code: int | None = None  # the WebSocket close that meant this error (§5.9), if any
    close_reason: str = ""

    def closed_with(self, code: int, reason: str) -> Self:
        """This error, marked as what the close `code` / `reason` meant."""
        self.close_code, self.close_reason = code, reason
        return self


class UsageError(VoicecliError):
    exit_code = ExitCode.USAGE
    code = "usage"


class ConfigError(UsageError):
    code = "config"


class InputFileError(UsageError):
    code = "input_file"


class CapabilityError(UsageError):
    """The chosen model is known to reject a setting; refused before anything is sent."""

    code = "capability"


class ProtocolError(VoicecliError):
    code = "protocol"


class LocalProtocolError(ProtocolError):
    """Our own code tried something the protocol does not allow in the current state."""

    code = "local_protocol"


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow (broken frame, wrong order)."""

    exit_code = ExitCode.NETWORK  # not our bug: the peer failed, like a broken connection
    code = "remote_protocol"


class NetworkError(VoicecliError):
    exit_code = ExitCode.NETWORK
    code = "network"


class SetupTimeout(NetworkError):
    code = "setup_timeout"


class ServiceUnavailable(NetworkError):
    """The service failed on its side (1011 internal, deadline, unavailable). Retryable."""

    code = "service_unavailable"


class AuthenticationError(VoicecliError):
    exit_code = ExitCode.AUTH
    code = "auth"


class ServiceRefused(VoicecliError):
    """The service refused the request: model not found, policy, quota, invalid argument."""

    exit_code = ExitCode.REFUSED
    code = "refused"


class AudioDeviceError(VoicecliError):
    """A sound device cannot be used: none, PortAudio missing, gone mid-session, a silent mic."""

    exit_code = ExitCode.AUDIO_DEVICE
    code = "audio_device"


class SessionClosed(VoicecliError):
    """The connection closed with a code; ``classify`` turns it into the right error."""

    def __init__(self, close_code: int, reason: str = "") -> None:
        super().__init__(f"connection closed ({close_code}) {reason}".strip())
        self.close_code = close_code
        self.close_reason = self.reason = reason


def exit_code_of(error: BaseException) -> ExitCode:
    """The documented exit code an error ends the process with (anything unplanned: 1)."""
    return error.exit_code if isinstance(error, VoicecliError) else ExitCode.UNEXPECTED


class Several(VoicecliError):
    """Errors that happened together (the tasks of one talk session): each is reported on a
    line of its own; the process exits with the most severe one's code (SEVERITY)."""

    def __init__(self, errors: Sequence[BaseException]) -> None:
        super().__init__("; ".join(str(e) or type(e).__name__ for e in errors))
        self.errors = tuple(errors)
        self.exit_code = min((exit_code_of(e) for e in self.errors), key=SEVERITY.index)
        worst = next(e for e in self.errors if exit_code_of(e) is self.exit_code)
        self.code = worst.code if isinstance(worst, VoicecliError) else "unexpected"
