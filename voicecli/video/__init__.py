"""Video input (live-protocol.md §3.3, §6): still images for `ask --image`, and camera or screen
frames for `talk --camera` / `talk --screen`, sent as JPEG `realtimeInput.video` at ≤ 1 FPS.

Needs the `video` extra (`pip install 'voicecli[video]'`): Pillow (decode, resize, JPEG encode),
mss (screen capture through X11/Quartz/GDI with ctypes) and opencv-python-headless (cameras).
Each is imported only when used, so a missing one costs one clear line, not an import error.
"""
