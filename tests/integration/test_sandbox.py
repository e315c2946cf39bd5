"""The sandbox is what every other integration test trusts: check it against the facts."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from prodsql.sandbox import RoleSpec, Sandbox, SandboxError, find_bindir

# pgaudit-facts.md: the server session id, computed from inside the session.
SESSION_ID_SQL = (
    "SELECT to_hex(trunc(extract(epoch from backend_start))::bigint) || '.' || to_hex(pid) "
    "FROM pg_stat_get_activity(pg_backend_pid())"
)
CSV_SESSION_ID, CSV_MESSAGE, CSV_APPLICATION_NAME = 5, 13, 22


@dataclass(frozen=True)
class Select:
    marker: str
    application_name: str
    session_id: str
    pid: int


def run_select(sandbox: Sandbox, user: str, password: str, *extra: str) -> Select:
    """One SELECT carrying a unique marker, plus optional statements after it."""
    marker = f"m{secrets.token_hex(6)}"
    app = f"sandbox-test:{secrets.token_hex(6)}"
    dsn = sandbox.conninfo(user, password=password)
    with psycopg.connect(dsn, application_name=app, autocommit=True) as conn:
        row = conn.execute(SESSION_ID_SQL).fetchone()
        assert row is not None
        conn.execute(f"SELECT '{marker}' AS m")
        for statement in extra:
            conn.execute(statement)
        return Select(marker, app, str(row[0]), conn.info.backend_pid)


@pytest.fixture(scope="module")
def dev_select(sandbox: Sandbox) -> Select:
    return run_select(sandbox, "dev", "dev-password")


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_pgaudit_is_preloaded_and_created(sandbox: Sandbox) -> None:
    assert sandbox.admin_execute("SHOW shared_preload_libraries") == [("pgaudit",)]
    rows = sandbox.admin_execute("SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'")
    assert len(rows) == 1
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", str(rows[0][0]))


def test_default_roles_have_their_postures(sandbox: Sandbox) -> None:
    rows = sandbox.admin_execute(
        "SELECT rolname, rolsuper, rolconfig FROM pg_roles "
        "WHERE rolname IN ('dev', 'weak', 'admin_su') ORDER BY rolname"
    )
    assert rows == [
        ("admin_su", True, None),
        ("dev", False, ["pgaudit.log=read, write, ddl, role, function, misc"]),
        ("weak", False, ["pgaudit.log=ddl"]),
    ]


def test_stderr_line_has_the_aurora_prefix(sandbox: Sandbox, dev_select: Select) -> None:
    text = sandbox.wait_for_log(dev_select.marker, kind="stderr")
    [line] = lines_with(text, dev_select.marker)
    prefix = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+:127\.0\.0\.1\(\d+\):dev@postgres:\[(\d+)\]:"
    audit = rf"LOG:  AUDIT: SESSION,\d+,1,READ,SELECT,,,SELECT '{dev_select.marker}' AS m,"
    match = re.fullmatch(prefix + audit + "<not logged>", line)
    assert match, line
    assert int(match.group(1)) == dev_select.pid


def test_csv_record_carries_session_and_application(sandbox: Sandbox, dev_select: Select) -> None:
    text = sandbox.wait_for_log(dev_select.marker, kind="csv")
    records = [r for r in csv.reader(io.StringIO(text)) if dev_select.marker in r[CSV_MESSAGE]]
    assert len(records) == 1
    record = records[0]
    assert record[CSV_MESSAGE].startswith("AUDIT: SESSION,")
    assert ",READ,SELECT," in record[CSV_MESSAGE]
    assert record[CSV_APPLICATION_NAME] == dev_select.application_name
    assert record[CSV_SESSION_ID] == dev_select.session_id


def test_json_record_carries_session_and_application(sandbox: Sandbox, dev_select: Select) -> None:
    text = sandbox.wait_for_log(dev_select.marker, kind="json")
    [entry] = [json.loads(line) for line in lines_with(text, dev_select.marker)]
    assert entry["message"].startswith("AUDIT: SESSION,")
    assert ",READ,SELECT," in entry["message"]
    assert entry["application_name"] == dev_select.application_name
    assert entry["session_id"] == dev_select.session_id
    assert (entry["user"], entry["dbname"], entry["pid"]) == ("dev", "postgres", dev_select.pid)


def test_weak_role_select_is_not_audited(sandbox: Sandbox) -> None:
    # weak logs only DDL: its DDL after the SELECT proves the collector caught up.
    sentinel = f"s{secrets.token_hex(6)}"
    select = run_select(sandbox, "weak", "weak-password", f"CREATE TEMP TABLE {sentinel} (x int)")
    text = sandbox.wait_for_log(sentinel, kind="json")
    assert any("AUDIT: SESSION" in line for line in lines_with(text, sentinel))
    for kind in ("stderr", "csv", "json"):
        assert select.marker not in sandbox.read_log(kind)


def test_conninfo_tcp_needs_a_password_and_the_socket_does_not(sandbox: Sandbox) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(sandbox.conninfo("dev"), connect_timeout=5).close()
    with psycopg.connect(sandbox.conninfo("dev", tcp=False)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("dev",)


def test_fresh_role_is_unique_and_configured(
    sandbox: Sandbox, fresh_role: Callable[..., RoleSpec]
) -> None:
    spec = fresh_role(pgaudit_log="write", log_parameter=True)
    assert spec.name != fresh_role().name
    rows = sandbox.admin_execute("SELECT rolconfig FROM pg_roles WHERE rolname = %s", [spec.name])
    assert rows == [(["pgaudit.log=write", "pgaudit.log_parameter=on"],)]
    assert spec.password is not None
    with psycopg.connect(sandbox.conninfo(spec.name, password=spec.password)) as conn:
        assert conn.execute("SHOW pgaudit.log").fetchone() == ("write",)


def test_demo_schema_loads_and_is_owned(sandbox: Sandbox) -> None:
    sandbox.load_demo_schema("dev")
    rows = sandbox.admin_execute(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename IN ('customers', 'orders', 'order_items') ORDER BY tablename"
    )
    assert rows == [("customers", "dev"), ("order_items", "dev"), ("orders", "dev")]
    assert sandbox.admin_execute("SELECT status FROM orders WHERE id = 42") == [("pending",)]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory the postgres OS user can reach when we are root.

    Not ``tmp_path``: every pytest run resets /tmp/pytest-of-root to 0700, which would lock
    the server out of its data directory mid-initdb whenever another run starts.
    """
    path = Path(tempfile.mkdtemp(prefix="prodsql-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_stop_removes_the_directory_and_frees_the_port(scratch: Path) -> None:
    box = Sandbox(scratch / "sb", roles=())
    with box:
        assert box.admin_execute("SELECT 1") == [(1,)]
        assert not port_is_free(box.port)
    assert not box.base_dir.exists()
    assert port_is_free(box.port)
    box.stop()  # a second stop is harmless


def test_start_failure_reports_the_server_log(scratch: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        box = Sandbox(scratch / "sb", port=taken.getsockname()[1], roles=())
        with pytest.raises(SandboxError, match="could not bind"):
            box.start()
    assert not (scratch / "sb").exists()


def test_missing_binaries_are_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODSQL_PG_BINDIR", str(tmp_path))
    with pytest.raises(SandboxError, match="missing: initdb, pg_ctl, postgres") as info:
        find_bindir()
    assert "apt-get install postgresql-15-pgaudit" in info.value.diagnostics()


def test_missing_pgaudit_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = find_bindir()
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("initdb", "pg_ctl", "postgres"):
        (fake / name).symlink_to(real / name)
    monkeypatch.setenv("PRODSQL_PG_BINDIR", str(fake))
    with pytest.raises(SandboxError, match="pgAudit") as info:
        find_bindir()
    assert "apt-get install postgresql-15-pgaudit" in (info.value.hint or "")


def test_interrupted_process_leaves_no_server_behind() -> None:
    # A test run interrupted by Ctrl-C must not leave a postmaster behind: atexit stops it.
    script = (
        "from prodsql.sandbox import Sandbox\n"
        "box = Sandbox(roles=())\n"
        "box.start()\n"
        "print(box.base_dir, box.port, flush=True)\n"
        "raise KeyboardInterrupt\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert "KeyboardInterrupt" in proc.stderr
    base_dir, port = proc.stdout.split()
    assert not Path(base_dir).exists()
    assert port_is_free(int(port))


def test_interrupted_while_the_server_starts_leaves_no_server_behind(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C lands after pg_ctl launched the postmaster but before start() knew: stop()
    # must still stop it before deleting its directory.
    real = Sandbox._pg_ctl_start

    def started_then_interrupted(self: Sandbox) -> bool:
        assert real(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(Sandbox, "_pg_ctl_start", started_then_interrupted)
    box = Sandbox(scratch / "sb", roles=())
    with pytest.raises(KeyboardInterrupt):
        box.start()
    assert not (scratch / "sb").exists()
    assert port_is_free(box.port)
