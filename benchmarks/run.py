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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PGCLI_VENV = ROOT / "benchmarks" / ".venv-pgcli"
PGCLI_VERSION = "4.7.1"
CORPUS = ROOT.parent / "shared" / "corpora" / "postgres-regress"


@dataclass
class Sample:
    seconds: float
    max_rss_kib: int


def run_once(cmd: Sequence[str], env: dict[str, str], stdin: str | None = None) -> Sample:
    """One run, output discarded; wall time and the child's peak RSS (from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read() if proc.stderr else ""
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {err[-2000:]}")
    if proc.stderr is not None:
        proc.stderr.close()
    return Sample(elapsed, usage.ru_maxrss)


def interleaved(
    cmds: Mapping[str, Sequence[str]], env: dict[str, str], repeat: int
) -> dict[str, Sample]:
    """Median wall time (and the largest peak RSS) per command, the commands taking turns
    in every round so that a drift in the machine's speed hits them all alike."""
    samples: dict[str, list[Sample]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            samples[name].append(run_once(cmd, env))
    return {
        name: Sample(statistics.median(x.seconds for x in runs), max(x.max_rss_kib for x in runs))
        for name, runs in samples.items()
    }


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


def fsync_floor(directory: Path, count: int = 2000) -> float:
    """What the trail's durability alone costs: ``count`` appends of a typical intent
    record (~600 bytes), each followed by ``fdatasync``, in the trail's directory."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fsync-floor.bin"
    line = b"x" * 600 + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
    try:
        start = time.perf_counter()
        for _ in range(count):
            os.write(fd, line)
            os.fdatasync(fd)
        return time.perf_counter() - start
    finally:
        os.close(fd)
        path.unlink()


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
    body = report(results, ns.repeat, count, split_s, classify_s)
    write_section(ns.out, body)
    print(body)
    return 0


ROWS_SQL = "SELECT g, g * 2 AS twice, md5(g::text) AS h FROM generate_series(1, 1000000) g"
FLOOR = (
    "import psycopg, pglast.parser\n"
    "with psycopg.connect(autocommit=True) as c:\n"
    "    c.execute('select 1').fetchall()\n"
)


def run_all(sb: object, work: Path, pgcli: Path | None, repeat: int) -> dict[str, Sample]:
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
    floor_env = dict(env, PGHOST=host, PGPORT=port, PGUSER="dev", PGDATABASE="postgres")
    dsn = sb.conninfo("dev")
    prodsql = [str(Path(sys.executable).with_name("prodsql"))]
    base = [*prodsql, "--ticket", "BENCH-1", "--dsn", dsn, "--trail-dir", str(work / "trails")]
    psql = ["psql", "-X", "-q", "-h", host, "-p", port, "-U", "dev", "-d", "postgres"]
    pg = [str(pgcli), "-h", host, "-p", port, "-U", "dev", "-d", "postgres", "--less-chatty"]
    script = work / "script.sql"
    script_2000(script)
    r: dict[str, Sample] = {}
    one = {"psql": [*psql, "-c", "select 1"], "prodsql": [*base, "-c", "select 1"]}
    if pgcli is not None:
        one["pgcli"] = [*pg, "-c", "select 1"]
    r.update({f"{k}_select1": v for k, v in interleaved(one, env, repeat).items()})
    r["floor_select1"] = interleaved({"f": [sys.executable, "-c", FLOOR]}, floor_env, repeat)["f"]
    few = max(3, repeat // 3)
    scripts = {
        "psql": [*psql, "-v", "ON_ERROR_STOP=1", "-f", str(script)],
        "prodsql": [*base, "--write", "--allow-destructive", "-f", str(script)],
    }
    r.update({f"{k}_script": v for k, v in interleaved(scripts, env, few).items()})
    r["fsync_script"] = Sample(
        statistics.median(fsync_floor(work / "trails") for _ in range(few)), 0
    )
    rows = {
        "psql_csv": [*psql, "--csv", "-c", ROWS_SQL],
        "prodsql_csv": [*base, "--format", "csv", "-c", ROWS_SQL],
        "psql_aligned": [*psql, "-c", ROWS_SQL],
        "prodsql_aligned": [*base, "-c", ROWS_SQL],
    }
    r.update({f"{k}_rows": v for k, v in interleaved(rows, env, max(3, repeat // 5)).items()})
    if pgcli is not None:
        r["pgcli_script"] = run_once([*pg, "-f", str(script)], env)
        # pgcli stops at 1,000 rows unless told otherwise.
        r["pgcli_aligned_rows"] = run_once([*pg, "--row-limit", "0", "-c", ROWS_SQL], env)
    return r


def _ratio(a: Sample | None, b: Sample | None) -> str:
    return f"{a.seconds / b.seconds:.2f}x" if a and b else "n/a"


def _secs(x: Sample | None) -> str:
    return f"{x.seconds:.3f} s" if x is not None else "n/a"


def _mib(x: Sample | None) -> str:
    return f"{x.max_rss_kib / 1024:.0f} MiB" if x is not None else "n/a"


def report(r: dict[str, Sample], repeat: int, count: int, split_s: float, classify_s: float) -> str:
    g = r.get
    lines = [
        "Measured by `make bench` (`benchmarks/run.py`): every tool against the same sandbox",
        "server in the same run, the tools taking turns in every round; wall-clock medians.",
        "Regenerate after any change on the hot path.",
        "",
        f"Machine: {machine()}.",
        f"Date: {time.strftime('%Y-%m-%d')}. Rounds: {repeat} for `-c`, fewer for the longer "
        "workloads, one for pgcli's script and rows.",
        "",
        "| workload | psql | prodsql | pgcli | prodsql / psql | prodsql / pgcli | target |",
        "|---|---|---|---|---|---|---|",
        _row(
            "`-c 'select 1'` (connect, posture, one statement, trail)",
            r,
            "select1",
            "<= 5x psql, <= 1/3 pgcli",
        ),
        _row(
            "2,000-statement `-f` script, write mode, trail fsynced per statement",
            r,
            "script",
            "<= 4x psql",
        ),
        "",
        "The dependency floor: `python -c 'import psycopg, pglast.parser'` plus a connection"
        f" and `select 1`, no prodsql code at all: {_secs(g('floor_select1'))}, "
        f"{_ratio(g('floor_select1'), g('psql_select1'))} psql and "
        f"{_ratio(g('floor_select1'), g('pgcli_select1'))} pgcli.",
        "",
        "The trail's floor for the script: 2,000 appends of a 600-byte line, each followed by"
        f" `fdatasync`, in the same directory: {_secs(g('fsync_script'))} alone, "
        f"{_ratio(g('fsync_script'), g('psql_script'))} psql's whole run (psql syncs nothing).",
        "",
        "### 1,000,000 rows x 3 columns to /dev/null",
        "",
        f"`{ROWS_SQL}`; time and peak RSS of the whole process.",
        "",
        "| output | psql | prodsql | prodsql / psql | psql RSS | prodsql RSS | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for fmt, target in (("csv", "<= 1.5x `psql --csv`"), ("aligned", "<= 2x psql aligned")):
        p, q = g(f"psql_{fmt}_rows"), g(f"prodsql_{fmt}_rows")
        lines.append(
            f"| {fmt} | {_secs(p)} | {_secs(q)} | {_ratio(q, p)} | {_mib(p)} | {_mib(q)} | "
            f"{target}, <= 200 MiB |"
        )
    if g("pgcli_aligned_rows"):
        pa = g("pgcli_aligned_rows")
        what = "pgcli 4.x, same query, `--row-limit 0` (one run)"
        lines += ["", f"{what}: {_secs(pa)}, peak {_mib(pa)}."]
    rate = count / (split_s + classify_s) if split_s + classify_s else 0
    lines += [
        "",
        "### Classification throughput",
        "",
        f"PostgreSQL's regression corpus: {count:,} statements split in {split_s:.2f} s and "
        f"classified (write mode) in {classify_s:.2f} s: {rate:,.0f} statements/s for both.",
    ]
    return "\n".join(lines)


def _row(label: str, r: dict[str, Sample], key: str, target: str) -> str:
    p, q, g = r.get(f"psql_{key}"), r.get(f"prodsql_{key}"), r.get(f"pgcli_{key}")
    return (
        f"| {label} | {_secs(p)} | {_secs(q)} | {_secs(g)} | {_ratio(q, p)} | "
        f"{_ratio(q, g)} | {target} |"
    )


def write_section(path: Path, body: str, name: str = "benchmarks/run.py") -> None:
    """Replace only ``name``'s section of the file; the other benchmarks keep theirs."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    block = f"{begin}\n{body}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
