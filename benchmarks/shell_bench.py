"""Shell benchmarks: time from start to the first prompt in a pseudo-terminal for psql,
pgcli and prodsql (same run, same server), and completion latency over a live catalog of
5,000 tables.

    python benchmarks/shell_bench.py [--repeat N] [--out benchmarks/results/shell.md]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pexpect
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from prodsql.sandbox import Sandbox

# benchmarks/run.py is a script beside this one, not a package module.
sys.path.insert(0, str(Path(__file__).resolve().parent))
_run = importlib.import_module("run")
ensure_pgcli, machine, write_section = _run.ensure_pgcli, _run.machine, _run.write_section
# The dependency floor of a Python shell like prodsql's: the same three libraries
# imported, a connection and one query, then a prompt_toolkit prompt; no prodsql code.
FLOOR = (
    "import psycopg, pglast.parser\n"
    "from prompt_toolkit import PromptSession\n"
    "with psycopg.connect(autocommit=True) as c:\n"
    "    c.execute('select 1').fetchall()\n"
    "    try:\n"
    "        PromptSession().prompt('floor=> ')\n"
    "    except EOFError:\n"
    "        pass\n"
)

TABLES = 5000


def first_prompt(cmd: list[str], pattern: str, env: dict[str, str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        child = pexpect.spawn(cmd[0], cmd[1:], env=env, encoding="utf-8", dimensions=(40, 160))
        child.expect(pattern, timeout=30)
        samples.append(time.perf_counter() - started)
        child.sendeof()
        child.expect(pexpect.EOF, timeout=30)
        child.close()
    return statistics.median(samples)


def startup(sb: Sandbox, work: Path, repeat: int) -> dict[str, float | None]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "PRODSQL_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        HOME=str(work),
        XDG_CONFIG_HOME=str(work / "config"),
        XDG_STATE_HOME=str(work / "state"),
        PGPASSWORD="dev-password",
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
        PRODSQL_HISTORY="off",
    )
    dsn = sb.conninfo("dev")
    results: dict[str, float | None] = {
        "psql": first_prompt(["psql", "-X", "-d", dsn], "=>", env, repeat)
    }
    pgcli = ensure_pgcli()
    results["pgcli"] = (
        first_prompt([str(pgcli), "--less-chatty", dsn], ">", env, repeat) if pgcli else None
    )
    prodsql = [str(Path(sys.executable).with_name("prodsql")), "--ticket", "BENCH-1"]
    prodsql += ["--dsn", dsn, "--trail-dir", str(work / "trails")]
    results["prodsql"] = first_prompt(prodsql, "idle(?:\x1b\\[[0-9;]*m)*=>", env, repeat)
    floor_env = dict(env, PGHOST=sb.host, PGPORT=str(sb.port), PGUSER="dev", PGDATABASE="postgres")
    results["floor"] = first_prompt([sys.executable, "-c", FLOOR], "floor=>", floor_env, repeat)
    return results


def completion_latency(sb: Sandbox, work: Path) -> tuple[float, float, int]:
    """(median ms, max ms, completions) over a live catalog with TABLES tables."""
    from prodsql.config import Target
    from prodsql.policy import Mode
    from prodsql.session.connect import build_params
    from prodsql.session.identity import Identity
    from prodsql.session.runner import AuditedSession
    from prodsql.shell.completion import CATALOG_SQL, Catalog, SqlCompleter
    from prodsql.trail import TrailWriter

    sb.admin_execute("CREATE SCHEMA IF NOT EXISTS bench")
    for first in range(1, TABLES + 1, 500):  # one transaction per chunk: lock table size
        sb.admin_execute(
            f"DO $$ BEGIN FOR i IN {first}..{min(first + 499, TABLES)} LOOP EXECUTE format("
            "'CREATE TABLE IF NOT EXISTS bench.t_%s (id int, name text, v int)', i);"
            " END LOOP; END $$"
        )
    sb.admin_execute(
        "GRANT USAGE ON SCHEMA bench TO dev; ALTER ROLE dev SET search_path = bench, public"
    )
    os.environ["PGPASSWORD"] = "dev-password"
    ident = Identity(session_id="bench001", ticket="BENCH-1", os_user="bench")
    target = Target(name="dsn", dsn=sb.conninfo("dev"))
    params = build_params(target, ident.application_name, read_only=True)
    trail = TrailWriter.create(work / "ctrails", session_id="bench001", ticket="BENCH-1")
    session = AuditedSession(ident, params, trail, mode=Mode.READ_ONLY)
    session.open(required=("read",))
    catalog = Catalog(
        lambda: session.internal_query(CATALOG_SQL, "completion catalog"), threading.Lock()
    )
    completer = SqlCompleter(catalog)
    load_started = time.perf_counter()
    catalog.ensure()
    load_ms = (time.perf_counter() - load_started) * 1000
    samples, found = [], 0
    for text in (
        "SELECT * FROM t_1",
        "SELECT * FROM t_42",
        "select * from bench.t_49",
        "SELECT na",
    ):
        for _ in range(20):
            started = time.perf_counter()
            found = len(list(completer.get_completions(Document(text, len(text)), CompleteEvent())))
            samples.append((time.perf_counter() - started) * 1000)
    session.close("completed")
    print(f"catalog load (one internal query, {TABLES} tables): {load_ms:.0f} ms")
    return statistics.median(samples), max(samples), found


def report(start: dict[str, float | None], comp: tuple[float, float, int], repeat: int) -> str:
    psql, pgcli, ours = start["psql"], start["pgcli"], start["prodsql"]
    assert psql is not None
    assert ours is not None

    def ms(x: float | None) -> str:
        return "n/a" if x is None else f"{x * 1000:.0f} ms"

    floor = start.get("floor")
    lines = [
        f"Time from start to the first prompt in a pseudo-terminal (median of {repeat}, same "
        "server, TCP + SCRAM, `dev` role): prodsql includes connecting, reading the audit "
        "posture (one tagged, trailed query) and opening its trail.",
        "",
        "| tool | first prompt | prodsql / tool |",
        "|---|---|---|",
        f"| psql | {ms(psql)} | {ours / psql:.2f}x |",
        f"| pgcli 4.7.1 | {ms(pgcli)} | {('%.2fx' % (ours / pgcli)) if pgcli else 'n/a'} |",
        f"| prodsql | {ms(ours)} | 1x |",
        "",
        f"The dependency floor: a Python script that imports psycopg, pglast and "
        f"prompt_toolkit, connects, runs `select 1` and shows a prompt_toolkit prompt, no "
        f"prodsql code: {ms(floor)}" + (f", {floor / psql:.2f}x psql." if floor else "."),
        "",
        f"Targets: <= 2x psql ({'met' if ours <= 2 * psql else 'NOT met'}), <= 1/3 of pgcli "
        f"({'met' if pgcli and ours <= pgcli / 3 else 'NOT met'}).",
        "",
        f"Completion over a live catalog of {TABLES:,} tables (3 columns each): median "
        f"{comp[0]:.2f} ms, worst {comp[1]:.2f} ms per request (target 50 ms).",
        "",
        machine(),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", default=str(Path(__file__).parents[1] / "docs" / "performance.md"))
    ns = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="prodsql-shell-bench-"))
    with Sandbox() as sb:
        start = startup(sb, work, ns.repeat)
        comp = completion_latency(sb, work)
    text = report(start, comp, ns.repeat)
    write_section(Path(ns.out), text.rstrip("\n"), "benchmarks/shell_bench.py")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
