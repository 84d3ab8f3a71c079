"""Images for the wire (§6): JPEG/PNG only, fitted within 1024×1024; frames as JPEG; and the one
line a missing video extra costs."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from voicecli.errors import InputFileError, UsageError
from voicecli.video.imaging import encode_frame, load_image
from voicecli.video.sources import CameraSource, ScreenSource, SyntheticSource, open_source


def saved(tmp_path: Path, name: str, size: tuple[int, int], fmt: str) -> Path:
    path = tmp_path / name
    PILImage.new("RGB", size, (200, 40, 40)).save(path, fmt)
    return path


def decoded(data: bytes) -> PILImage.Image:
    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image


def test_a_small_image_is_sent_as_it_is(tmp_path: Path) -> None:
    path = saved(tmp_path, "small.jpg", (640, 480), "JPEG")
    image = load_image(path)
    assert image.mime_type == "image/jpeg" and image.data == path.read_bytes()
    assert (image.width, image.height) == (640, 480)


def test_a_large_image_is_fitted_and_keeps_its_format(tmp_path: Path) -> None:
    image = load_image(saved(tmp_path, "big.png", (3000, 1500), "PNG"))
    assert image.mime_type == "image/png" and (image.width, image.height) == (1024, 512)
    assert decoded(image.data).size == (1024, 512) and decoded(image.data).format == "PNG"


@pytest.mark.parametrize(("name", "make", "fragment"), [
    ("anim.gif", lambda p: PILImage.new("RGB", (8, 8)).save(p, "GIF"), "GIF is not supported"),
    ("notes.jpg", lambda p: p.write_text("not an image"), "not a readable image"),
])
def test_anything_else_is_one_line(tmp_path: Path, name: str, make, fragment: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    make(path)
    with pytest.raises(InputFileError, match=fragment) as info:
        load_image(path)
    assert "JPEG or PNG" in str(info.value)
    with pytest.raises(InputFileError, match="cannot read --image"):
        load_image(tmp_path / "missing.png")


def test_frames_become_jpegs_within_1024() -> None:
    source = SyntheticSource(1920, 1080)
    first, second = source.grab(), source.grab()
    assert first.shape == (1080, 1920, 3) and not np.array_equal(first, second)
    image = encode_frame(first)
    assert image.mime_type == "image/jpeg" and (image.width, image.height) == (1024, 576)
    assert decoded(image.data).format == "JPEG" and decoded(image.data).size == (1024, 576)


def test_a_missing_extra_is_one_line_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = saved(tmp_path, "x.png", (8, 8), "PNG")
    for module, call, package in (("PIL", lambda: load_image(path), "Pillow"),
                                  ("cv2", lambda: CameraSource(0), "opencv-python-headless"),
                                  ("mss", lambda: ScreenSource(1), "mss")):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
        with pytest.raises(UsageError) as info:
            call()
        assert package in str(info.value) and "pip install 'voicecli[video]'" in str(info.value)


def test_one_video_source_at_a_time() -> None:
    with pytest.raises(UsageError, match="either --camera or --screen"):
        open_source(camera=0, screen=1)
