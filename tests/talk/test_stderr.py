from __future__ import annotations

import os
import subprocess
import sys


def test_native_stderr_is_held_back_while_the_screen_is_up() -> None:
    # in a child: fd 2 is the pipe we read, so we see exactly what reaches the terminal
    code = """
import os
from voicecli.talk.stderr import stderr_to_file
notice = []
with stderr_to_file(notice) as path:
    os.write(2, b"ALSA lib pcm.c: underrun occurred\\n")
os.write(2, b"after\\n")
print(notice[0]); print(open(path).read().strip())
with stderr_to_file(notice) as quiet:
    pass
print(len(notice), os.path.exists(quiet))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0, done.stderr
    assert done.stderr == "after\n"  # the library's line never reached the terminal
    summary, kept, tail = done.stdout.splitlines()
    assert "printed 1 line(s)" in summary
    assert kept == "ALSA lib pcm.c: underrun occurred"
    assert tail == "1 False"  # nothing held back: no notice, no file left behind
