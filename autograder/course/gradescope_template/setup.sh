#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image
# (Ubuntu; the zip is unpacked at /autograder/source). It installs Python 3.11+
# and bubblewrap from apt when missing, makes /autograder/venv and installs the
# course's wheel there, its dependencies from the package index.
#
# Optional environment (the project's tests use them; Gradescope sets none):
#   CS_CONVNET_PYTHON        the Python to make the virtual environment with
#   CS_CONVNET_VENV_OPTIONS  extra options of `python -m venv`
#   CS_CONVNET_DEPENDENCY_SITE  a site-packages folder whose packages the venv
#                            sees (written into a .pth file): pip then finds the
#                            dependencies installed and needs no index
#   PIP_NO_INDEX, PIP_FIND_LINKS, ...  pip's own settings
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$SOURCE")"
VENV="$ROOT/venv"
export DEBIAN_FRONTEND=noninteractive

new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

PYTHON="${CS_CONVNET_PYTHON:-}"
if [ -z "$PYTHON" ]; then
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null && new_enough "$candidate"; then PYTHON="$candidate"; break; fi
    done
fi
if [ -z "$PYTHON" ]; then
    apt-get update -q && apt-get install -y -q python3.11 python3.11-venv
    PYTHON=python3.11
fi
if ! new_enough "$PYTHON"; then
    echo "setup.sh: error: $PYTHON is older than Python 3.11" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    apt-get update -q && apt-get install -y -q "python$version-venv"
fi
if ! command -v bwrap >/dev/null; then
    # The grader falls back to rlimits without it, and says so in every results.json.
    (apt-get update -q && apt-get install -y -q bubblewrap) \
        || echo "setup.sh: bubblewrap could not be installed; grading runs without it" >&2
fi

rm -rf "$VENV"
# shellcheck disable=SC2086  # the options are words
"$PYTHON" -m venv ${CS_CONVNET_VENV_OPTIONS:-} "$VENV"
if [ -n "${CS_CONVNET_DEPENDENCY_SITE:-}" ]; then
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$CS_CONVNET_DEPENDENCY_SITE" > "$site/cs-convnet-dependencies.pth"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
WHEEL="$(ls "$SOURCE"/wheels/cs_convnet-*.whl)"
# nbgrader and Jupyter (the course extra) only when notebooks are graded
EXTRA="$("$VENV/bin/python" -c 'import json, sys; print("[course]" if json.load(open(sys.argv[1]))["notebooks"] else "")' \
    "$SOURCE/gradescope.json")"
# The wheel itself first (replacing any copy visible to the venv), then what it needs.
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$WHEEL"
"$VENV/bin/python" -m pip install -q "$WHEEL$EXTRA"
if [ -f "$SOURCE/assets/nbgrader_config.py" ]; then
    # the course's nbgrader settings, where the installed grader looks for them
    config="$(cd "$SOURCE" && "$VENV/bin/python" -c 'from autograder.course.layout import COURSE_CONFIG; print(COURSE_CONFIG)')"
    mkdir -p "$(dirname "$config")"
    cp "$SOURCE/assets/nbgrader_config.py" "$config"
fi
"$VENV/bin/python" -c 'import autograder.course.gradescope, cs_convnet.layers'
echo "setup.sh: the grader is installed in $VENV"
