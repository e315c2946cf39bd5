"""Secrets typed into statements never reach the trail, the output or the history, and the
trail still reconciles exactly with what pgAudit logged; open transactions and COPY data at
the end of a session are recorded for what they are. The real executable, the sandbox."""

from __future__ import annotations

import hashlib
import json
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import psycopg
import pytest
from psycopg import sql

from integration.test_reconcile import LogSlice, reconcile
from prodsql.sandbox import RoleSpec, Sandbox
from prodsql.trail import VerifyStatus, verify_file
from support.cli import PRODSQL, clean_env, only_trail, read_trail, run_prodsql, trail_files
from support.pty import Pty

RoleFactory = Callable[..., RoleSpec]
REDACTED = "'<REDACTED>'"


def secret() -> str:
    return f"s3cr3t-{secrets.token_hex(8)}"


@pytest.fixture
def role(sandbox: Sandbox, fresh_role: RoleFactory) -> Iterator[RoleSpec]:
    """A throwaway role that may create roles, with a foreign server it may map itself to."""
    spec = fresh_role()
    server = f"srv_{spec.name}"
    ident = sql.Identifier(spec.name)
    sandbox.admin_execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
    sandbox.admin_execute("CREATE EXTENSION IF NOT EXISTS dblink")
    sandbox.admin_execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(ident))
    sandbox.admin_execute(
        sql.SQL(
            "CREATE SERVER {0} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'postgres');"
            "GRANT USAGE ON FOREIGN SERVER {0} TO {1}"
        ).format(sql.Identifier(server), ident)
    )
    yield spec
    sandbox.admin_execute(sql.SQL("DROP SERVER {} CASCADE").format(sql.Identifier(server)))
    sandbox.admin_execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(sub(spec))))


def sub(spec: RoleSpec) -> str:
    return f"{spec.name}_sub"


def as_role(
    sandbox: Sandbox,
    spec: RoleSpec,
    home: Path,
    *args: str,
    stdin: str | None = None,
    password: str | None = None,
) -> Any:
    env = clean_env(home, {"PGPASSWORD": password or str(spec.password)})
    base = ["--ticket", "OPS-42", "--dsn", sandbox.conninfo(spec.name)]
    return run_prodsql([*base, "--trail-dir", str(home / "trails"), *args], env, stdin=stdin)


def statements(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "statement" and r["source"] != "internal"]


def assert_nowhere(needles: list[str], *places: Path | str) -> None:
    for place in places:
        text = place if isinstance(place, str) else _read_all(place)
        for needle in needles:
            assert needle not in text, (
                f"a secret leaked into {place if isinstance(place, Path) else 'output'}"
            )


