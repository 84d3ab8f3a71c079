"""Where video frames come from: the screen (mss), a camera (OpenCV), or made-up frames.

A source's `grab()` blocks (a screen grab takes a few ms, a camera read up to a frame period),
so the feed calls it on a worker thread. Each returns an H×W×3 RGB uint8 array. Sources are
opened before the session connects, so a missing display or camera fails first, in one line.
A real camera cannot be exercised on a headless test machine: its frames go through the same
pipeline as `SyntheticSource`'s (tests/video), and `CameraSource` itself is a thin wrapper.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from voicecli.errors import UsageError
from voicecli.video.imaging import missing_extra


class FrameSource(Protocol):
    label: str  # shown on screen: "camera 0", "screen 1"

    def grab(self) -> Any: ...

    def close(self) -> None: ...


class ScreenSource:
    """Monitor `monitor` (1 = the first; 0 = all of them as one image), mss's numbering."""

    def __init__(self, monitor: int = 1, display: str | None = None) -> None:
        try:
            import mss
        except ImportError:
            raise missing_extra("--screen", "mss") from None
        self.label = f"screen {monitor}"
        try:
            factory = getattr(mss, "MSS", None) or mss.mss  # mss 10 deprecates mss.mss()
            self._mss = factory(display=display) if display else factory()
        except Exception as exc:  # noqa: BLE001 - mss.ScreenShotError and ctypes failures
            raise UsageError(f"--screen: cannot capture the screen ({exc}); is there a "
                             "display (DISPLAY)?") from None
        monitors = self._mss.monitors
        if not 0 <= monitor < len(monitors):
            self._mss.close()
            raise UsageError(f"--screen {monitor}: no such monitor (there are "
                             f"{len(monitors) - 1}; 0 = all of them)")
        self._monitor = monitors[monitor]

    def grab(self) -> Any:
        shot = self._mss.grab(self._monitor)
        return np.frombuffer(shot.rgb, np.uint8).reshape(shot.height, shot.width, 3)

    def close(self) -> None:
        self._mss.close()


class CameraSource:
    """Camera `index` through OpenCV (V4L2, AVFoundation, Media Foundation)."""

    def __init__(self, index: int = 0) -> None:
        try:
            import cv2
        except ImportError:
            raise missing_extra("--camera", "opencv-python-headless") from None
        self._cv2 = cv2
        self.label = f"camera {index}"
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise UsageError(f"--camera {index}: no camera there (or no permission to use it)")

    def grab(self) -> Any:
        ok, frame = self._capture.read()
        if not ok:
            raise UsageError(f"{self.label} stopped delivering frames")
        return self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class SyntheticSource:
    """Made-up frames (a moving gradient with a frame counter in pixels): tests and demos."""

    def __init__(self, width: int = 1280, height: int = 720, label: str = "synthetic") -> None:
        self.label = label
        self.width, self.height = width, height
        self.grabbed = 0

    def grab(self) -> Any:
        self.grabbed += 1
        x = np.linspace(0, 255, self.width, dtype=np.float32)
        row = ((x + self.grabbed * 17) % 256).astype(np.uint8)
        frame = np.empty((self.height, self.width, 3), np.uint8)
        frame[:, :, 0] = row
        frame[:, :, 1] = np.linspace(0, 255, self.height, dtype=np.uint8)[:, None]
        frame[:, :, 2] = self.grabbed % 256
        return frame

    def close(self) -> None:
        return None


def open_source(camera: int | None = None, screen: int | None = None) -> FrameSource:
    """The source `talk --camera/--screen` asked for (one of them)."""
    if camera is not None and screen is not None:
        raise UsageError("give either --camera or --screen, not both")
    if camera is not None:
        return CameraSource(camera)
    if screen is not None:
        return ScreenSource(screen)
    raise UsageError("no video source given")
