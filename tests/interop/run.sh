#!/usr/bin/env bash
# Runs the OpenAI Python SDK interop tests against the release binary.
# Creates (once) a virtualenv outside the checkout with the real `openai` package and pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${LLMSCOPE_VENV:-/var/tmp/llmscope-venv}"
if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "openai>=1.66,<3" "pytest>=7"
fi
export LLMSCOPE_BIN="${LLMSCOPE_BIN:?set LLMSCOPE_BIN to the llmscope binary}"
exec "$venv/bin/pytest" -q "$here" "$@"
