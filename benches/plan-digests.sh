#!/usr/bin/env bash
# A refactoring guard: prints one SHA-256 per plan, state and export that roster makes of the
# shipped examples and of generated data. Run it with the binary before a change and after;
# the two listings must be identical when the change is not meant to alter behaviour.
#
#   bash benches/plan-digests.sh [ROSTER_BINARY] [USERS]    # default: target/release/roster, 20000
#   diff <(bash benches/plan-digests.sh old/roster) <(bash benches/plan-digests.sh)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
roster="$(realpath "${1:-$repo/target/release/roster}")"
users="${2:-20000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$repo/fixtures" fixtures
cp -r "$repo/rules" rules
cp -r "$repo/benches/rules/bench" rules/bench

r() { "$roster" -q "$@"; }
digest() { printf '%-44s %s\n' "$1" "$(sha256sum | cut -c1-16)"; }
plan_json() { r "$@" --output json | digest "plan $*"; }
state_json() { r "$@" state show --output json | digest "state $*"; }
export_dir() {
  local name="$1"; shift
  rm -rf "out-$name"
  r "$@" --out "out-$name" >/dev/null
  (cd "out-$name" && find . -type f | sort | xargs cat) | digest "export $name"
}

# acme-hr: a reference table, hooks, checks; eSystems.
r --tenant acme-hr ref load location fixtures/acme-hr/location.csv >/dev/null
plan_json --tenant acme-hr plan fixtures/acme-hr/employees.csv
r --tenant acme-hr apply latest >/dev/null
state_json --tenant acme-hr
export_dir acme-esystems --tenant acme-hr export latest --vendor esystems

# contoso-entra: the Entra template; Field Squared with an export hook.
r --tenant contoso-entra ref load location fixtures/contoso-entra/location.csv >/dev/null
plan_json --tenant contoso-entra plan fixtures/contoso-entra/users.csv
export_dir contoso-fieldsquared --tenant contoso-entra export latest --vendor fieldsquared

# default: a week and its delta, with and without --sync; ServicePower.
plan_json plan fixtures/default/users.csv
r apply latest >/dev/null
plan_json plan fixtures/default/next-week.csv
plan_json plan --sync fixtures/default/next-week.csv
export_dir default-servicepower export latest --vendor servicepower
state_json

# Generated users through the benchmark pack: a first load, then the next snapshot.
r generate --users "$users" --base base.csv --next next.csv >/dev/null
printf 'id,code\nL0,OSL\nL1,BER\nL2,CHI\nL3,LYO\nL4,MAD\n' > locations.csv  # as compare.py
r --tenant bench ref load location locations.csv >/dev/null
plan_json --tenant bench plan base.csv
r --tenant bench apply latest >/dev/null
plan_json --tenant bench plan --sync next.csv
export_dir bench-servicepower --tenant bench export latest --vendor servicepower
export_dir bench-esystems --tenant bench export latest --vendor esystems
r --tenant bench apply latest >/dev/null
state_json --tenant bench
