"""Images for the Live API: decode, check, fit within 1024×1024, encode (§6).

§6: frames are JPEG (or PNG) images, ≤ 1 FPS; Google's cookbook fits each frame within
1024×1024 before sending, which is what `MAX_SIDE` does here (the token cost per frame is set by
`mediaResolution`, not by the pixel size, so a larger frame buys nothing).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecli.errors import InputFileError, UsageError

MAX_SIDE = 1024  # §6 (cookbook): fit within 1024×1024
JPEG_QUALITY = 80
VIDEO_HINT = "pip install 'voicecli[video]'"
_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}  # what realtimeInput.video carries (§6)


@dataclass(frozen=True)
class Image:
    """An encoded image ready for the wire."""

    mime_type: str
    data: bytes
    width: int
    height: int


def missing_extra(what: str, package: str) -> UsageError:
    """The one line for a feature whose extra is not installed."""
    return UsageError(f"{what} needs {package} (the video extra): {VIDEO_HINT}")


def pillow(what: str = "images") -> Any:
    """`PIL.Image`, or one clear line saying how to install it."""
    try:
        from PIL import Image as pil_image
    except ImportError:
        raise missing_extra(what, "Pillow") from None
    return pil_image


def load_image(path: Path, max_side: int = MAX_SIDE) -> Image:
    """A JPEG or PNG file for `ask --image`: kept as it is when it fits, else resized within
    `max_side` and re-encoded in its own format. Anything else is one line (exit 2)."""
    pil = pillow("--image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read --image {path}: {exc.strerror or exc}") from None
    try:
        with pil.open(io.BytesIO(data)) as img:
            kind = img.format or "unknown"
            if kind not in _FORMATS:
                raise InputFileError(f"--image {path}: {kind} is not supported; give a JPEG or "
                                     "PNG image")
            img.load()
            if max(img.size) <= max_side:
                return Image(_FORMATS[kind], data, *img.size)
            return _encode(_fit(img, max_side), kind)
    except InputFileError:
        raise
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise InputFileError(f"--image {path}: not a readable image; give a JPEG or PNG "
                             "image") from None


def encode_frame(frame: Any, max_side: int = MAX_SIDE, quality: int = JPEG_QUALITY) -> Image:
    """A video frame (a PIL image, or an H×W×3 RGB uint8 array) as a JPEG within `max_side`."""
    pil = pillow("video")
    img = frame if isinstance(frame, pil.Image) else pil.fromarray(frame, "RGB")
    return _encode(_fit(img, max_side), "JPEG", quality)


def _fit(img: Any, max_side: int) -> Any:
    if max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale)))
    return img.resize(size, pillow().Resampling.LANCZOS)


def _encode(img: Any, kind: str, quality: int = JPEG_QUALITY) -> Image:
    out = io.BytesIO()
    if kind == "JPEG":
        img = img.convert("RGB") if img.mode != "RGB" else img
        img.save(out, "JPEG", quality=quality)
    else:
        img.save(out, "PNG", optimize=True)
    return Image(_FORMATS[kind], out.getvalue(), *img.size)
