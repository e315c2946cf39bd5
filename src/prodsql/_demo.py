"""``prodsql demo``: a throwaway PostgreSQL with pgAudit and a scripted session on it.

Each step runs the real ``prodsql`` command in a subprocess, exactly as a user would,
so the demo shows the product and not a special path through it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO_TICKET = "DEMO-1"

STEPS: tuple[tuple[str, list[str]], ...] = (
    (
        "A read (read-only is the default)",
        ["-c", "SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY status"],
    ),
    (
        "A write, in write mode",
        [
            "--write",
            "--reason",
            "fix a stuck order",
            "-c",
            "UPDATE orders SET status = 'shipped' WHERE id = 42",
        ],
    ),
    (
        "A tamper attempt: refused in every mode, never sent",
        ["--write", "-c", "SET application_name = 'nobody'"],
    ),
    (
        "A destructive statement without confirmation: refused",
        ["--write", "-c", "DELETE FROM order_items"],
    ),
    (
        "The same, confirmed with --allow-destructive (recorded as such)",
        ["--write", "--allow-destructive", "-c", "DELETE FROM order_items"],
    ),
)


def run_demo(*, keep: bool = False) -> int:
    from prodsql.sandbox import Sandbox

    out_dir = Path(tempfile.mkdtemp(prefix="prodsql-demo-"))
    trail_dir = out_dir / "trails"
    print(f"Starting a throwaway PostgreSQL 15 with pgAudit in {out_dir} ...", flush=True)
    with Sandbox(out_dir / "server", keep=keep) as sandbox:
        sandbox.load_demo_schema("dev")
        env = _demo_env(out_dir)
        dsn = sandbox.conninfo("dev", tcp=False)
        base = ["--ticket", DEMO_TICKET, "--dsn", dsn, "--trail-dir", str(trail_dir)]
        if sys.stdin.isatty() and sys.stdout.isatty():
            _interactive(base, env)
        else:  # CI, tests, a pipe: the scripted session
            for title, args in STEPS:
                _step(title, [*base, *args], env)
        time.sleep(0.3)  # let the logging collector write the last lines
        log_copy = _copy_logs(sandbox.log_dir, out_dir / "server-log")
    _explain(trail_dir, log_copy)
    return 0


def _demo_env(out_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PRODSQL_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _interactive(base: list[str], env: dict[str, str]) -> None:
    """The shell on the demo data, as the non-superuser role ``dev``."""
    print(
        "\nThe shell is open on the demo schema (customers, orders, order_items) as role dev."
        "\nTry: \\dt   SELECT status, count(*) FROM orders GROUP BY 1;"
        "   \\write fix a stuck order   UPDATE orders SET status = 'shipped' WHERE id = 42;"
        "   COMMIT;   DELETE FROM order_items;   \\q\n",
        flush=True,
    )
    env = {**env, "PRODSQL_HISTORY": "off"}
    subprocess.run([sys.executable, "-m", "prodsql", *base], env=env, check=False)


def _step(title: str, args: list[str], env: dict[str, str]) -> None:
    print(f"\n== {title}")
    shown = [a if not a.startswith("host=") else "'<sandbox>'" for a in args]
    print("$ prodsql " + " ".join(shlex.quote(a) if not a.startswith("'") else a for a in shown))
    proc = subprocess.run([sys.executable, "-m", "prodsql", *args], env=env, check=False)
    print(f"(exit code {proc.returncode})")


def _copy_logs(log_dir: Path, dest: Path) -> Path:
    shutil.copytree(log_dir, dest)
    return dest


def _explain(trail_dir: Path, log_dir: Path) -> None:
    trails = sorted(trail_dir.glob("*.jsonl"))
    print("\nThe session is over and the server is stopped. What it left behind:")
    print(f"  trails ({len(trails)} sessions): {trail_dir}")
    print(f"  server log (stderr, csvlog, jsonlog): {log_dir}")
    print("\nLook at them:")
    print(f"  prodsql verify {trail_dir}")
    if trails:
        print(f"  prodsql replay {trails[-1]}")
    print(f"  prodsql reconcile --trail {trail_dir} --server-log {log_dir}/*.csv")
    print(f"  grep AUDIT {log_dir}/*.log")
