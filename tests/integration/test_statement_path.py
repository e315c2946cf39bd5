"""The audited statement path end to end: the real executable, the real server, pgAudit's log."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from prodsql.sandbox import Sandbox
from prodsql.trail import VerifyStatus, verify_file
from support.cli import PRODSQL, clean_env, kinds, only_trail, read_trail, run_prodsql, trail_files


@pytest.fixture(scope="module")
def items_table(sandbox: Sandbox) -> str:
    sandbox.admin_execute(
        "DROP TABLE IF EXISTS public.items; "
        "CREATE TABLE public.items (id int PRIMARY KEY, v text); "
        "INSERT INTO public.items SELECT g, 'item' || g FROM generate_series(1, 20) g; "
        "ALTER TABLE public.items OWNER TO dev"
    )
    return "public.items"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, {"PGPASSWORD": "dev-password"})


@pytest.fixture
def trail_dir(tmp_path: Path) -> Path:
    return tmp_path / "trails"


def marker() -> str:
    return f"m{secrets.token_hex(6)}"


def prodsql(
    sandbox: Sandbox,
    env: dict[str, str],
    trail_dir: Path,
    *args: str,
    user: str = "dev",
    ticket: str = "OPS-123",
    **kw: Any,
) -> Any:
    base = ["--ticket", ticket, "--dsn", sandbox.conninfo(user), "--trail-dir", str(trail_dir)]
    return run_prodsql([*base, *args], env, **kw)


def json_log_entries(sandbox: Sandbox, needle: str) -> list[dict[str, Any]]:
    sandbox.wait_for_log(needle, kind="json")
    lines = sandbox.read_log("json").splitlines()
    return [json.loads(line) for line in lines if needle in line]


def test_select_is_tagged_trailed_and_audited(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    m = marker()
    run = prodsql(sandbox, env, trail_dir, "-c", f"SELECT 41 + 1 AS answer, '{m}' AS m")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines()[:3] == [
        " answer |       m       ",
        "--------+---------------",
        f"     42 | {m}",
    ]
    assert "(1 row)" in run.stdout
    records = only_trail(trail_dir)
    assert kinds(records) == [
        "session_start",
        "statement",
        "outcome",
        "connected",
        "statement",
        "outcome",
        "session_end",
    ]
    sid = records[0]["sid"]
    stmt = records[4]
    assert stmt["sent"] == f"/* prodsql:{sid}:seq=2 */ SELECT 41 + 1 AS answer, '{m}' AS m"
    connected = records[3]
    assert connected["posture_ok"] is True
    entries = json_log_entries(sandbox, m)
    audit = [e for e in entries if "AUDIT: SESSION" in e["message"]]
    assert len(audit) == 1
    assert f"prodsql:{sid}:seq=2" in audit[0]["message"]
    assert audit[0]["application_name"] == records[0]["application_name"]
    assert audit[0]["session_id"] == connected["server_session_id"]
    assert audit[0]["pid"] == connected["backend_pid"]
    assert str(records[0]["application_name"]).startswith("prodsql:OPS-123:")
    csv_text = sandbox.read_log("csv")
    assert str(records[0]["application_name"]) in csv_text
    assert verify_file(trail_files(trail_dir)[0]).status == VerifyStatus.INTACT


def test_output_matches_psql(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, items_table: str
) -> None:
    sql = (
        "SELECT id, v, NULL AS nothing, id * 1.5 AS num, E'two\\nlines' AS ml "
        f"FROM {items_table} WHERE id <= 3 ORDER BY id"
    )
    ours = prodsql(sandbox, env, trail_dir, "-c", sql)
    theirs = subprocess.run(
        ["psql", "-X", "-d", sandbox.conninfo("dev"), "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ours.code == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_posture_refused_for_role_without_read_and_write(
    sandbox: Sandbox, tmp_path: Path, trail_dir: Path
) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": "weak-password"})
    m = marker()
    run = prodsql(sandbox, env, trail_dir, "-c", f"SELECT '{m}'", user="weak")
    assert run.code == 4
    assert "would not audit" in run.stderr
    assert "ALTER ROLE" in run.stderr
    assert "pgaudit.log" in run.stderr
    assert "Traceback" not in run.stderr
    records = only_trail(trail_dir)
    connected = next(r for r in records if r["kind"] == "connected")
    assert connected["posture_ok"] is False
    assert records[-1]["kind"] == "session_end"
    assert not any(r["kind"] == "statement" and m in str(r.get("text")) for r in records)
    sandbox.wait_for_log(str(records[0]["application_name"]), kind="json")
    assert m not in sandbox.read_log("json")


def test_superuser_session_raises_its_own_posture(
    sandbox: Sandbox, tmp_path: Path, trail_dir: Path
) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": "admin-password"})
    m = marker()
    run = prodsql(sandbox, env, trail_dir, "-c", f"SELECT '{m}'", user="admin_su")
    assert run.code == 0, run.stderr
    assert "superuser" in run.stderr
    records = only_trail(trail_dir)
    internal = [r for r in records if r["kind"] == "statement" and r["source"] == "internal"]
    assert any(str(r["text"]).startswith("SET pgaudit.log") for r in internal)
    entries = json_log_entries(sandbox, m)
    assert any("AUDIT: SESSION" in e["message"] for e in entries)


def test_read_only_refuses_writes_and_sends_nothing(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, items_table: str
) -> None:
    m = marker()
    run = prodsql(sandbox, env, trail_dir, "-c", f"DELETE FROM {items_table} WHERE v = '{m}'")
    assert run.code == 5
    assert "--write" in run.stderr
    records = only_trail(trail_dir)
    refused = [r for r in records if r["kind"] == "refused"]
    assert len(refused) == 1
    assert refused[0]["decision"]["action"] == "refuse"
    assert records[-1]["how"] == "refused"
    sandbox.wait_for_log(str(records[0]["application_name"]), kind="json")
    assert m not in sandbox.read_log("json")


def test_write_mode_runs_insert_and_confirms_destructive(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, items_table: str
) -> None:
    ok = prodsql(
        sandbox, env, trail_dir, "--write", "-c", f"INSERT INTO {items_table} VALUES (1000, 'x')"
    )
    assert ok.code == 0, ok.stderr
    assert "INSERT 0 1" in ok.stdout
    refused = prodsql(
        sandbox,
        env,
        trail_dir,
        "--write",
        "-c",
        f"DELETE FROM {items_table} WHERE id >= 1000 OR true",
    )
    assert refused.code == 5
    assert "--allow-destructive" in refused.stderr
    confirmed = prodsql(
        sandbox,
        env,
        trail_dir,
        "--write",
        "--allow-destructive",
        "-c",
        f"UPDATE {items_table} SET v = v",
    )
    assert confirmed.code == 0, confirmed.stderr
    assert "UPDATE 21" in confirmed.stdout
    stmts = [
        r
        for f in trail_files(trail_dir)
        for r in read_trail(f)
        if r["kind"] == "statement" and r["source"] != "internal"
    ]
    # One trail per run, named by a random session id: compare without their order.
    by_text = {str(s["text"]).split()[0]: s["confirmed_by"] for s in stmts}
    assert by_text == {"INSERT": None, "UPDATE": "--allow-destructive"}
    assert sandbox.admin_execute(f"SELECT count(*) FROM {items_table}")[0][0] == 21


@pytest.mark.parametrize(
    "sql",
    [
        "SET application_name = 'innocent'",
        "RESET application_name",
        "SET pgaudit.log = 'none'",
        "SELECT set_config('application_name', 'x', false)",
        "SELECT pg_catalog.set_config('pgaudit.log', 'none', false)",
        "SET U&\"applic\\0061tion_name\" = 'x'",
        "DO $$ BEGIN PERFORM set_config('application_name', 'x', false); END $$",
        "SET SESSION AUTHORIZATION postgres",
        "COPY (SELECT 1) TO PROGRAM 'cat'",
        "RESET ALL",
    ],
)
def test_audit_tampering_is_always_refused(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, sql: str
) -> None:
    run = prodsql(sandbox, env, trail_dir, "--write", "--allow-destructive", "-c", sql)
    assert run.code == 5, run.output
    records = only_trail(trail_dir)
    assert [r["kind"] for r in records].count("refused") == 1
    assert not any(r["kind"] == "statement" and r["source"] != "internal" for r in records)


@pytest.mark.parametrize(
    "sql",
    [
        "WITH d AS (DELETE FROM public.items WHERE id = 1 RETURNING *) SELECT count(*) FROM d",
        "DO $body$ BEGIN DELETE FROM public.items WHERE id = 2; END $body$",
        "EXPLAIN ANALYZE DELETE FROM public.items WHERE id = 3",
        "SELECT * FROM public.items FOR UPDATE",
        "BEGIN READ WRITE",
        "SET default_transaction_read_only = off",
    ],
)
def test_read_only_evasions_are_refused(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, items_table: str, sql: str
) -> None:
    run = prodsql(sandbox, env, trail_dir, "-c", sql)
    assert run.code == 5, run.output
    assert sandbox.admin_execute(f"SELECT count(*) FROM {items_table} WHERE id <= 3")[0][0] == 3


def test_multi_statement_text_is_split_and_stops_at_refusal(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    run = prodsql(sandbox, env, trail_dir, "-c", "SELECT 1 AS a; SET application_name = 'x'")
    assert run.code == 5
    assert " a \n---\n 1\n(1 row)" in run.stdout
    records = only_trail(trail_dir)
    assert kinds(records)[-3:] == ["outcome", "refused", "session_end"]


def test_stops_at_first_error_with_sqlstate(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    run = prodsql(sandbox, env, trail_dir, "-c", "SELECT 1", "-c", "SELECT 1/0", "-c", "SELECT 3")
    assert run.code == 1
    assert "SQLSTATE 22012" in run.stderr
    assert "division by zero" in run.stderr
    records = only_trail(trail_dir)
    user_stmts = [r for r in records if r["kind"] == "statement" and r["source"] != "internal"]
    assert len(user_stmts) == 2
    failed = [r for r in records if r["kind"] == "outcome" and r["status"] == "error"]
    assert failed[0]["sqlstate"] == "22012"
    assert records[-1]["how"] == "statement_failed"


def test_tag_is_safe_with_comments_dollar_quotes_and_semicolons(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    m = marker()
    script = f"SELECT $x$;{m};$x$ AS d -- trailing comment\n;\nSELECT 'b' AS e;;\n"
    run = prodsql(sandbox, env, trail_dir, "-f", "-", stdin=script)
    assert run.code == 0, run.stderr
    assert f";{m};" in run.stdout
    sid = only_trail(trail_dir)[0]["sid"]
    entries = json_log_entries(sandbox, m)
    assert any(f"/* prodsql:{sid}:seq=2 */ SELECT $x$;{m};$x$" in e["message"] for e in entries)


def test_copy_from_stdin_in_script_and_copy_to_stdout(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, tmp_path: Path
) -> None:
    sandbox.admin_execute(
        "DROP TABLE IF EXISTS public.copied; "
        "CREATE TABLE public.copied (a int, b text) ; "
        "ALTER TABLE public.copied OWNER TO dev"
    )
    script = tmp_path / "load.sql"
    script.write_text(
        "COPY public.copied FROM STDIN;\n1\tone\n2\ttwo\n\\.\n"
        "COPY public.copied TO STDOUT WITH (FORMAT csv);\n"
    )
    run = prodsql(sandbox, env, trail_dir, "--write", "-f", str(script))
    assert run.code == 0, run.stderr
    # The export is the data alone: no "COPY 2" after it (psql prints none either).
    assert run.stdout == "COPY 2\n1,one\n2,two\n"
    assert sandbox.admin_execute("SELECT count(*) FROM public.copied")[0][0] == 2


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("csv", "a,b\n1,x\n"),
        ("json", '[\n{"a": 1, "b": "x"}\n]\n'),
    ],
)
def test_machine_formats(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, fmt: str, expected: str
) -> None:
    run = prodsql(sandbox, env, trail_dir, "--format", fmt, "-c", "SELECT 1 AS a, 'x' AS b")
    assert run.code == 0, run.stderr
    assert run.stdout == expected


def test_intent_is_flushed_before_send_kill_9_during_sleep(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    proc = start_sleeping(sandbox, env, trail_dir)
    try:
        path = _wait_for_record(trail_dir, "pg_sleep")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.communicate()
    records = read_trail(path)
    assert records[-1]["kind"] == "statement"
    assert "pg_sleep" in str(records[-1]["text"])
    result = verify_file(path)
    assert result.status == VerifyStatus.NOT_CLOSED
    verify = run_prodsql(["verify", str(path)], env)
    assert verify.code == 3


def start_sleeping(sandbox: Sandbox, env: dict[str, str], trail_dir: Path) -> subprocess.Popen[str]:
    """prodsql running a 30-second statement, for the crash and signal tests."""
    args = [
        "--ticket",
        "OPS-9",
        "--dsn",
        sandbox.conninfo("dev"),
        "--trail-dir",
        str(trail_dir),
        "-c",
        "SELECT pg_sleep(30)",
    ]
    return subprocess.Popen(
        [*PRODSQL, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_record(trail_dir: Path, needle: str) -> Path:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in trail_files(trail_dir):
            text = path.read_text(encoding="utf-8")
            if needle in text and '"kind":"statement"' in text.split(needle)[0].rsplit("\n", 1)[-1]:
                return path
        time.sleep(0.02)
    raise AssertionError(f"no trail record with {needle!r} appeared")


def test_terminate_closes_trail(sandbox: Sandbox, env: dict[str, str], trail_dir: Path) -> None:
    proc = start_sleeping(sandbox, env, trail_dir)
    path = _wait_for_record(trail_dir, "pg_sleep")
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    records = read_trail(path)
    assert records[-1]["kind"] == "session_end"
    assert records[-1]["how"] == "terminated"
    assert verify_file(path).status == VerifyStatus.INTACT


def test_terminate_during_a_write_cancels_it_on_the_server(
    sandbox: Sandbox, items_table: str, env: dict[str, str], trail_dir: Path
) -> None:
    # Autocommit: left running after prodsql exits, the INSERT would commit unwatched.
    m = marker()
    args = ["--ticket", "OPS-9", "--dsn", sandbox.conninfo("dev"), "--trail-dir", str(trail_dir)]
    sql = f"INSERT INTO {items_table} (id, v) SELECT 777, '{m}' || pg_sleep(30)::text"
    proc = subprocess.Popen(
        [*PRODSQL, *args, "--write", "-c", sql],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = _wait_for_record(trail_dir, m)
    active = f"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{m}%'"
    deadline = time.monotonic() + 20
    while sandbox.admin_execute(active + " AND pid <> pg_backend_pid()") != [(1,)]:
        assert time.monotonic() < deadline, "the INSERT never started"
        time.sleep(0.05)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGTERM):  # only the first counts
        proc.send_signal(sig)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    records = read_trail(path)
    assert records[-1]["how"] == "terminated"
    [stmt] = [r["stmt"] for r in records if r["kind"] == "statement" and m in r["text"]]
    [outcome] = [r for r in records if r["kind"] == "outcome" and r["stmt"] == stmt]
    assert outcome["status"] == "unknown"
    assert "a cancel request was sent" in outcome["message"]
    while sandbox.admin_execute(active + " AND pid <> pg_backend_pid()") != [(0,)]:
        assert time.monotonic() < deadline + 10, "the INSERT still runs on the server"
        time.sleep(0.05)
    assert sandbox.admin_execute(f"SELECT count(*) FROM {items_table} WHERE id = 777") == [(0,)]
    assert verify_file(path).status == VerifyStatus.INTACT


def test_unwritable_trail_directory_sends_nothing(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    ticket = f"NOSEND-{secrets.randbelow(10**8)}"
    run = prodsql(sandbox, env, blocker / "trails", "-c", "SELECT 1", ticket=ticket)
    assert run.code == 6, run.output
    assert "trail" in run.stderr
    assert "Traceback" not in run.stderr
    time.sleep(0.5)  # the logging collector writes asynchronously
    assert not trail_files(blocker.parent)
    assert ticket not in sandbox.read_log("stderr")


def test_full_disk_during_session_stops_before_send(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    m = marker()
    big = "SELECT '" + m + "x" * 6000 + "'"
    limit = (
        "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000)); "
        "import runpy, sys; sys.argv = ['prodsql'] + sys.argv[1:]; "
        "runpy.run_module('prodsql', run_name='__main__')"
    )
    args = [
        "--ticket",
        "OPS-1",
        "--dsn",
        sandbox.conninfo("dev"),
        "--trail-dir",
        str(trail_dir),
        "-c",
        big,
    ]
    proc = subprocess.run(
        [PRODSQL[0], "-c", limit, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 6, proc.stderr
    assert "Traceback" not in proc.stderr
    path = trail_files(trail_dir)[0]
    assert verify_file(path).status == VerifyStatus.NOT_CLOSED
    assert m not in path.read_text()
    time.sleep(0.5)
    assert m not in sandbox.read_log("json")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--ticket", "not a ticket", "-c", "SELECT 1"], "malformed ticket"),
        (["-c", "SELECT 1"], "ticket is required"),
        (["--ticket", "OPS-1", "-f", "/nonexistent/file.sql"], "no such file"),
        (["--ticket", "OPS-1", "-c", "SELECT 1", "--format", "xml"], "invalid choice"),
    ],
)
def test_usage_errors_are_clear_and_connect_nothing(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, args: list[str], needle: str
) -> None:
    run = run_prodsql(["--dsn", sandbox.conninfo("dev"), "--trail-dir", str(trail_dir), *args], env)
    assert run.code == 2, run.output
    assert needle in run.stderr
    assert "Traceback" not in run.output
    assert not trail_dir.exists()


def test_bad_dsn_wrong_password_and_unreachable_server(
    sandbox: Sandbox, tmp_path: Path, trail_dir: Path
) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": "wrong-password"})
    bad = run_prodsql(
        [
            "--ticket",
            "OPS-1",
            "--dsn",
            "host=127.0.0.1 port=notaport ===",
            "-c",
            "SELECT 1",
            "--trail-dir",
            str(trail_dir),
        ],
        env,
    )
    assert bad.code == 2
    assert "invalid --dsn" in bad.stderr
    wrong = prodsql(sandbox, env, trail_dir, "-c", "SELECT 1")
    assert wrong.code == 3
    assert "password authentication failed" in wrong.stderr
    assert "wrong-password" not in wrong.output
    unreachable = run_prodsql(
        [
            "--ticket",
            "OPS-1",
            "--dsn",
            "host=127.0.0.1 port=1 user=dev",
            "-c",
            "SELECT 1",
            "--trail-dir",
            str(trail_dir),
        ],
        env,
    )
    assert unreachable.code == 3
    for run in (bad, wrong, unreachable):
        assert "Traceback" not in run.output
    ends = [read_trail(f)[-1] for f in trail_files(trail_dir)]
    assert all(e["kind"] == "session_end" for e in ends)


def test_config_errors_name_file_and_key(tmp_path: Path, env: dict[str, str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[targets.prod]\nhost = "db"\nprot = 5432\n')
    run = run_prodsql(
        ["--config", str(cfg), "--ticket", "OPS-1", "--target", "prod", "-c", "SELECT 1"], env
    )
    assert run.code == 2
    assert str(cfg) in run.stderr
    assert "targets.prod.prot" in run.stderr
    cfg.write_text('[targets.prod]\nport = "5432"\n')
    run = run_prodsql(
        ["--config", str(cfg), "--ticket", "OPS-1", "--target", "prod", "-c", "SELECT 1"], env
    )
    assert run.code == 2
    assert "expected an integer" in run.stderr
    cfg.write_text("this is = = not toml")
    run = run_prodsql(["--config", str(cfg), "--ticket", "OPS-1", "-c", "SELECT 1"], env)
    assert run.code == 2
    assert "not valid TOML" in run.stderr
    for text in (run.stdout, run.stderr):
        assert "Traceback" not in text


def test_target_from_config_with_libpq_password(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, trail_dir: Path
) -> None:
    cfg = tmp_path / "config" / "prodsql" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        f'trail_dir = "{trail_dir}"\n'
        f'[targets.sandbox]\nhost = "{sandbox.host}"\nport = {sandbox.port}\n'
        'dbname = "postgres"\nuser = "dev"\nstatement_timeout = "7s"\n'
    )
    run = run_prodsql(
        [
            "--ticket",
            "OPS-2",
            "--target",
            "sandbox",
            "-c",
            "SHOW statement_timeout",
            "-c",
            "SHOW default_transaction_read_only",
        ],
        env,
    )
    assert run.code == 0, run.stderr
    assert " 7s" in run.stdout
    assert " on" in run.stdout
    records = only_trail(trail_dir)
    assert records[0]["target"] == "sandbox"
    assert re.search(r"dev-password", json.dumps(records)) is None


def test_libpq_environment_and_pgpass_are_honoured(
    sandbox: Sandbox, tmp_path: Path, trail_dir: Path
) -> None:
    pgpass = tmp_path / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{sandbox.port}:*:dev:dev-password\n")
    pgpass.chmod(0o600)
    env = clean_env(
        tmp_path,
        {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(sandbox.port),
            "PGUSER": "dev",
            "PGDATABASE": "postgres",
        },
    )
    for dsn in (["--dsn", ""], []):
        run = run_prodsql(
            [
                "--ticket",
                "OPS-3",
                *dsn,
                "--trail-dir",
                str(trail_dir),
                "-c",
                "SELECT current_user AS who",
            ],
            env,
        )
        assert run.code == 0, run.stderr
        assert " dev" in run.stdout
    for path in trail_files(trail_dir):
        assert "dev-password" not in path.read_text()


def test_json_operational_log_on_stderr(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    run = prodsql(sandbox, env, trail_dir, "--log-format", "json", "-c", "SELECT 1")
    assert run.code == 0, run.stderr
    events = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert names == ["trail.opened", "session.open", "session.closed"]
    assert events[0]["path"] == str(trail_files(trail_dir)[0])
    assert "dev-password" not in run.stderr


def test_tag_changed_by_a_function_ends_the_session(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path
) -> None:
    sandbox.admin_execute(
        "CREATE OR REPLACE FUNCTION public.rename_me() RETURNS int LANGUAGE plpgsql AS "
        "$$BEGIN PERFORM set_config('application_name', 'innocent', false); RETURN 1; END$$; "
        "GRANT EXECUTE ON FUNCTION public.rename_me() TO dev"
    )
    run = prodsql(sandbox, env, trail_dir, "-c", "SELECT public.rename_me()", "-c", "SELECT 2")
    assert run.code == 4, run.output
    assert "application_name changed" in run.stderr
    records = only_trail(trail_dir)
    tamper = [r for r in records if r.get("command") == "audit_tamper_detected"]
    assert tamper[0]["application_name"] == "innocent"
    assert not any(r["kind"] == "statement" and r.get("text") == "SELECT 2" for r in records)


@pytest.mark.parametrize(
    "options",
    [
        "-c role=admin_su",
        "-c application_name=x",
        "--pgaudit.log=none",
        "-c default_transaction_read_only=off",
    ],
)
def test_dsn_options_cannot_switch_role_or_audit(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, options: str
) -> None:
    dsn = sandbox.conninfo("dev") + f" options='{options}'"
    run = run_prodsql(
        ["--ticket", "OPS-1", "--dsn", dsn, "--trail-dir", str(trail_dir), "-c", "SELECT 1"], env
    )
    assert run.code == 2, run.output
    assert "does not allow" in run.stderr


def test_nul_byte_in_input_is_refused_whole(
    sandbox: Sandbox, env: dict[str, str], trail_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "nul.sql"
    script.write_bytes(b"SELECT 1;\x00DROP TABLE items;")
    run = prodsql(sandbox, env, trail_dir, "-f", str(script))
    assert run.code == 2
    assert "NUL byte" in run.stderr
    lint = run_prodsql(["classify", str(script)], env)
    assert lint.code == 2
    assert "NUL byte" in lint.stderr
