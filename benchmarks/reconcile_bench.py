"""Benchmark: reconcile 1,000,000 AUDIT lines across 1,000 sessions.

1. Starts a sandbox, runs one real tagged session through psycopg (application_name and
   tags as prodsql sets them) and captures its csvlog lines.
2. Scales them up: SESSIONS sessions x STATEMENTS statements, each with its own %c, pid,
   application_name and tags, interleaved as concurrent sessions would be; and one trail
   per session written with the real TrailWriter.
3. Times, each in a fresh child process (peak RSS from getrusage): reading the file and
   CSV-parsing it, and the full reconcile (text report to /dev/null).

Usage: .venv/bin/python benchmarks/reconcile_bench.py [--sessions N] [--statements M]
       [--data DIR] [--repeat N]
Prints a markdown section; also written to benchmarks/results/reconcile.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATES = (
    "SELECT id, v FROM items WHERE id = {n}",
    "SELECT count(*) FROM items",
    "UPDATE items SET v = 'x' WHERE id = {n}",
    "SELECT id,\n  v\nFROM items -- trailing {n}",
    "INSERT INTO items VALUES ({n}, 'a,\"b\"')",
)


def capture(work: Path) -> list[list[str]]:
    """Real csvlog rows of one tagged session on the sandbox."""
    import psycopg

    from prodsql.sandbox import Sandbox

    with Sandbox(work / "sandbox") as box:
        box.admin_execute(
            "CREATE TABLE public.items (id int, v text); ALTER TABLE public.items OWNER TO dev"
        )
        app = "prodsql:OPS-1:bench:feed0000"
        conninfo = box.conninfo("dev", password="dev-password") + f" application_name={app}"
        with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) as conn:
            for seq, text in enumerate(TEMPLATES, start=1):
                conn.execute(f"/* prodsql:feed0000:seq={seq} */ " + text.format(n=seq))
        box.wait_for_log("seq=5 */", kind="csv")
        text = box.read_log("csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return [r for r in rows if len(r) > 22 and r[22] == app and r[13].startswith("AUDIT: ")]


def generate(work: Path, templates: list[list[str]], sessions: int, per: int) -> tuple[Path, Path]:
    from prodsql.trail import TrailWriter

    trails = work / "trails"
    log = work / "postgresql.csv"
    rng = random.Random(7)
    cursors = [0] * sessions
    with log.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        live = list(range(sessions))
        while live:
            s = rng.choice(live)
            cursors[s] += 1
            writer.writerow(_row(templates, s, cursors[s]))
            if cursors[s] == per:
                live.remove(s)
    for s in range(sessions):
        _trail(TrailWriter, trails, s, per)
    return trails, log


def _sid(s: int) -> str:
    return f"b{s:07x}"


def _row(templates: list[list[str]], s: int, seq: int) -> list[str]:
    row = list(templates[(seq - 1) % len(templates)])
    old_tag = row[13].split("*/", 1)[0] + "*/"
    body = TEMPLATES[(seq - 1) % len(TEMPLATES)].format(n=seq)
    fields = row[13][len("AUDIT: ") :]
    statement = f"/* prodsql:{_sid(s)}:seq={seq} */ {body}"
    row[13] = "AUDIT: " + _audit_csv(fields, seq, statement)
    del old_tag
    row[3] = str(10000 + s)
    row[5] = f"6b000000.{10000 + s:x}"
    row[22] = f"prodsql:OPS-1:bench:{_sid(s)}"
    return row


def _audit_csv(fields: str, seq: int, statement: str) -> str:
    parts = next(csv.reader([fields]))
    parts[1] = str(seq)
    parts[7] = statement
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(parts)
    return buf.getvalue()


def _trail(writer_cls: Any, directory: Path, s: int, per: int) -> None:
    sid = _sid(s)
    w = writer_cls.create(directory, session_id=sid, ticket="OPS-1")
    w.append("session_start", {"ticket": "OPS-1", "application_name": f"prodsql:OPS-1:bench:{sid}"})
    w.append(
        "connected",
        {"backend_pid": 10000 + s, "server_session_id": f"6b000000.{10000 + s:x}"},
        sync=False,
    )
    for seq in range(1, per + 1):
        text = TEMPLATES[(seq - 1) % len(TEMPLATES)].format(n=seq)
        kind = "write" if text.startswith(("UPDATE", "INSERT")) else "read"
        w.append(
            "statement",
            {
                "stmt": seq,
                "source": "-f",
                "text": text,
                "sent": f"/* prodsql:{sid}:seq={seq} */ {text}",
                "tag": f"prodsql:{sid}:seq={seq}",
                "classification": {"kind": kind, "command": text.split()[0]},
                "decision": {"action": "run", "reasons": []},
                "confirmed_by": None,
            },
            sync=False,
        )
        w.append("outcome", {"stmt": seq, "status": "ok", "rows": 1}, sync=False)
    w.close("completed", {"statements": per})


CHILD_READ = """
import csv, resource, sys
n = 0
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    for row in csv.reader(f):
        n += 1