def _read_all(path: Path) -> str:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def test_passwords_stay_out_of_the_trail_and_output_and_reconcile_exactly(
    sandbox: Sandbox, role: RoleSpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = LogSlice(sandbox)
    own, new_role, mapping, remapped, declined, broken, quoted, missing = (
        secret() for _ in range(8)
    )
    server = f"srv_{role.name}"
    conninfo = f"host=127.0.0.1 port={sandbox.port} dbname=postgres user={role.name}"
    script = [
        f"ALTER ROLE {role.name} PASSWORD '{own}'",
        f"CREATE ROLE {sub(role)} LOGIN ENCRYPTED PASSWORD '{new_role}' VALID UNTIL 'infinity'",
        f"CREATE USER MAPPING FOR CURRENT_USER SERVER {server} "
        f"OPTIONS (user 'remote', password '{mapping}')",
        f"ALTER USER MAPPING FOR CURRENT_USER SERVER {server} OPTIONS (SET password '{remapped}')",
        f"SELECT dblink_connect('c1', '{conninfo} password={own}')",
        "SELECT dblink_disconnect('c1')",
    ]
    ran = as_role(
        sandbox,
        role,
        tmp_path,
        "--write",
        "--reason",
        "rotate credentials",
        "--allow-destructive",
        *[arg for text in script for arg in ("-c", text)],
    )
    assert ran.code == 0, ran.output
    refused = as_role(
        sandbox,
        role,
        tmp_path,
        "--write",
        "--reason",
        "declined",
        "-c",
        f"ALTER ROLE {role.name} PASSWORD '{declined}'",
        password=own,
    )
    assert refused.code == 5, refused.output
    # Unparseable, sent anyway: the server's syntax error quotes the second literal.
    failed = as_role(
        sandbox,
        role,
        tmp_path,
        "--write",
        "--reason",
        "typo",
        "--allow-destructive",
        "-c",
        f"ALTER ROLE {role.name} PASSWORD '{broken}' '{quoted}'",
        password=own,
    )
    assert failed.code == 1, failed.output
    assert "syntax error" in failed.stderr
    gone = as_role(
        sandbox,
        role,
        tmp_path,
        "--write",
        "--reason",
        "no such role",
        "--allow-destructive",
        "-c",
        f"ALTER ROLE {role.name}_nosuch PASSWORD '{missing}'",
        password=own,
    )
    assert gone.code == 1, gone.output
    # The real statements went to the server: the new passwords work.
    with psycopg.connect(sandbox.conninfo(role.name, password=own)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role.name,)
    with psycopg.connect(sandbox.conninfo(sub(role), password=new_role)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (sub(role),)

    every = [own, new_role, mapping, remapped, declined, broken, quoted, missing]
    trails = tmp_path / "trails"
    outputs = "".join(r.output for r in (ran, refused, failed, gone))
    assert_nowhere(every, trails, outputs)
    for path in trail_files(trails):
        assert verify_file(path).status is VerifyStatus.INTACT

    [main] = [p for p in trail_files(trails) if "dblink_disconnect" in p.read_text()]
    [last] = [p for p in trail_files(trails) if "_nosuch" in p.read_text()]
    stmts = statements(read_trail(main))
    assert [s["text"] for s in stmts] == [
        f"ALTER ROLE {role.name} PASSWORD {REDACTED}",
        f"CREATE ROLE {sub(role)} LOGIN ENCRYPTED PASSWORD {REDACTED} VALID UNTIL 'infinity'",
        f"CREATE USER MAPPING FOR CURRENT_USER SERVER {server} "
        f"OPTIONS (user 'remote', password {REDACTED})",
        f"ALTER USER MAPPING FOR CURRENT_USER SERVER {server} OPTIONS (SET password {REDACTED})",
        f"SELECT dblink_connect('c1', '{conninfo} password=<REDACTED>')",
        "SELECT dblink_disconnect('c1')",
    ]
    assert [s.get("redacted", False) for s in stmts] == [True] * 5 + [False]
    for s in stmts:
        assert s["sent"] == f"/* {s['tag']} */ {s['text']}"
    alter = stmts[0]
    assert alter["logged_as"] == f"/* {alter['tag']} */ ALTER ROLE {role.name} PASSWORD <REDACTED>"
    assert "logged_as" not in stmts[4]  # pgAudit logs dblink's connection string whole
    [no] = [r for p in trail_files(trails) for r in read_trail(p) if r["kind"] == "refused"]
    assert no["text"] == f"ALTER ROLE {role.name} PASSWORD {REDACTED}"
    assert no["redacted"] is True

    # What pgAudit itself logs for ALTER ROLE ... PASSWORD: the text up to "PASSWORD".
    json_log = sandbox.wait_for_log(f"{alter['tag']} */ ALTER ROLE", kind="json")
    assert f"/* {alter['tag']} */ ALTER ROLE {role.name} PASSWORD <REDACTED>," in json_log

    for kind, name in (("stderr", "x.log"), ("csv", "x.csv"), ("json", "x.json")):
        log = logs.write(kind, tmp_path / name, f"{statements(read_trail(last))[0]['tag']} */")
        code, report = reconcile(capsys, "--trail", str(trails), "--server-log", str(log))
        assert report["text_mismatch"] == [], kind
        assert report["missing_on_server"] == [], kind
        assert report["missing_in_trail"] == [], kind
        matched = {e["text"] for e in report["matched"]}
        assert {s["text"] for s in stmts} <= matched, kind
        absent = [e["text"] for e in report["expected_absent"]]
        assert f"ALTER ROLE {role.name} PASSWORD {REDACTED}" in absent, kind  # declined
        assert_nowhere(every, json.dumps(report))
        assert code == (1 if report["untracked_sessions"] else 0), kind


def test_a_transaction_open_at_the_end_is_recorded_as_rolled_back(
    sandbox: Sandbox, role: RoleSpec, tmp_path: Path
) -> None:
    table = f"public.{role.name}_t"
    ok = as_role(
        sandbox,
        role,
        tmp_path,
        "--write",
        "--reason",
        "no commit",
        "-c",
        f"CREATE TABLE {table} (x int)",
        "-c",
        "BEGIN",
        "-c",
        f"INSERT INTO {table} VALUES (1)",
    )
    assert ok.code == 0, ok.output
    end = only_trail(tmp_path / "trails")[-1]
    assert end["kind"] == "session_end"
    assert end["how"] == "completed"
    assert end["open_transaction"] == "rolled back by the server as the connection closed"
    assert sandbox.admin_execute(f"SELECT count(*) FROM {table}") == [(0,)]
    (tmp_path / "b").mkdir()
    closed = as_role(sandbox, role, tmp_path / "b", "-c", "BEGIN", "-c", "COMMIT")
    assert closed.code == 0, closed.output
    assert "open_transaction" not in only_trail(tmp_path / "b" / "trails")[-1]


def test_sighup_during_a_statement_in_a_transaction_records_the_rollback(
    sandbox: Sandbox, role: RoleSpec, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": str(role.password)})
    trails = tmp_path / "trails"
    args = ["--ticket", "OPS-9", "--dsn", sandbox.conninfo(role.name), "--trail-dir", str(trails)]
    proc = subprocess.Popen(
        [*PRODSQL, *args, "-c", "BEGIN", "-c", "SELECT pg_sleep(30)"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not any("pg_sleep" in p.read_text() for p in trail_files(trails)):
            assert time.monotonic() < deadline, "the statement was never sent"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGHUP)
        _out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    end = only_trail(trails)[-1]
    assert end["how"] == "terminated"
    assert end["open_transaction"] == "rolled back by the server as the connection closed"


def test_shell_keeps_a_password_out_of_history_and_trail_and_sighup_rolls_back(
    sandbox: Sandbox, role: RoleSpec, tmp_path: Path
) -> None:
    before = sandbox.admin_execute(
        "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role.name]
    )
    password = secret()
    env = clean_env(
        tmp_path,
        {"PGPASSWORD": str(role.password), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
    )
    trails = tmp_path / "trails"
    args = ["--ticket", "OPS-7", "--dsn", sandbox.conninfo(role.name), "--trail-dir", str(trails)]
    child = pexpect.spawn(
        PRODSQL[0],
        [*PRODSQL[1:], *args, "--write", "--reason", "rotate"],
        env=env,
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=15,
    )
    try:
        pty = Pty(child, trails)
        pty.prompt()
        pty.run("SELECT 1 AS kept_in_history;")
        pty.line(f"ALTER ROLE {role.name} PASSWORD '{password}';")
        pty.expect("Type the object's name")
        pty.line(role.name)
        pty.expect("ALTER ROLE")
        assert pty.prompt() == "in-txn"  # the shell opened the write transaction
        child.kill(signal.SIGHUP)
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    records = only_trail(trails)
    assert records[-1]["how"] == "terminated"
    assert records[-1]["open_transaction"] == ("rolled back by the server as the connection closed")
    [alter] = [r for r in statements(records) if r["text"].startswith("ALTER ROLE")]
    assert alter["text"] == f"ALTER ROLE {role.name} PASSWORD {REDACTED}"
    state = tmp_path / "state"
    assert "kept_in_history" in _read_all(state / "prodsql" / "history")
    assert_nowhere([password], trails, state)
    after = sandbox.admin_execute(
        "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role.name]
    )
    assert after == before  # the server rolled the ALTER ROLE back with the connection


def test_copy_from_stdin_records_the_size_and_digest_of_the_data_not_the_data(
    sandbox: Sandbox, role: RoleSpec, tmp_path: Path
) -> None:
    table = f"public.{role.name}_copy"
    marker = secrets.token_hex(6)
    rows = f"1\tfirst {marker}\n2\tsecond {marker}\n"
    script = tmp_path / "load.sql"
    script.write_text(
        f"CREATE TABLE {table} (a int, b text);\nCOPY {table} FROM STDIN;\n{rows}\\.\n"
    )
    ran = as_role(sandbox, role, tmp_path, "--write", "--reason", "load", "-f", str(script))
    assert ran.code == 0, ran.output
    (tmp_path / "b").mkdir()
    piped = as_role(
        sandbox,
        role,
        tmp_path / "b",
        "--write",
        "--reason",
        "load",
        "-c",
        f"COPY {table} FROM STDIN",
        stdin=f"3\tthird {marker}",  # no final newline: prodsql adds it, and counts it
    )
    assert piped.code == 0, piped.output
    for home, data in ((tmp_path, rows), (tmp_path / "b", f"3\tthird {marker}\n")):
        records = only_trail(home / "trails")
        [copy] = [r for r in statements(records) if r["text"].startswith("COPY")]
        [outcome] = [r for r in records if r["kind"] == "outcome" and r["stmt"] == copy["stmt"]]
        assert outcome["status"] == "ok"
        assert outcome["copy_bytes"] == len(data.encode())
        assert outcome["copy_sha256"] == hashlib.sha256(data.encode()).hexdigest()
        assert marker not in _read_all(home / "trails")
    assert sandbox.admin_execute(f"SELECT count(*) FROM {table}") == [(3,)]
