"""Whole-process comparisons of roster with the tools a consultant would otherwise use.

Run through benches/compare.sh, which installs the Python tools into benches/.venv and builds
roster in release mode. Each workload runs RUNS times (default 3); the median is reported,
with the peak memory of the median run (GNU time's maximum resident set size). The results,
with the commands and the machine, go to BENCHMARKS.md at the repository root.
"""

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "target" / "release" / "roster"
EMULATOR = ROOT / "target" / "release" / "roster-emulator"
TOKEN = "bench-token"
RULES = ROOT / "benches" / "rules"
VENV_BIN = ROOT / "benches" / ".venv" / "bin"
USERS = int(os.environ.get("USERS", "1000000"))
SMALL = USERS // 10
RUNS = int(os.environ.get("RUNS", "3"))
LOCATIONS = "id,code\nL0,OSL\nL1,BER\nL2,CHI\nL3,LYO\nL4,MAD\n"


def run(command, cwd, setup=None, runs=None):
    """Runs `command` RUNS times (after `setup` each time); returns (median s, its peak MiB)."""
    samples = []
    for _ in range(runs or RUNS):
        if setup:
            setup()
        # The setup's writes (copies of a 1 GB workspace) go to disk now, not during the run.
        os.sync()
        timed = ["/usr/bin/time", "-f", "%M", *map(str, command)]
        started = time.perf_counter()
        done = subprocess.run(timed, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode not in (0, 2, 4, 6):
            sys.exit(f"failed ({done.returncode}): {' '.join(map(str, command))}\n{done.stderr}")
        peak_kib = int(done.stderr.strip().splitlines()[-1])
        samples.append((elapsed, peak_kib / 1024))
    samples.sort()
    return samples[len(samples) // 2]


def roster(*args, db, tenant="bench"):
    return [ROSTER, "--db", db, "--rules", RULES, "--tenant", tenant, "-q", *args]


def one_cpu(command):
    """The command pinned to one CPU, so that a row shows what a second core adds."""
    return ["taskset", "-c", "0", *command]


def both(command, cwd, setup=None):
    """`command` on all CPUs and pinned to one: (median s, peak MiB) of each."""
    return run(command, cwd, setup), run(one_cpu(command), cwd, setup)


def sh(command, cwd):
    subprocess.run(list(map(str, command)), cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fresh(path):
    def setup():
        for suffix in ("", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    return setup


def copy_of(source, target):
    def setup():
        shutil.copyfile(source, target)
    return setup


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    sqlite = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout.split()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, {platform.system()} {platform.release()}; sqlite3 {sqlite}; roster {commit}"


class Emulator:
    """A roster-emulator on a fixed loopback port, started afresh (no users) by `restart`."""

    def __init__(self, work):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.work = work
        self.process = None

    def restart(self):
        self.stop()
        env = {**os.environ, "ROSTER_SERVICEPOWER_TOKEN": TOKEN}
        self.process = subprocess.Popen([EMULATOR, "--port", str(self.port)], cwd=self.work, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.process.stdout.readline()  # "listening on …": it accepts from now on

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None


def push_workload(work, empty, record):
    """A SMALL-user ServicePower push (batch 500, concurrency 4) to the emulator on loopback,
    against curl posting the same exported files 4 at a time to a fresh emulator."""
    sh([ROSTER, "generate", "--users", SMALL, "--base", "push.csv", "--clean"], work)
    planned = work / "push-planned.db"
    shutil.copyfile(empty, planned)
    sh(roster("plan", "push.csv", "--limit", "1", db=planned), work)
    exported = work / "push-exported.db"
    shutil.copyfile(planned, exported)
    files = work / "push-files"
    shutil.rmtree(files, ignore_errors=True)
    sh(roster("export", "1", "--vendor", "servicepower", "--out", files, db=exported), work)
    emulator = Emulator(work)
    push_db = work / "push.db"

    def fresh_push():
        shutil.copyfile(planned, push_db)
        emulator.restart()

    os.environ["ROSTER_SERVICEPOWER_TOKEN"] = TOKEN
    try:
        push = roster("push", "1", "--vendor", "servicepower", "--endpoint", emulator.url, "--batch-size", "500",
                      "--concurrency", "4", db=push_db)
        curl = ["curl", "--silent", "--fail", "--parallel", "--parallel-max", "4"]
        for n, batch in enumerate(sorted(files.glob("servicepower-*.json"))):
            if n:
                curl.append("--next")
            curl += ["--output", "/dev/null", "-H", f"x-access-token: {TOKEN}", "-H", "content-type: application/json",
                     "--data-binary", f"@{batch}", f"{emulator.url}/seiapi/v3/bulk/Users"]
        # Alternated, one run of each at a time, so a busy moment of the machine hits both.
        ours, theirs, pinned = [], [], []
        for _ in range(RUNS):
            ours.append(run(push, work, fresh_push, runs=1))
            theirs.append(run(curl, work, emulator.restart, runs=1))
            pinned.append(run(one_cpu(push), work, fresh_push, runs=1))
        print("push samples (s):", [round(t, 2) for t, _ in ours], "curl:", [round(t, 2) for t, _ in theirs], flush=True)
        ours, theirs, pinned = (sorted(samples)[len(samples) // 2] for samples in (ours, theirs, pinned))
    finally:
        emulator.stop()
    record(f"push of a {SMALL:,}-create plan to the ServicePower emulator (batch 500, concurrency 4)",
           "roster push 1 --vendor servicepower --endpoint URL", ours, theirs, "≤ 1.2×, ≤ 100 MiB",
           "curl --parallel --parallel-max 4 posting the exported files", one=pinned)


def esystems_workload(work, empty, record):
    """An eSystems export of a --sync plan on a tenant of 0.3×USERS users: each location's file
    holds all the users it keeps (DeleteNotExists), the heaviest export roster writes."""
    users = USERS * 3 // 10
    sh([ROSTER, "generate", "--users", users, "--base", "sync-base.csv", "--next", "sync-next.csv"], work)
    db = work / "sync.db"
    shutil.copyfile(empty, db)
    sh(roster("plan", "sync-base.csv", "--limit", "1", db=db), work)
    sh(roster("apply", "latest", db=db), work)
    sh(roster("plan", "sync-next.csv", "--sync", "--limit", "1", db=db), work)
    out = work / "sync-out"
    kept = iter(range(2 * RUNS))

    def set_aside():
        if out.exists():
            out.rename(work / f"sync-out-{next(kept)}")

    export, export_one = both(roster("export", "latest", "--vendor", "esystems", "--out", out, db=db), work, set_aside)
    record(f"eSystems export of a --sync plan, {users:,}-user tenant", "roster export latest --vendor esystems --out DIR",
           export, target="≤ 1.5 s, ≤ 300 MiB", one=export_one)


def main():
    work = Path(tempfile.mkdtemp(prefix="roster-bench-"))
    rows = []

    def record(name, command, ours, theirs=None, target=None, compare=None, note="", one=None):
        ratio = ours[0] / theirs[0] if theirs else None
        rows.append((name, command, ours, one, theirs, ratio, target, compare, note))
        print(f"{name}: {ours[0]:.2f} s, {ours[1]:.0f} MiB" + (f" (1 CPU {one[0]:.2f} s)" if one else "")
              + (f" vs {theirs[0]:.2f} s (x{ratio:.2f})" if theirs else ""), flush=True)

    if os.environ.get("ONLY") == "push":
        # The push alone, printed and not written to BENCHMARKS.md (its table is a whole run).
        empty = work / "empty.db"
        (work / "locations.csv").write_text(LOCATIONS)
        sh(roster("ref", "load", "location", "locations.csv", db=empty), work)
        push_workload(work, empty, record)
        shutil.rmtree(work, ignore_errors=True)
        return

    # Data: a base snapshot and a next one (5% changed, 2% removed, 3% added), at both sizes.
    for users, tag in ((USERS, "big"), (SMALL, "small")):
        sh([ROSTER, "generate", "--users", users, "--base", f"base-{tag}.csv", "--next", f"next-{tag}.csv"], work)
        sh([ROSTER, "generate", "--users", users, "--base", f"clean-base-{tag}.csv", "--next", f"clean-next-{tag}.csv", "--clean"], work)
    (work / "locations.csv").write_text(LOCATIONS)
    empty = work / "empty.db"
    sh(roster("ref", "load", "location", "locations.csv", db=empty), work)

    def loaded(tag):
        db = work / f"loaded-{tag}.db"
        shutil.copyfile(empty, db)
        sh(roster("plan", f"base-{tag}.csv", "--limit", "1", db=db), work)
        sh(roster("apply", "latest", db=db), work)
        return db

    # 1. First load: plan + apply into an empty state, against sqlite3 .import.
    sqlite_import = run(["sqlite3", "import.db", ".import --csv base-big.csv t"], work, fresh(work / "import.db"))
    first = work / "first.db"
    plan_first, plan_one = both(roster("plan", "base-big.csv", "--limit", "1", db=first), work, copy_of(empty, first))
    planned = work / "planned.db"
    shutil.copyfile(first, planned)
    apply_first, apply_one = both(roster("apply", "latest", db=first), work, copy_of(planned, first))
    together = (plan_first[0] + apply_first[0], max(plan_first[1], apply_first[1]))
    together_one = (plan_one[0] + apply_one[0], max(plan_one[1], apply_one[1]))
    record(f"first load of {USERS:,} users (plan + apply)", "roster plan base.csv && roster apply latest", together,
           sqlite_import, "≤ 3.0× (plan ≤ 2.3×, apply ≤ 0.7×)", "sqlite3 new.db \".import --csv base.csv t\"",
           f"plan {plan_first[0]:.2f} s ({plan_first[0] / sqlite_import[0]:.2f}×) + apply {apply_first[0]:.2f} s "
           f"({apply_first[0] / sqlite_import[0]:.2f}×); on 1 CPU plan {plan_one[0]:.2f} s + apply {apply_one[0]:.2f} s",
           one=together_one)

    # 2./3. The delta plan against the stored users, --sync.
    big = loaded("big")
    delta_db = work / "delta.db"
    delta, delta_one = both(roster("plan", "next-big.csv", "--sync", "--limit", "1", db=delta_db), work,
                            copy_of(big, delta_db))
    import_next = run(["sqlite3", "import.db", ".import --csv next-big.csv t"], work, fresh(work / "import.db"))
    record(f"delta plan, {USERS:,} against {USERS:,} stored, --sync", "roster plan next.csv --sync", delta, import_next,
           "≤ 1.5×", "sqlite3 new.db \".import --csv next.csv t\"", one=delta_one)
    utils_db = work / "utils.db"
    sh([VENV_BIN / "sqlite-utils", "insert", "utils-base.db", "t", "clean-base-big.csv", "--csv", "--pk", "external_id"], work)
    upsert = run([VENV_BIN / "sqlite-utils", "upsert", utils_db, "t", "clean-next-big.csv", "--csv", "--pk", "external_id"], work,
                 copy_of(work / "utils-base.db", utils_db))
    record("the same delta", "roster plan next.csv --sync", delta, upsert, "≤ 0.06×",
           "sqlite-utils upsert db t next.csv --csv --pk external_id (cannot delete)", one=delta_one)

    # 4. Keyed diff alone, at the small size, without rules.
    plain = work / "plain.db"
    fresh(plain)()
    sh(roster("plan", "clean-base-small.csv", "--limit", "1", db=plain, tenant="default"), work)
    sh(roster("apply", "latest", db=plain, tenant="default"), work)
    plain_delta = work / "plain-delta.db"
    diff, diff_one = both(roster("plan", "clean-next-small.csv", "--sync", "--limit", "1", db=plain_delta, tenant="default"),
                          work, copy_of(plain, plain_delta))
    csv_diff = run([VENV_BIN / "csv-diff", "clean-base-small.csv", "clean-next-small.csv", "--key=external_id"], work)
    record(f"keyed diff alone, {SMALL:,}", "roster plan next.csv --sync (no rules)", diff, csv_diff, "≤ 0.10×",
           "csv-diff base.csv next.csv --key=external_id", one=diff_one)

    # 5. Declarative checks alone, at the small size: the file checked, nothing planned or stored.
    checks_db = work / "checks.db"
    checks, checks_one = both(roster("rules", "check", "--data", "clean-base-small.csv", "--limit", "1", db=checks_db,
                                     tenant="constraints"), work, fresh(checks_db))
    shutil.copyfile(ROOT / "benches" / "constraints.schema.json", work / "schema.json")
    frictionless = run([VENV_BIN / "frictionless", "validate", "--schema", "schema.json", "clean-base-small.csv"], work)
    record(f"declarative checks alone, {SMALL:,}", "roster rules check --data base.csv (Required, Unique, Pattern)", checks,
           frictionless, "≤ 0.05×", "frictionless validate --schema schema.json base.csv", one=checks_one)

    # 6. Export of a 1M-create plan to ServicePower files.
    out = work / "out"
    kept = iter(range(2 * RUNS))

    def set_aside():
        # Renamed, not deleted: ext4 scans past recently deleted inodes when it allocates new
        # ones, which would bill the last run's 2,000 deletions to this one.
        if out.exists():
            out.rename(work / f"out-{next(kept)}")

    export, export_one = both(roster("export", "1", "--vendor", "servicepower", "--out", out, db=big), work, set_aside)
    record(f"export of a {USERS:,}-create plan to ServicePower", "roster export 1 --vendor servicepower --out DIR", export,
           target="≤ 1.0 s per million", one=export_one)

    # 7./8. Memory of the delta plan, and growth from the small size to the big one.
    small = loaded("small")
    small_delta = run(roster("plan", "next-small.csv", "--sync", "--limit", "1", db=delta_db), work, copy_of(small, delta_db))
    record(f"peak memory of the {USERS:,} delta plan", "as 2.", delta, target="≤ 300 MiB", one=delta_one)
    record(f"growth {SMALL:,} → {USERS:,} (delta plan)", "as 2., at both sizes", delta,
           small_delta, "time ≤ 11×, memory ≤ 2×", note=f"memory ×{delta[1] / small_delta[1]:.2f}")

    # 9. Push through the emulator, against curl posting the exported files.
    push_workload(work, empty, record)

    # 10. The eSystems full sync: every location's remaining users in one request per location.
    esystems_workload(work, empty, record)

    write(rows)
    shutil.rmtree(work, ignore_errors=True)


def write(rows):
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `bash benches/compare.sh` on {time.strftime('%Y-%m-%d')}: {machine()}.",
        f"Each figure is the median of {RUNS} runs (wall-clock seconds, and the peak resident memory of that run);",
        "roster runs on every CPU of the machine, and again pinned to one (`taskset -c 0`) to show what the second adds.",
        f"Data: `roster generate` ({USERS:,} users, 12 columns, with dirt; next snapshot 5% changed, 2% removed, 3% added).",
        "Tenant `bench` (benches/rules/bench): a Rhai `map` and `validate` hook, Required, Unique and Pattern checks and one lookup.",
        "",
        "| workload | roster | on 1 CPU | compared with | their time | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, command, ours, one, theirs, ratio, target, compare, note in rows:
        ours_text = f"{ours[0]:.2f} s, {ours[1]:.0f} MiB" + (f" ({note})" if note else "")
        one_text = f"{one[0]:.2f} s" + (f" ({one[0] / theirs[0]:.2f}×)" if theirs else "") if one else "—"
        lines.append(
            f"| {name} | {ours_text}<br>`{command}` | {one_text} | {compare or '—'} | "
            f"{f'{theirs[0]:.2f} s' if theirs else '—'} | {f'{ratio:.2f}×' if ratio else '—'} | {target or '—'} |"
        )
    # The hand-written analysis below the table survives a new run.
    target = ROOT / "BENCHMARKS.md"
    previous = target.read_text() if target.exists() else ""
    analysis = previous[previous.index("## Analysis"):] if "## Analysis" in previous else ""
    target.write_text("\n".join(lines) + "\n\n" + analysis)
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