print(n)
sys.stderr.write(f"rss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
"""

CHILD_RECONCILE = """
import os, sys
from pathlib import Path
from typing import Any
from prodsql.audit.cli import reconcile_main
sys.stdout = open(os.devnull, "w")
import resource
code = reconcile_main(["--trail", sys.argv[1], "--server-log", sys.argv[2]] + sys.argv[3:])
sys.stdout.close()
sys.stdout = sys.__stdout__
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(f"exit {code}; verify workers <= {workers} MiB each")
sys.stderr.write(f"rss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
"""


def timed(label: str, code: str, *args: str, repeat: int = 1) -> tuple[float, float, str]:
    """Wall seconds (the median of ``repeat`` runs), the child's own peak RSS in MiB (the
    largest), and its stdout; each run's time and load average go to stderr."""
    runs: list[float] = []
    rss_kib = 0
    stdout = ""
    for _ in range(repeat):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
        )
        runs.append(time.perf_counter() - start)
        rss_kib = max(rss_kib, int(proc.stderr.strip().rsplit("rss=", 1)[1]))
        stdout = proc.stdout.strip()
        print(f"  {label}: {runs[-1]:.1f} s (load {load:.2f})", file=sys.stderr)
    return statistics.median(runs), rss_kib / 1024, stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--statements", type=int, default=1000)
    p.add_argument(
        "--data",
        metavar="DIR",
        help="keep the generated log and trails in DIR and reuse them when already there",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each measurement N times and report the median (the machine is shared)",
    )
    ns = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="prodsql-bench-", dir="/tmp") as tmp:
        work = Path(ns.data) if ns.data else Path(tmp)
        trails, log, gen = _prepare(work, ns.sessions, ns.statements)
        loads = [os.getloadavg()[0]]
        read_s, read_mib, rows = timed("read + csv.reader", CHILD_READ, str(log), repeat=ns.repeat)
        rec_s, rec_mib, outcome = timed(
            "reconcile", CHILD_RECONCILE, str(trails), str(log), repeat=ns.repeat
        )
        json_s, json_mib, _ = timed(
            "reconcile --json", CHILD_RECONCILE, str(trails), str(log), "--json", repeat=ns.repeat
        )
        nov_s, nov_mib, _ = timed(
            "reconcile --no-verify",
            CHILD_RECONCILE,
            str(trails),
            str(log),
            "--no-verify",
            repeat=ns.repeat,
        )
        loads.append(os.getloadavg()[0])
        size = log.stat().st_size / 2**20
    lines = ns.sessions * ns.statements
    text = _report(
        lines,
        ns.sessions,
        size,
        gen,
        rows,
        (read_s, read_mib),
        (rec_s, rec_mib, outcome),
        (json_s, json_mib),
        (nov_s, nov_mib),
        (ns.repeat, min(loads), max(loads)),
    )
    print(text)
    out = Path(__file__).parent / "results" / "reconcile.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    return 0


def _prepare(work: Path, sessions: int, per: int) -> tuple[Path, Path, float]:
    """The trails and log in ``work``: reused when a previous run left them complete."""
    trails, log, done = work / "trails", work / "postgresql.csv", work / "complete"
    if done.exists() and done.read_text().split()[:2] == [str(sessions), str(per)]:
        return trails, log, float(done.read_text().split()[2])
    shutil.rmtree(trails, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)  # the sandbox's server user must reach its directory
    templates = capture(work)
    assert len(templates) == len(TEMPLATES), templates
    t0 = time.perf_counter()
    trails, log = generate(work, templates, sessions, per)
    gen = time.perf_counter() - t0
    done.write_text(f"{sessions} {per} {gen:.1f}")
    return trails, log, gen


def _report(
    lines: int,
    sessions: int,
    size: float,
    gen: float,
    rows: str,
    read: tuple[float, float],
    rec: tuple[float, float, str],
    js: tuple[float, float],
    nov: tuple[float, float],
    runs: tuple[int, float, float],
) -> str:
    cpu = f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    times = f"its time the median of {runs[0]} runs; " if runs[0] > 1 else ""
    return "\n".join(
        [
            "## Reconcile",
            "",
            f"`benchmarks/reconcile_bench.py`: {lines:,} csvlog AUDIT lines ({size:.0f} MiB) "
            f"across {sessions:,} sessions, scaled from a real sandbox session's lines "
            f"(PostgreSQL 15 + pgAudit), interleaved; one trail per session "
            f"(generated in {gen:.0f} s). Python {platform.python_version()}, {cpu}. "
            f"Each measurement is a fresh process ({times}peak memory is its maximum RSS); "
            f"1-minute load average {runs[1]:.2f}-{runs[2]:.2f} around them.",
            "",
            "| what | time | peak RSS |",
            "|---|---|---|",
            f"| read + `csv.reader` only ({rows} records) | {read[0]:.1f} s | {read[1]:.0f} MiB |",
            f"| `prodsql reconcile` (text report; {rec[2]}) | {rec[0]:.1f} s | {rec[1]:.0f} MiB |",
            f"| `prodsql reconcile --json` (all {lines:,} matches) | {js[0]:.1f} s "
            f"| {js[1]:.0f} MiB |",
            f"| `prodsql reconcile --no-verify` (text report) | {nov[0]:.1f} s "
            f"| {nov[1]:.0f} MiB |",
            "",
            f"Reconcile / plain CSV parse: **{rec[0] / read[0]:.1f}x**. Budget: 30 s, 500 MiB.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
