#!/usr/bin/env bash
# Run the whole test suite (sets up ./.venv with the test tools first if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import pytest, voicecli, google.genai' 2>/dev/null; then
  VOICECLI_EXTRAS=dev ./scripts/setup.sh --only
fi
exec .venv/bin/python -m pytest "$@"
