"""`voicecli token create` and `--token`, and `--backend vertex`, as real subprocesses against
`voicecli serve` in a subprocess (live-protocol.md §1.1, §1.4, §1.5, §8). A token is printed
only by `token create` on stdout: never on stderr, never in a log line, `--debug` included."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import (
    SECRET,
    assert_one_line_error,
    clean_env,
    default_sigint,
    free_port,
    voicecli,
)

TEXT_MODEL = "gemini-live-2.5-flash-preview"
VERTEX_TOKEN = "ya29.fake-gcloud-token-0123456789"


class Served:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def args(self, *extra: str) -> list[str]:
        return ["--base-url", self.url, *extra]


def serve(tmp: Path, key: str) -> Iterator[Served]:
    """`voicecli --debug serve` (debug logs to a file) requiring `key`."""
    port = free_port()
    log = tmp / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicecli", "--debug", "serve", "--port", str(port),
             "--pace", "0", "--require-key", key],
            env=clean_env(tmp), stderr=err, text=True, preexec_fn=default_sigint,
        )
    deadline = time.monotonic() + 30
    while "listening on" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", log)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("serve"), SECRET)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, GEMINI_API_KEY=SECRET)


def create(served: Served, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return voicecli("token", "create", *served.args(*args), env=env)


def mint(served: Served, env: dict[str, str], *args: str) -> str:
    proc = create(served, env, *args)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout.strip()


def test_create_prints_the_token_alone_or_the_resource(served: Served, env: dict[str, str]):
    proc = create(served, env)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("auth_tokens/") and len(lines[0]) == 76
    proc = create(served, env, "--json", "--uses", "0", "--expire", "2h",
                  "--new-session-expire", "90s", "--api-version", "v1alpha")
    assert proc.returncode == 0, proc.stderr
    resource = json.loads(proc.stdout)
    assert resource["name"].startswith("auth_tokens/") and resource["uses"] == 0
    assert resource["expireTime"].endswith("Z") and "bidiGenerateContentSetup" not in resource


def test_a_locked_token_wins_over_the_clients_setup(served: Served, env: dict[str, str]):
    token = mint(served, env, "--lock-config", "-m", TEXT_MODEL, "--response", "text",
                 "--system", "Be brief.")
    user = clean_env(Path(env["XDG_CONFIG_HOME"]).parent, VOICECLI_TOKEN=token)  # no key
    proc = voicecli("ask", *served.args("--response", "audio", "--json"), "locked text",
                    env=user)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = {e["type"] for e in events}
    assert "text" in kinds and "audio" not in kinds  # the lock said TEXT
    assert "".join(e["text"] for e in events if e["type"] == "text") == "You said: locked text."


def test_a_token_starts_its_sessions_then_is_refused(served: Served, env: dict[str, str]):
    token = mint(served, env)  # one use
    proc = voicecli("ask", *served.args("--token", token), "with a token", env=env)
    assert proc.returncode == 0 and "with a token" in proc.stdout.lower(), proc.stderr
    again = voicecli("ask", *served.args("--token", token), "again", env=env)
    assert_one_line_error(again, 4, "voicecli token create")
    assert token not in again.stderr


def test_past_new_session_expire_a_token_is_refused(served: Served, env: dict[str, str]):
    token = mint(served, env, "--uses", "5", "--new-session-expire", "1s")
    time.sleep(1.2)
    proc = voicecli("ask", *served.args("--token", token), "too late", env=env)
    assert_one_line_error(proc, 4, "expired")


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (("--api-key", "AIza-wrong-key-000"), 4, "refused the API key"),
    (("--expire", "soon"), 2, "--expire: not a duration"),
    (("--expire", "21h"), 2, "less than 20 hours"),
    (("--uses", "-1"), 2, "--uses"),
    (("--backend", "vertex"), 2, "Vertex AI has none"),
    (("--api-version", "v1"), 2, "v1alpha and v1beta"),
])
def test_bad_requests_are_one_line(
    served: Served, env: dict[str, str], args: tuple[str, ...], code: int, fragment: str
) -> None:
    proc = create(served, env, *args)
    assert_one_line_error(proc, code, fragment)
    assert proc.stdout == "" and SECRET not in proc.stderr


def test_unreachable_and_keyless(tmp_path: Path) -> None:
    env = clean_env(tmp_path, GEMINI_API_KEY=SECRET)
    proc = voicecli("token", "create", "--base-url", f"http://127.0.0.1:{free_port()}", env=env)
    assert_one_line_error(proc, 3, "cannot connect")
    assert_one_line_error(voicecli("token", "create", env=clean_env(tmp_path)), 4, "API key")


def test_the_token_never_reaches_stderr_or_logs(served: Served, env: dict[str, str]) -> None:
    proc = voicecli("--debug", "token", "create", *served.args(), env=env)
    token = proc.stdout.strip()
    assert proc.returncode == 0 and token.startswith("auth_tokens/")
    assert token not in proc.stderr and SECRET not in proc.stderr
    asked = voicecli("ask", "--debug", *served.args("--token", token), "debug hello", env=env)
    assert asked.returncode == 0, asked.stderr
    assert "Authorization" in asked.stderr  # the handshake was logged, its header redacted
    refused = voicecli("ask", "--debug", *served.args("--token", token), "again", env=env)
    assert "rejected the ephemeral token" in refused.stderr  # --debug: with its traceback
    log = served.log.read_text()
    assert "POST /v1beta/auth_tokens -> 200" in log and "ephemeral token used 1 times" in log
    for text in (asked.stderr, refused.stderr, asked.stdout, log):
        assert token not in text and token.removeprefix("auth_tokens/") not in text
        assert SECRET not in text


# ---- Vertex AI --------------------------------------------------------------------------------


def fake_gcloud(root: Path, body: str) -> dict[str, str]:
    """A `gcloud` on PATH (Google's CLI cannot log in here); nothing else on PATH."""
    bin_dir = root / "bin"
    bin_dir.mkdir()
    script = bin_dir / "gcloud"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return vertex_env(root, PATH=f"{bin_dir}:/bin")


def vertex_env(root: Path, **extra: str) -> dict[str, str]:
    """No ADC: no key file, an empty gcloud config, no metadata server; no real gcloud."""
    return clean_env(root, CLOUDSDK_CONFIG=str(root / "gcloud-config"), NO_GCE_CHECK="true",
                     **{"PATH": str(root / "no-bin"), **extra})


@pytest.fixture(scope="module")
def vertex_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("vertex"), VERTEX_TOKEN)


