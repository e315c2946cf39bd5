"""``prodsql demo``: a throwaway PostgreSQL with pgAudit and a scripted session on it.

Each step runs the real ``prodsql`` command in a subprocess, exactly as a user would,
so the demo shows the product and not a special path through it. The steps run with an
empty configuration file of their own, so a user's targets, trail sinks or ticket pattern
never apply to (or receive) the demo's sessions.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodsql.sandbox import Sandbox

DEMO_TICKET = "DEMO-1"
# The exit codes of prodsql's main command that the steps expect.
_OK, _REFUSED = 0, 5
# Seconds to wait for the logging collector to write the session's last lines.
_LOG_WAIT = 60.0
_SHELL_GRACE = 15.0  # seconds for the shell to close its session when the demo is stopped


@dataclass(frozen=True)
class Step:
    title: str
    args: tuple[str, ...]
    expect: int


STEPS: tuple[Step, ...] = (
    Step(
        "A read (read-only is the default)",
        ("-c", "SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY status"),
        _OK,
    ),
    Step(
        "A write, in write mode",
        (
            "--write",
            "--reason",
            "fix a stuck order",
            "-c",
            "UPDATE orders SET status = 'shipped' WHERE id = 42",
        ),
        _OK,
    ),
    Step(
        "A tamper attempt: refused in every mode, never sent",
        ("--write", "-c", "SET application_name = 'nobody'"),
        _REFUSED,
    ),
    Step(
        "A destructive statement without confirmation: refused",
        ("--write", "-c", "DELETE FROM order_items"),
        _REFUSED,
    ),
    Step(
        "The same, confirmed with --allow-destructive (recorded as such)",
        ("--write", "--allow-destructive", "-c", "DELETE FROM order_items"),
        _OK,
    ),
)


@dataclass
class DemoResult:
    """What the session left behind, and which scripted steps did not go as expected."""

    trail_dir: Path
    log_dir: Path
    replay: Path | None = None
    unexpected: tuple[str, ...] = ()


def run_demo(*, keep: bool = False) -> int:
    """Run the demo; 0 when every scripted step ended as expected, 1 otherwise."""
    from prodsql.sandbox import Sandbox

    out_dir = Path(tempfile.mkdtemp(prefix="prodsql-demo-"))
    print(f"Starting a throwaway PostgreSQL 15 with pgAudit in {out_dir} ...", flush=True)
    sandbox = Sandbox(out_dir / "server", keep=keep)
    signals = _Signals()
    try:
        with signals.installed():
            result = _demo_session(sandbox, out_dir, signals)
    except BaseException:
        if not keep:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    _explain(result, sandbox.base_dir if keep else None)
    if result.unexpected:
        print("\nThese steps did not end as expected: " + "; ".join(result.unexpected))
        return 1
    return 0


def _demo_session(sandbox: Sandbox, out_dir: Path, signals: _Signals) -> DemoResult:
    """Start the server, run the session on it, keep its log; always stop the server."""
    result = DemoResult(trail_dir=out_dir / "trails", log_dir=out_dir / "server-log")
    try:
        with signals.deferred():
            sandbox.start()
        sandbox.load_demo_schema("dev")
        config = out_dir / "demo-config.toml"
        config.write_text("# prodsql demo: no targets, no sinks, the default ticket pattern\n")
        base = [
            *("--ticket", DEMO_TICKET, "--config", str(config)),
            *("--dsn", sandbox.conninfo("dev", tcp=False), "--trail-dir", str(result.trail_dir)),
        ]
        if sys.stdin.isatty() and sys.stdout.isatty():
            _interactive(base, _demo_env())
        else:  # CI, tests, a pipe: the scripted session
            _scripted(base, result)
        _flush_server_log(sandbox)
        shutil.copytree(sandbox.log_dir, result.log_dir)
    finally:
        with signals.deferred():
            sandbox.stop()
    return result


def _scripted(base: list[str], result: DemoResult) -> None:
    env = _demo_env()
    unexpected: list[str] = []
    for step in STEPS:
        code, trails = _step(step, base, env, result.trail_dir)
        if code != step.expect:
            unexpected.append(f"{step.title!r} exited {code}, expected {step.expect}")
        result.replay = trails[-1] if trails else result.replay
    result.unexpected = tuple(unexpected)


def _demo_env() -> dict[str, str]:
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
    # Ctrl-C belongs to the shell (it cancels a statement) while the shell runs; a handler
    # that does nothing, not SIG_IGN, so that the shell does not inherit an ignored SIGINT.
    previous = signal.signal(signal.SIGINT, _ignore)
    try:
        shell = subprocess.Popen([sys.executable, "-m", "prodsql", *base], env=env)
        try:
            shell.wait()
        except BaseException:
            _end_shell(shell)
            raise
    finally:
        signal.signal(signal.SIGINT, previous)


def _end_shell(shell: subprocess.Popen[bytes]) -> None:
    """The demo was told to stop: the shell ends its session as a SIGTERM tells it to
    (trail closed, a running statement cancelled), not with subprocess.run's SIGKILL."""
    if shell.poll() is not None:
        return
    shell.send_signal(signal.SIGTERM)
    try:
        shell.wait(timeout=_SHELL_GRACE)
    except subprocess.TimeoutExpired:
        shell.kill()
        shell.wait()


