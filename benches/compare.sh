#!/usr/bin/env bash
# Whole-process comparisons of roster with the tools a consultant would otherwise use, at
# 1M generated users (and 100k for the per-stage comparisons). Installs sqlite-utils,
# csv-diff and frictionless into benches/.venv, builds roster in release mode, runs
# benches/compare.py, and writes BENCHMARKS.md at the repository root.
#
#   bash benches/compare.sh            # the full run (about 15 minutes on 2 cores)
#   USERS=100000 bash benches/compare.sh   # a quick rehearsal at a tenth of the size
#   ONLY=push bash benches/compare.sh      # the push against curl alone, printed only
set -euo pipefail
cd "$(dirname "$0")/.."
command -v curl >/dev/null || { echo "compare.sh needs curl (apt-get install curl)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "compare.sh needs the sqlite3 command-line shell (apt-get install sqlite3)" >&2; exit 1; }
if [ ! -x benches/.venv/bin/python ]; then
  python3 -m venv benches/.venv
  benches/.venv/bin/pip install --quiet sqlite-utils csv-diff frictionless
fi
cargo build --release --quiet
exec benches/.venv/bin/python benches/compare.py "$@"
