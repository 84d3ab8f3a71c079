#!/usr/bin/env bash
# Set up voicecli in ./.venv on a fresh Debian/Ubuntu machine, then start `voicecli talk`.
#   ./scripts/setup.sh            set up, then run `voicecli talk`
#   ./scripts/setup.sh --only     set up and stop
#   VOICECLI_EXTRAS=dev ./scripts/setup.sh --only   the test tools (with aec, local) instead
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
ldconfig -p 2>/dev/null | grep -q 'libportaudio.so.2' || need_apt+=(libportaudio2)  # sounddevice
if ((${#need_apt[@]})) && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

python3 - <<'PY' || { echo "setup: voicecli needs Python 3.11 or newer" >&2; exit 2; }
import sys; sys.exit(sys.version_info < (3, 11))
PY

[ -x .venv/bin/python ] || python3 -m venv .venv
# default extras: aec (WebRTC echo cancellation, ~30 MB) so `talk` works on laptop speakers, and
# local (the offline engine: Whisper, Piper, ~690 MB) so it works with no API key
extras="[${VOICECLI_EXTRAS:-aec,local}]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
echo "setup: ready: $(.venv/bin/voicecli --version) in $(pwd)/.venv" >&2

[ "${1:-}" = "--only" ] && exit 0
exec .venv/bin/voicecli talk "$@"