def _ignore(signum: int, frame: FrameType | None) -> None:
    return None


def _step(
    step: Step, base: list[str], env: dict[str, str], trail_dir: Path
) -> tuple[int, list[Path]]:
    """Run one step; its exit code and the trail files it wrote."""
    print(f"\n== {step.title}")
    print("$ prodsql " + " ".join(_shown(a) for a in [*base, *step.args]), flush=True)
    before = set(trail_dir.glob("*.jsonl"))
    cmd = [sys.executable, "-m", "prodsql", *base, *step.args]
    code = subprocess.run(cmd, env=env, check=False).returncode
    print(f"(exit code {code})", flush=True)
    return code, sorted(set(trail_dir.glob("*.jsonl")) - before)


def _shown(arg: str) -> str:
    if arg.startswith("host="):
        return "'<sandbox>'"
    if arg.endswith("demo-config.toml"):
        return "'<empty config>'"
    return shlex.quote(arg)


def _flush_server_log(sandbox: Sandbox) -> None:
    """Wait until the logging collector has written every line of the session.

    The collector writes asynchronously. Every audit line of the steps entered its pipe
    before the step's statement returned, so once a line logged after them is in each log
    file, so are they.
    """
    marker = f"prodsql demo: the session is over ({secrets.token_hex(4)})"
    sandbox.admin_execute(f"DO $$BEGIN RAISE LOG '{marker}'; END$$")
    for kind in ("stderr", "csv", "json"):
        sandbox.wait_for_log(marker, kind, timeout=_LOG_WAIT)


# -- signals: the server runs in its own session, so the demo must stop it itself


class _Signals:
    """Ctrl-C, SIGTERM and SIGHUP end the demo (as KeyboardInterrupt: exit 130), but never
    in the middle of starting or stopping the server, where an exception could orphan it:
    there the signal waits until that is done. After the first, the others are ignored."""

    _HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self._deferring = False
        self._pending = False
        self._raised = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._deferring:
            self._pending = True
        elif not self._raised:
            self._raised = True
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.getsignal(sig) for sig in self._HANDLED}
        for sig in self._HANDLED:
            signal.signal(sig, self._handle)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self._pending and not self._raised:
            self._raised = True
            raise KeyboardInterrupt


# -- what is left


def _prodsql_command() -> str:
    """How a shell runs this prodsql: the bare name only when PATH finds this very one
    (``make demo`` runs .venv/bin/prodsql, which is usually not on PATH)."""
    script = Path(sys.executable).parent / "prodsql"
    found = shutil.which("prodsql")
    if script.is_file():
        if found is not None and os.path.samefile(found, script):
            return "prodsql"
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m prodsql"


def _explain(result: DemoResult, kept: Path | None) -> None:
    trails = sorted(result.trail_dir.glob("*.jsonl"))
    logs = sorted(result.log_dir.iterdir())
    print("\nThe demo is over and its server is stopped. What it left behind:")
    print(f"  trails ({len(trails)} sessions): {result.trail_dir}")
    print(f"  server log (stderr, csvlog, jsonlog): {result.log_dir}")
    if kept is not None:
        print(f"  the sandbox (data directory, kept with --keep): {kept}")
    prodsql = _prodsql_command()
    replay = result.replay or (trails[-1] if trails else None)
    csv = " ".join(shlex.quote(str(p)) for p in logs if p.suffix == ".csv")
    stderr = " ".join(shlex.quote(str(p)) for p in logs if p.suffix == ".log")
    print("\nLook at them:")
    print(f"  {prodsql} verify {shlex.quote(str(result.trail_dir))}")
    if replay is not None:
        print(f"  {prodsql} replay {shlex.quote(str(replay))}")
    trail_dir = shlex.quote(str(result.trail_dir))
    print(f"  {prodsql} reconcile --trail {trail_dir} --server-log {csv}")
    print(f"  grep AUDIT {stderr}")
