#!/usr/bin/env bash
# Creates the project-local venv of the text probe (.venv-text-probe/ at the repository root, git-ignored) and
# installs the pinned requirements from the package registry. Idempotent: an existing venv is reused.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-text-probe"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --requirement "$here/requirements.txt"
"$venv/bin/python" -c 'import tensorflow as tf, numpy as np; print("tensorflow", tf.__version__, "numpy", np.__version__)'
