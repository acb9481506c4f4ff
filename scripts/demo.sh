#!/usr/bin/env bash
# The README's main command: set up on a fresh machine, then run the instructor demo
# (release the student edition, autograde the sample submissions, grade table, feedback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/cs-convnet-course demo "$@"
