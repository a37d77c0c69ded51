#!/usr/bin/env bash
# Install vocluster (and, with `test`, what the test suite needs).
# torch: if none is installed, put the CPU build on (this machine kind ships the
# torch 2.13.0 CPU wheel, so no CUDA packages are pulled). A torch you already
# have is kept; set TORCH_SPEC to choose another build.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
    "$PYTHON" -m pip install -q --disable-pip-version-check "${TORCH_SPEC:-torch==2.13.0}"
fi
extras=""
if [ "${1:-}" = "test" ]; then extras="[test]"; fi
"$PYTHON" -m pip install -q --disable-pip-version-check -e ".${extras}"
