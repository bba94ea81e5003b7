"""Reading other formats: 100,000 users from .xlsx and from .csv.gz against the same users
as plain CSV.

Whole process, `roster plan FILE --limit 1` into a fresh workspace, release build, the
default tenant (no rules, so reading is as large a share of the time as it gets). The runs
alternate the three files, RUNS times each (default 5), so a change in the machine's speed
falls on all three; the median is reported with the fastest and slowest run and the peak
memory of the median run (GNU time's maximum resident set size). The table goes into
BENCHMARKS.md under "## Reading other formats" (after "## Analysis", which compare.py keeps);
notes written by hand under `###` headings in that section are kept.

    cargo build --release && python3 benches/inputs.py
"""

import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "target" / "release" / "roster"
USERS = int(os.environ.get("USERS", "100000"))
RUNS = int(os.environ.get("RUNS", "5"))
HEADING = "## Reading other formats"


def column(index):
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_xlsx(csv_path, xlsx_path):
    """The CSV as a workbook the way Excel writes one: every text in a shared-strings table,
    the parts deflated."""
    import csv

    strings, index, rows = [], {}, []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for record in csv.reader(f):
            cells = []
            for text in record:
                if text not in index:
                    index[text] = len(strings)
                    strings.append(text)
                cells.append(index[text])
            rows.append(cells)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    doc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>']
    for r, cells in enumerate(rows, start=1):
        sheet.append(f'<row r="{r}">')
        for c, s in enumerate(cells):
            sheet.append(f'<c r="{column(c)}{r}" t="s"><v>{s}</v></c>')
        sheet.append("</row>")
    sheet.append("</sheetData></worksheet>")
    shared = [f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(strings)}">']
    shared.extend(f"<si><t>{escape(s)}</t></si>" for s in strings)
    shared.append("</sst>")
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{rels}"><Relationship Id="rId1" Type="{doc}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{doc}"><sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{rels}"><Relationship Id="rId1" Type="{doc}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{doc}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": "".join(sheet),
        "xl/sharedStrings.xml": "".join(shared),
    }
    with zipfile.ZipFile(xlsx_path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text.encode("utf-8"))


def timed(path, work):
    """One run: (seconds, peak MiB)."""
    db = work / "run.db"
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    os.sync()
    command = ["/usr/bin/time", "-f", "%M", ROSTER, "--db", db, "--rules", work / "rules", "-q",
               "plan", path, "--limit", "1"]
    started = time.perf_counter()
    done = subprocess.run(list(map(str, command)), cwd=work, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2, 4, 6):
        sys.exit(f"failed ({done.returncode}): {path}\n{done.stderr}")
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def summary(path, work):
    db = work / "check.db"
    db.unlink(missing_ok=True)
    out = subprocess.run([str(ROSTER), "--db", str(db), "--rules", str(work / "rules"), "-q",
                          "plan", str(path), "--output", "json"], cwd=work, capture_output=True,
                         text=True)
    import json
    return json.loads(out.stdout)["summary"]


def main():
    if not ROSTER.exists():
        sys.exit("build roster first: cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "rules").mkdir()
        subprocess.run([str(ROSTER), "generate", "--users", str(USERS), "--base", "users.csv"],
                       cwd=work, check=True, stdout=subprocess.DEVNULL)
        with open(work / "users.csv", "rb") as f, gzip.open(work / "users.csv.gz", "wb", compresslevel=6) as g:
            g.write(f.read())
        write_xlsx(work / "users.csv", work / "users.xlsx")
        files = ["users.csv", "users.csv.gz", "users.xlsx"]
        sizes = {f: (work / f).stat().st_size for f in files}
        expected = summary(work / "users.csv", work)
        for f in files[1:]:
            if summary(work / f, work) != expected:
                sys.exit(f"{f} does not plan as users.csv")
        samples = {f: [] for f in files}
        for _ in range(RUNS):
            for f in files:
                samples[f].append(timed(work / f, work))
    csv_median = statistics.median(s for s, _ in samples["users.csv"])
    lines = [
        HEADING,
        "",
        f"Measured by `python3 benches/inputs.py` ({RUNS} runs of each file, alternated; the "
        f"machine is shared, so the spread is given). Data: `roster generate --users {USERS}` "
        "(12 text columns), the same users as CSV, as `.csv.gz` (gzip level 6) and as `.xlsx` "
        "(shared strings, deflated, as Excel writes them). Command: `roster plan FILE --limit 1` "
        "into a fresh workspace, default tenant (no rules), release build; every file plans to "
        "the same summary.",
        "",
        "| file | size | time (median, fastest–slowest) | peak memory | vs CSV | target |",
        "|---|---|---|---|---|---|",
    ]
    targets = {"users.csv": "—", "users.csv.gz": "≤ 1.3× CSV", "users.xlsx": "≤ 5 s, ≤ 300 MiB"}
    for f in files:
        times = sorted(s for s, _ in samples[f])
        median = statistics.median(times)
        peak = sorted(samples[f])[len(times) // 2][1]
        lines.append(
            f"| `{f}` | {sizes[f] / 1e6:.1f} MB | {median:.2f} s ({times[0]:.2f}–{times[-1]:.2f}) "
            f"| {peak:.0f} MiB | {median / csv_median:.2f}× | {targets[f]} |"
        )
    section = "\n".join(lines) + "\n"
    print(section)
    target = ROOT / "BENCHMARKS.md"
    text = target.read_text()
    if HEADING in text:
        # Keeps the notes written by hand under `###` headings, and the sections after.
        start = text.index(HEADING)
        rest = text[start + len(HEADING):]
        end = rest.find("\n## ")
        body, after = (rest, "") if end < 0 else (rest[:end + 1], rest[end + 1:])
        notes = body[body.index("\n### ") + 1:] if "\n### " in body else ""
        text = text[:start] + section + ("\n" + notes if notes else "") + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    target.write_text(text)
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
