from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_native_stderr_is_held_back_while_the_screen_is_up(tmp_path: Path) -> None:
    # in a child: fd 2 is the pipe we read, so we see exactly what reaches the terminal
    code = """
import os
from voicecli.talk.stderr import stderr_to_file
notice = []
with stderr_to_file(notice) as path:
    os.write(2, b"ALSA lib pcm.c: underrun occurred\\n")
os.write(2, b"after\\n")
print(notice[0]); print(path); print(open(path).read().strip())
with stderr_to_file(notice) as quiet:
    pass
print(len(notice), os.path.exists(quiet))
"""
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "after\n"  # the library's line never reached the terminal
    summary, path, kept, tail = done.stdout.splitlines()
    assert "printed 1 line(s)" in summary and summary.endswith(f"kept in {path}")
    assert Path(path).parent == tmp_path  # in $TMPDIR, where the user's temporary files go
    assert kept == "ALSA lib pcm.c: underrun occurred"
    assert tail == "1 False"  # nothing held back: no notice, no file left behind
