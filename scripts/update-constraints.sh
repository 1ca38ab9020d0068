#!/usr/bin/env bash
# Re-resolve the test/CI pins: a fresh venv takes the newest releases that pyproject.toml's
# ranges allow, then `pip freeze` writes them to constraints.txt. Run the README's test
# command afterwards and commit constraints.txt only if it passes.
#   scripts/update-constraints.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/venv"
python3 -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install -q "pip==26.3"
pip install -q -e ".[test,llamacpp]"
{
    echo "# Pins for the test suite and CI: pip install -c constraints.txt -e \".[test,llamacpp]\""
    echo "# Regenerate with scripts/update-constraints.sh (see the README's Test section)."
    echo "# Local version labels (+cpu) are stripped: torch==X matches the CPU and CUDA builds."
    pip freeze --exclude-editable | sed -E 's/\+[A-Za-z0-9.]+$//' | sort -f
} > constraints.txt
echo "wrote constraints.txt ($(grep -c '==' constraints.txt) pins) from $venv"
