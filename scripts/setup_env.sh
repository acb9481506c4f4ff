#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtual environment in .venv with the
# package (Cython fast paths compiled) and, with --test, what the tests need,
# including Debian's chromium (browser test) and bubblewrap (grading sandbox).
set -euo pipefail
cd "$(dirname "$0")/.."
extra=course
[ "${1:-}" = "--test" ] && extra=test
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[$extra]"
if [ "$extra" = test ] && { ! command -v chromium >/dev/null || ! command -v bwrap >/dev/null; }; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq chromium bubblewrap >/dev/null
    else
        echo "note: install chromium and bubblewrap (as root: apt-get install chromium bubblewrap);" \
             "the browser test is skipped and grading falls back to rlimits without them" >&2
    fi
fi
.venv/bin/python -c "import cs_convnet.fast_layers as f; print('cs_convnet installed; fast layer backend:', f.BACKEND)" 2>/dev/null \
    || .venv/bin/python -c "import cs_convnet; print('cs_convnet installed')"
