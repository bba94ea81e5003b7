#!/usr/bin/env bash
# Growth of a first plan without rules (tenant `default`: no hooks, no checks) from 1M to 5M
# users: how much of the plan's cost grows faster than the input. Prints wall time, CPU time
# (user + system) and peak memory per size, and the ratios. On a shared machine the wall
# ratio follows the load of the other processes (the 5M plan runs five times longer, so it
# meets more of it); the CPU ratio does not, so read the two together. Needs ~4 GB of free
# disk under $TMPDIR.
#
#   bash benches/growth.sh [ROSTER_BINARY]      # RUNS=3 for the median of three
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
roster="$(realpath "${1:-$repo/target/release/roster}")"
runs="${RUNS:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# Median wall seconds, with the CPU seconds and peak MiB of that run, of `runs` first plans
# of FILE.
first_plan() {
  for _ in $(seq "$runs"); do
    rm -f ws.db ws.db-journal
    /usr/bin/time -f "%e %U %S %M" "$roster" --db ws.db --rules "$repo/rules" --tenant default -q \
      plan "$1" --summary 2>&1 >/dev/null | tail -1
  done | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { printf "%s %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }'
}

declare -A wall cpu mem
for users in 1000000 5000000; do
  "$roster" generate --users "$users" --base "users-$users.csv" --clean >/dev/null
  read -r wall[$users] cpu[$users] mem[$users] < <(first_plan "users-$users.csv")
  rm -f "users-$users.csv"
  echo "first plan without rules, $users users: ${wall[$users]} s (CPU ${cpu[$users]} s), ${mem[$users]} MiB"
done
awk -v a="${wall[1000000]}" -v b="${wall[5000000]}" -v c="${cpu[1000000]}" -v d="${cpu[5000000]}" \
  -v m="${mem[1000000]}" -v n="${mem[5000000]}" \
  'BEGIN { printf "growth 1M -> 5M: time x%.2f (CPU x%.2f), memory x%.2f\n", b / a, d / c, n / m }'
