"""The recognition processes start from the allow-listed environment (issue 13 §6): no key or
token voicecli's process holds reaches them. Checked on the real child, in /proc."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "from voicecli.speech import asr_process as a\n"
    "a.probe('pocketsphinx')\n"
    "pid = a.process_id(0)\n"
    "print(open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace'))\n"
)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc (Linux)")
def test_no_key_reaches_the_recognition_process(tmp_path: Path) -> None:
    secrets = {"VOICECLI_API_KEY": "key-in-voicecli", "GEMINI_API_KEY": "gemini-key-value",
               "VOICECLI_BRAIN_KEY": "brain-key-value", "AWS_SECRET_ACCESS_KEY": "aws-value",
               "GITHUB_TOKEN": "gh-token-value"}
    env = {**os.environ, **secrets, "LANG": "C.UTF-8"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    child = dict(item.split("=", 1) for item in done.stdout.strip().split("\0") if "=" in item)
    assert child.get("LANG") == "C.UTF-8" and "PATH" in child  # the base list is passed on
    for name, value in secrets.items():
        assert name not in child and value not in done.stdout, name
    assert str(ROOT) in child["PYTHONPATH"].split(os.pathsep)  # voicecli importable from here
