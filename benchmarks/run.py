"""Side-by-side benchmarks: prodsql against psql and pgcli, in the same run.

    python benchmarks/run.py [--repeat N] [--out docs/performance.md]

Starts the sandbox, times each tool on the same server, and writes medians and ratios
to docs/performance.md with the machine described. pgcli is installed into its own
virtualenv under benchmarks/.venv-pgcli (not a dependency of prodsql).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PGCLI_VENV = ROOT / "benchmarks" / ".venv-pgcli"
PGCLI_VERSION = "4.7.1"
CORPUS = ROOT.parent / "shared" / "corpora" / "postgres-regress"


@dataclass
class Timing:
    name: str
    median: float
    runs: int


def timed(cmd: Sequence[str], env: dict[str, str], repeat: int, stdin: str | None = None) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, env=env, input=stdin, capture_output=True, text=True, check=False
        )
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return statistics.median(samples)


def ensure_pgcli() -> Path | None:
    exe = PGCLI_VENV / "bin" / "pgcli"
    if exe.exists():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PGCLI_VENV)], check=True)
        subprocess.run(
            [str(PGCLI_VENV / "bin" / "pip"), "install", "-q", f"pgcli=={PGCLI_VERSION}"],
            check=True,
        )
    except subprocess.CalledProcessError:
        print("pgcli could not be installed; its columns stay empty", file=sys.stderr)
        return None
    return exe


def script_2000(path: Path) -> None:
    lines = ["CREATE TABLE IF NOT EXISTS bench_t (id int, v text);", "TRUNCATE bench_t;"]
    for i in range(1998):
        if i % 2:
            lines.append(f"INSERT INTO bench_t VALUES ({i}, 'value {i}');")
        else:
            lines.append(f"SELECT count(*) FROM bench_t WHERE id < {i};")
    path.write_text("\n".join(lines) + "\n")


def classify_throughput() -> tuple[int, float, float]:
    from prodsql.policy import Mode, Statement, evaluate, split

    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(CORPUS.glob("*.sql"))]
    start = time.perf_counter()
    pieces = [piece for text in texts for piece in split(text)]
    split_s = time.perf_counter() - start
    stmts = [p for p in pieces if isinstance(p, Statement)]
    start = time.perf_counter()
    for s in stmts:
        evaluate(s.text, Mode.WRITE)
    return len(stmts), split_s, time.perf_counter() - start


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    psql = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False)
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{psql.stdout.strip()}, {platform.system()} {platform.release()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    ns = ap.parse_args(argv)
    from prodsql.sandbox import Sandbox

    pgcli = ensure_pgcli()
    # Measure the steady state of an installed package: bytecode compiled once, as pip does.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    work = Path(tempfile.mkdtemp(prefix="prodsql-bench-"))
    with Sandbox(work / "server") as sb:
        results = run_all(sb, work, pgcli, ns.repeat)
    count, split_s, classify_s = classify_throughput()
    ns.out.write_text(report(results, ns.repeat, count, split_s, classify_s))
    print(ns.out.read_text())
    return 0


def run_all(sb: object, work: Path, pgcli: Path | None, repeat: int) -> dict[str, float | None]:
    from prodsql.sandbox import Sandbox

    assert isinstance(sb, Sandbox)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "PRODSQL_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        PGPASSWORD="dev-password",
        HOME=str(work),
        XDG_STATE_HOME=str(work / "state"),
        XDG_CONFIG_HOME=str(work / "config"),
    )
    sb.admin_execute("ALTER ROLE dev SET pgaudit.log = 'read, write, ddl, role, function, misc'")
    host, port = sb.host, str(sb.port)
    dsn = sb.conninfo("dev")
    prodsql = [str(Path(sys.executable).with_name("prodsql"))]
    base = [*prodsql, "--ticket", "BENCH-1", "--dsn", dsn, "--trail-dir", str(work / "trails")]
    psql = ["psql", "-X", "-q", "-h", host, "-p", port, "-U", "dev", "-d", "postgres"]
    script = work / "script.sql"
    script_2000(script)
    r: dict[str, float | None] = {}
    run: Callable[..., float] = lambda cmd, **kw: timed(cmd, env, repeat, **kw)  # noqa: E731
    r["psql_select1"] = run([*psql, "-c", "select 1"])
    r["prodsql_select1"] = run([*base, "-c", "select 1"])
    few = max(3, repeat // 3)
    r["psql_script"] = timed([*psql, "-v", "ON_ERROR_STOP=1", "-f", str(script)], env, few)
    r["prodsql_script"] = timed(
        [*base, "--write", "--allow-destructive", "-f", str(script)], env, few
    )
    r["pgcli_select1"] = r["pgcli_script"] = None
    if pgcli is not None:
        pg = [str(pgcli), "-h", host, "-p", port, "-U", "dev", "-d", "postgres", "--less-chatty"]
        r["pgcli_select1"] = timed([*pg, "-c", "select 1"], env, few)
        r["pgcli_script"] = timed([*pg, "-f", str(script)], env, 1)
    return r


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def _secs(x: float | None) -> str:
    return f"{x:.3f} s" if x is not None else "n/a"


def report(
    r: dict[str, float | None], repeat: int, count: int, split_s: float, classify_s: float
) -> str:
    rows = [
        (
            "`-c 'select 1'` (connect, posture, one statement, trail)",
            "select1",
            "<= 5x psql, <= 1/3 pgcli",
        ),
        (
            "2,000-statement `-f` script, write mode, trail fsynced per statement",
            "script",
            "<= 4x psql",
        ),
    ]
    lines = [
        "# Performance",
        "",
        "Measured by `make bench` (`benchmarks/run.py`): every tool against the same sandbox",
        "server in the same run; wall-clock medians. Regenerate after any change on the hot path.",
        "",
        f"Machine: {machine()}.",
        f"Date: {time.strftime('%Y-%m-%d')}. Repeats: {repeat} (scripts: fewer; pgcli script: 1).",
        "",
        "| workload | psql | prodsql | pgcli | prodsql / psql | prodsql / pgcli | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, key, target in rows:
        p, q, g = r[f"psql_{key}"], r[f"prodsql_{key}"], r[f"pgcli_{key}"]
        lines.append(
            f"| {label} | {_secs(p)} | {_secs(q)} | {_secs(g)} | {_ratio(q, p)} | "
            f"{_ratio(q, g)} | {target} |"
        )
    rate = count / (split_s + classify_s) if split_s + classify_s else 0
    lines += [
        "",
        "## Classification throughput",
        "",
        f"PostgreSQL's regression corpus: {count:,} statements split in {split_s:.2f} s and "
        f"classified (write mode) in {classify_s:.2f} s: {rate:,.0f} statements/s for both.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
