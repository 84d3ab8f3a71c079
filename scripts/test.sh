#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian/Ubuntu clone, by itself (pytest arguments pass through:
# ./scripts/test.sh tests/protocol -q). It brings up everything the suite needs:
#   - ./.venv with the test tools (scripts/setup.sh), if missing;
#   - Xvfb (the screen-capture tests) and openssl (`serve --tls` without `cryptography`), via apt;
#   - a private PulseAudio daemon with the virtual mic and speaker (scripts/va-up.sh; it installs
#     pulseaudio, espeak-ng and tmux when missing) for the audio and end-to-end tests.
# Everything it makes lives in one directory made for this run (mktemp; TMPDIR points there too),
# removed at the end with its audio daemon: two runs on one host never share or stop each other's.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c 'import pytest, voicecli, google.genai' 2>/dev/null; then
  VOICECLI_EXTRAS=dev ./scripts/setup.sh --only
fi

missing=()
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v openssl >/dev/null || missing+=(openssl)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || { echo "test: the suite needs ${missing[*]} (install them)" >&2; exit 2; }
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "test: installing ${missing[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/voicecli-test.XXXXXX")
export VOICECLI_TEST_VA_DIR="$run_dir/va"
cleanup() {
  VA_DIR="$VOICECLI_TEST_VA_DIR" ./scripts/va-down.sh
  rm -rf "$run_dir"
}
trap cleanup EXIT
VA_DIR="$VOICECLI_TEST_VA_DIR" ./scripts/va-up.sh
# shellcheck disable=SC1091
source "$VOICECLI_TEST_VA_DIR/env"   # in-process audio tests use the virtual devices too
mkdir "$run_dir/tmp"
export TMPDIR="$run_dir/tmp"

status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
