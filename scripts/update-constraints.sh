#!/usr/bin/env bash
# Re-resolve the test/CI pins: a fresh venv takes the newest releases that pyproject.toml's
# ranges allow, then `pip freeze` writes them to constraints.txt. Run the README's test
# command afterwards and commit constraints.txt only if it passes.
#   scripts/update-constraints.sh                      # from the repository root
#   TORCH_VERSION=2.14.1 scripts/update-constraints.sh # move the torch pin too
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/venv"
python3 -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install -q "pip==26.3"
# torch stays at the release whose CPU build lies on this project's machines; a plain
# resolve would take the newest torch, which from PyPI is a multi-GB CUDA build.
pip install -q "torch==${TORCH_VERSION:-2.13.0}"
pip install -q -e ".[test,llamacpp]"
{
    echo "# Pins for the test suite and CI: pip install -c constraints.txt -e \".[test,llamacpp]\""
    echo "# Regenerate with scripts/update-constraints.sh (see the README's Test section)."
    echo "# Local version labels (+cpu) are stripped: torch==X matches the CPU and CUDA builds."
    pip freeze --exclude-editable | sed -E 's/\+[A-Za-z0-9.]+$//' | sort -f
} > constraints.txt
echo "wrote constraints.txt ($(grep -c '==' constraints.txt) pins) from $venv"
