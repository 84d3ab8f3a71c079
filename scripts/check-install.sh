#!/usr/bin/env bash
# `pipx install '.[local]'` and `uv tool install .` each give a working `voicecli`: both tools are
# installed into a scratch venv, and each installs this checkout with all its dependencies (no
# --no-deps: a dependency missing from pyproject.toml fails here) into scratch homes, removed
# afterwards. The installed command must report this checkout's version and show its help; with
# the `local` extra it answers a question on the embedded local engine, without it (the client
# only) it says in one line how to get a key or the engine. pip's and uv's caches keep reruns quick.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY' || { echo "check-install: needs Python 3.11 or newer" >&2; exit 2; }
import sys; sys.exit(sys.version_info < (3, 11))
PY

scratch=$(mktemp -d "${TMPDIR:-/tmp}/voicecli-install.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
want="voicecli $(sed -n 's/^__version__ = "\(.*\)"$/\1/p' voicecli/__init__.py)"

python3 -m venv "$scratch/tools"
"$scratch/tools/bin/python" -m pip install -q --disable-pip-version-check pipx uv 2>&1 |
  { grep -v "^WARNING: Location" >&2 || true; }

check() {  # check <how> <path of the installed voicecli> <local|client>
  local how=$1 exe=$2 kind=$3 version got
  [ -x "$exe" ] || { echo "check-install: $how gave no voicecli at $exe" >&2; exit 1; }
  version=$("$exe" --version)
  [ "$version" = "$want" ] || { echo "check-install: $how: '$version', expected '$want'" >&2; exit 1; }
  got=$("$exe" --help)
  [[ $got == *transcribe* ]] || { echo "check-install: $how: --help lacks commands" >&2; exit 1; }
  if [ "$kind" = client ]; then  # no key, no offline engine: one line naming both ways
    if env -u GEMINI_API_KEY -u GOOGLE_API_KEY XDG_CONFIG_HOME="$scratch/xdg" \
        "$exe" ask "hello" 2>"$scratch/ask.log"; then
      echo "check-install: $how: ask worked with no key and no local engine?" >&2; exit 1
    fi
    [[ $(cat "$scratch/ask.log") == *"voicecli[local]"* && $(wc -l <"$scratch/ask.log") -eq 1 ]] ||
      { echo "check-install: $how: no one-line hint:" >&2; cat "$scratch/ask.log" >&2; exit 1; }
    echo "check-install: $how: $version; --help works, ask says how to get an engine" >&2
    return
  fi
  # a real round trip: the embedded local engine (websockets, the server, the codec) answers
  got=$(env -u GEMINI_API_KEY -u GOOGLE_API_KEY XDG_CONFIG_HOME="$scratch/xdg" \
        "$exe" ask "what is the capital of France" 2>"$scratch/ask.log") ||
    { cat "$scratch/ask.log" >&2; exit 1; }
  [[ ${got,,} == *"capital of france"* ]] || { echo "check-install: $how: ask said '$got'" >&2; exit 1; }
  echo "check-install: $how: $version; --help and ask work" >&2
}

PIPX_HOME="$scratch/pipx" PIPX_BIN_DIR="$scratch/pipx-bin" PIPX_MAN_DIR="$scratch/pipx-man" \
  "$scratch/tools/bin/pipx" install --quiet '.[local]' >/dev/null
check "pipx install '.[local]'" "$scratch/pipx-bin/voicecli" local

UV_TOOL_DIR="$scratch/uv-tools" UV_TOOL_BIN_DIR="$scratch/uv-bin" UV_PYTHON_DOWNLOADS=never \
  "$scratch/tools/bin/uv" tool install --quiet --python python3 . >/dev/null
check "uv tool install ." "$scratch/uv-bin/voicecli" client
