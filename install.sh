#!/usr/bin/env bash
# Install vocluster (and, with `test`, what the test suite needs).
# torch: if none is installed, put the CPU build on (this machine kind ships the
# torch 2.13.0 CPU wheel, so no CUDA packages are pulled). A torch you already
# have is kept; set TORCH_SPEC to choose another build.
# `test` also installs the real VO peers the tests start, from Debian: a TAP
# server (GAVO DaCHS on PostgreSQL), the SAMP peers (JSAMP, STILTS, TOPCAT, Xvfb) and a
# browser for the jobs page's test (Chromium and its driver, driven by Selenium).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
    "$PYTHON" -m pip install -q --disable-pip-version-check "${TORCH_SPEC:-torch==2.13.0}"
fi
extras=""
if [ "${1:-}" = "test" ]; then
    extras="[test]"
    peers="postgresql gavodachs2-server jsamp stilts topcat xvfb chromium chromium-driver"
    missing=$(for p in $peers; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || echo "install.sh: apt-get update failed; trying the cached lists"
        # PostgreSQL must run while DaCHS's package sets up its database.
        apt-get install -y -qq postgresql >/dev/null || echo "install.sh: WARNING: could not install postgresql"
        pg_ctlcluster 15 main start 2>/dev/null || true
        # shellcheck disable=SC2086
        apt-get install -y -qq $missing >/dev/null || echo "install.sh: WARNING: could not install some of: $missing"
    fi
fi
"$PYTHON" -m pip install -q --disable-pip-version-check -e ".${extras}"