def vertex_args(served: Served, *extra: str) -> list[str]:
    return ["--backend", "vertex", "--project", "proj", "--location", "us-central1",
            *served.args(*extra)]


def test_vertex_with_gcloud_credentials(vertex_served: Served, tmp_path: Path) -> None:
    env = fake_gcloud(tmp_path, f'[ "$1 $2" = "auth print-access-token" ] && echo {VERTEX_TOKEN}')
    proc = voicecli("ask", "--debug", *vertex_args(vertex_served, "--json"), "hello vertex",
                    env=env)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(events[0]["session_id"]) == 36  # setupComplete.sessionId: Vertex (§8)
    assert any(e["type"] == "audio" for e in events)
    assert events[-1]["usage"]["response_tokens"] > 0  # from candidatesTokenCount (§8)
    said = "".join(e["text"] for e in events if e["type"] == "output_transcript")
    assert "hello vertex" in said.lower()
    assert VERTEX_TOKEN not in proc.stderr and VERTEX_TOKEN not in vertex_served.log.read_text()


@pytest.mark.parametrize(("gcloud", "fragment"), [
    (None, "Vertex AI needs credentials"),
    ('echo "ERROR: (gcloud.auth.print-access-token) Reauthentication required." >&2; exit 1',
     "Reauthentication required"),
])
def test_vertex_without_usable_credentials_is_one_line(
    vertex_served: Served, tmp_path: Path, gcloud: str | None, fragment: str
) -> None:
    env = vertex_env(tmp_path) if gcloud is None else fake_gcloud(tmp_path, gcloud)
    proc = voicecli("ask", *vertex_args(vertex_served), "hi", env=env)
    assert_one_line_error(proc, 4, fragment)
