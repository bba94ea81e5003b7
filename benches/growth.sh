#!/usr/bin/env bash
# Growth of a first plan without rules (tenant `default`: no hooks, no checks) from 1M to 5M
# users: how much of the plan's cost grows faster than the input. Prints wall time and peak
# memory per size, and the ratios. Needs ~4 GB of free disk under $TMPDIR.
#
#   bash benches/growth.sh [ROSTER_BINARY]      # RUNS=3 for the median of three
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
roster="$(realpath "${1:-$repo/target/release/roster}")"
runs="${RUNS:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# Median wall seconds and peak MiB of `runs` first plans of FILE.
first_plan() {
  for _ in $(seq "$runs"); do
    rm -f ws.db ws.db-journal
    /usr/bin/time -f "%e %M" "$roster" --db ws.db --rules "$repo/rules" --tenant default -q \
      plan "$1" --summary 2>&1 >/dev/null | tail -1
  done | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { printf "%s %.0f\n", $1, $2 / 1024 }'
}

declare -A wall mem
for users in 1000000 5000000; do
  "$roster" generate --users "$users" --base "users-$users.csv" --clean >/dev/null
  read -r wall[$users] mem[$users] < <(first_plan "users-$users.csv")
  rm -f "users-$users.csv"
  echo "first plan without rules, $users users: ${wall[$users]} s, ${mem[$users]} MiB"
done
awk -v a="${wall[1000000]}" -v b="${wall[5000000]}" -v m="${mem[1000000]}" -v n="${mem[5000000]}" \
  'BEGIN { printf "growth 1M -> 5M: time x%.2f, memory x%.2f\n", b / a, n / m }'
