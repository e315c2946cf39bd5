"""The interactive shell end to end: the real ``prodsql`` executable in a pseudo-terminal
(pexpect), the sandbox server, and the trail it leaves."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from prodsql.sandbox import Sandbox
from support.cli import PRODSQL, clean_env, run_prodsql, trail_files
from support.pty import Pty, finish, statements, wait_until_sent


@pytest.fixture(scope="module")
def shell_table(sandbox: Sandbox) -> str:
    name = f"shell_{secrets.token_hex(3)}"
    sandbox.admin_execute(
        f"CREATE TABLE public.{name} (id int PRIMARY KEY, v text); "
        f"INSERT INTO public.{name} SELECT g, 'v' || g FROM generate_series(1, 50) g; "
        f"ALTER TABLE public.{name} OWNER TO dev; ANALYZE public.{name}"
    )
    return name


@pytest.fixture
def shell(sandbox: Sandbox, tmp_path: Path) -> Iterator[Any]:
    children: list[pexpect.spawn] = []

    def open_shell(*extra: str, env_extra: dict[str, str] | None = None) -> Pty:
        trail_dir = tmp_path / "trails"
        env = clean_env(
            tmp_path,
            {
                "PGPASSWORD": "dev-password",
                "TERM": "xterm",
                "PROMPT_TOOLKIT_NO_CPR": "1",
                **(env_extra or {}),
            },
        )
        args = ["--ticket", "OPS-7", "--dsn", sandbox.conninfo("dev")]
        child = pexpect.spawn(
            PRODSQL[0],
            [*PRODSQL[1:], *args, "--trail-dir", str(trail_dir), *extra],
            env=env,
            encoding="utf-8",
            dimensions=(40, 160),
            timeout=15,
        )
        children.append(child)
        return Pty(child, trail_dir)

    yield open_shell
    for child in children:
        child.close(force=True)


def test_multi_line_statement_and_table_completion(shell: Any, shell_table: str) -> None:
    pty = shell()
    pty.prompt()
    pty.line("SELECT count(*)")  # no ';' yet: the statement continues on the next line
    pty.child.send("  FROM " + shell_table[:-3] + "\t")
    pty.expect(shell_table[-3:])  # the completion arrived: the name is complete
    pty.line(" WHERE v <> ';'")
    pty.run(";")
    pty.expect(r"\s50\s")
    pty.expect(r"\(1 row\)")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    [stmt] = statements(records)
    assert stmt["text"] == f"SELECT count(*)\n  FROM {shell_table} WHERE v <> ';'\n"[:-1]
    internal = [r for r in records if r.get("purpose") == "completion catalog"]
    assert internal, "the catalog query is an internal, trailed statement"
    assert {"kind": "meta", "command": "q"}.items() <= records[-2].items()


def test_confirm_and_decline_a_destructive_statement(
    shell: Any, sandbox: Sandbox, shell_table: str
) -> None:
    pty = shell()
    pty.prompt()
    pty.run("DELETE FROM " + shell_table + ";")
    pty.expect("read-only mode")  # refused in read-only mode, with how to switch
    pty.prompt()
    pty.run("\\write clean up test rows")
    pty.expect("Write mode")  # the prompt after it, not a redraw of the line being typed
    assert pty.prompt() == "idle"
    pty.run(f"UPDATE {shell_table} SET v = 'x';")
    pty.expect("planner estimates ~50 rows")
    pty.expect("Type the object's name")
    pty.line("yes")  # a bare yes never confirms
    pty.expect("Not confirmed")
    pty.prompt()
    pty.run(f"UPDATE {shell_table} SET v = v || '';")
    pty.expect("Type the object's name")
    pty.line(shell_table)
    pty.expect("UPDATE 50")
    assert pty.prompt() == "in-txn"  # prodsql opened the transaction; the user commits
    pty.run("ROLLBACK;")
    pty.expect("ROLLBACK\r\n")  # its status line: the prompt after it is the new one
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    refused = [r for r in records if r["kind"] == "refused"]
    assert [r["why"] for r in refused] == ["refused by policy", "not confirmed"]
    [update] = [s for s in statements(records) if s["text"].startswith("UPDATE")]
    assert update["confirmed_by"] == f"typed {shell_table}"
    begins = [r for r in records if r.get("purpose", "").startswith("open the write")]
    assert len(begins) == 1
    meta = [r for r in records if r["kind"] == "meta" and r["command"] == "write"]
    assert meta[0]["reason"] == "clean up test rows"


def test_ctrl_c_cancels_on_the_server_and_the_session_goes_on(shell: Any) -> None:
    pty = shell()
    pty.prompt()
    pty.run("SELECT pg_sleep(60);")
    wait_until_sent(pty, "pg_sleep(60)")
    time.sleep(0.3)  # the intent is trailed just before the send: let the query start
    started = time.monotonic()
    pty.child.sendintr()
    pty.expect("Cancel sent to the server")
    assert time.monotonic() - started < 10
    pty.prompt()
    pty.run("SELECT 'still' || 'here' AS alive;")
    pty.expect("stillhere")
    pty.prompt()
    pty.child.sendintr()  # at the prompt: clears the line, nothing else
    pty.prompt()
    # The aborted prompt is redrawn before the next one reads keys: give it that moment.
    time.sleep(0.5)
    pty.child.sendeof()  # Ctrl-D exits
    records = finish(pty)
    outcomes = [r for r in records if r["kind"] == "outcome"]
    assert any(o["status"] == "cancelled" for o in outcomes)
    assert records[-1]["how"] == "completed"


def test_exit_with_an_open_transaction_asks_and_commits(
    shell: Any, sandbox: Sandbox, shell_table: str
) -> None:
    pty = shell("--write", "--reason", "fix one row")
    assert pty.prompt() == "idle"
    pty.run(f"UPDATE {shell_table} SET v = 'committed' WHERE id = 7;")
    pty.expect("UPDATE 1")
    assert pty.prompt() == "in-txn"
    pty.run("\\readonly")
    pty.expect("COMMIT or ROLLBACK it first")
    pty.prompt()
    pty.run("\\q")
    pty.expect("A transaction is open")
    pty.line("commit")
    records = finish(pty)
    rows = sandbox.admin_execute(f"SELECT v FROM public.{shell_table} WHERE id = 7")
    assert rows == [("committed",)]
    texts = [s["text"] for s in statements(records, "shell (on exit)")]
    assert texts == ["COMMIT"]


def test_exit_with_an_open_transaction_defaults_to_rollback(
    shell: Any, sandbox: Sandbox, shell_table: str
) -> None:
    pty = shell()
    pty.prompt()
    pty.run("\\write try something")
    pty.prompt()
    pty.run(f"UPDATE {shell_table} SET v = 'rolled back' WHERE id = 8;")
    pty.expect("UPDATE 1")
    assert pty.prompt() == "in-txn"
    pty.child.sendeof()
    pty.expect("A transaction is open")
    pty.line("")
    finish(pty)
    rows = sandbox.admin_execute(f"SELECT v FROM public.{shell_table} WHERE id = 8")
    assert rows == [("v8",)]


def test_meta_commands_are_recorded_and_shell_escapes_refused(shell: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pty = shell()
    pty.prompt()
    pty.run("\\! id")
    pty.expect("shell escapes are refused")
    pty.prompt()
    pty.run("\\nosuch")
    pty.expect("invalid command")
    pty.prompt()
    pty.run("\\x on")
    pty.prompt()
    pty.run(f"\\o {out}")
    pty.prompt()
    pty.run("SELECT 1 AS a, 2 AS b;")
    pty.prompt()
    pty.run("\\o")
    pty.prompt()
    pty.run("\\d orders_nonexistent_zz")
    pty.expect("Did not find")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    meta = [(r["command"], r["result"]) for r in records if r["kind"] == "meta"]
    assert meta[:2] == [("!", "refused: shell escape"), ("nosuch", "unknown command")]
    assert ("x", "ok") in meta
    assert ("o", "ok") in meta
    assert "-[ RECORD 1 ]" in out.read_text()


def test_survives_a_server_restart(shell: Any, sandbox: Sandbox) -> None:
    pty = shell()
    pty.prompt()
    pty.run("\\write survive a restart")
    pty.run("SELECT 'before' AS phase;")
    pty.expect(r"\(1 row\)")
    pty.prompt()
    assert sandbox._pg_ctl_stop("fast")
    assert sandbox._pg_ctl_start()
    pty.run("SELECT 'lost' AS phase;")
    pty.expect("connection to the server was lost")
    pty.prompt()
    pty.run("SELECT 'after' AS phase;")
    pty.expect("Reconnected")
    pty.expect(r"\(1 row\)")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    kinds = [r["kind"] for r in records]
    assert kinds.count("connected") == 2
    first, second = [r for r in records if r["kind"] == "connected"]
    [start] = [r for r in records if r["kind"] == "session_start"]
    [again] = [r for r in records if r["kind"] == "reconnect"]
    assert kinds.index("connected", kinds.index("reconnect")) > kinds.index("reconnect")
    # The reconnect record starts the new server session: it restates the session's start.
    for key in ("ticket", "os_user", "target", "auth", "application_name", "dsn_redacted"):
        assert again[key] == start[key], key
    assert again["mode"] == "write"
    assert again["reason"] == "survive a restart"  # the current mode's, not the start's
    assert start["mode"] == "read-only"
    assert start["reason"] is None
    assert again["credentials"] == "libpq"
    assert again["previous_backend_pid"] == first["backend_pid"]
    assert again["previous_server_session_id"] == first["server_session_id"]
    assert second["backend_pid"] != first["backend_pid"]
    texts = [s["text"] for s in statements(records)]
    assert texts.count("SELECT 'lost' AS phase") == 1  # never re-run


def test_without_a_terminal_stdin_is_read_like_a_file(sandbox: Sandbox, tmp_path: Path) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": "dev-password"})
    args = ["--ticket", "OPS-7", "--dsn", sandbox.conninfo("dev"), "--trail-dir", str(tmp_path)]
    run = run_prodsql(args, env, stdin="SELECT 40 + 2 AS answer;\n")
    assert run.code == 0, run.stderr
    assert "42" in run.stdout


def outcome_of(records: list[dict[str, Any]], stmt: int) -> dict[str, Any]:
    [outcome] = [r for r in records if r["kind"] == "outcome" and r["stmt"] == stmt]
    return outcome


def test_watch_reruns_through_the_audited_path_until_ctrl_c(shell: Any) -> None:
    pty = shell()
    pty.prompt()
    pty.run("\\watch 0")
    pty.expect("the interval must be a number of seconds")
    pty.prompt()
    pty.run("SELECT 'w' || 'atched' AS w;")
    pty.expect("watched")
    pty.prompt()
    pty.child.send("\\watch 0.5\r")
    for _ in range(3):
        pty.expect(r"\(every 0\.5s\)", timeout=30)
        pty.expect(r"\(1 row\)", timeout=30)
    pty.child.sendintr()
    pty.prompt(timeout=30)
    pty.run("SELECT 'still' || 'usable' AS s;")
    pty.expect("stillusable")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    runs = statements(records, "shell (\\watch)")
    assert len(runs) >= 3
    assert {r["text"] for r in runs} == {"SELECT 'w' || 'atched' AS w"}
    assert len({r["tag"] for r in runs}) == len(runs)  # each run is tagged on its own
    assert all(r["tag"] in r["sent"] for r in runs)
    statuses = [outcome_of(records, r["stmt"])["status"] for r in runs]
    assert set(statuses[:-1]) == {"ok"}
    assert statuses[-1] in ("ok", "cancelled")  # Ctrl-C in the wait, or during a run
    watch = [r for r in records if r["kind"] == "meta" and r["command"] == "watch"]
    assert [w["result"] for w in watch] == ["bad argument", "ok"]
    assert watch[1]["runs"] == len(runs)
    assert watch[1]["stopped"] in ("Ctrl-C", "statement cancelled")
    assert statements(records)[-1]["text"] == "SELECT 'still' || 'usable' AS s"


def write_config(home: Path, text: str) -> None:
    path = home / "config" / "prodsql" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def assert_idle_ending(pty: Pty, sandbox: Sandbox, table: str) -> None:
    """The session ended by itself: the open transaction rolled back, then the trail."""
    pty.expect("No input for 2 seconds: the session ends", timeout=60)
    records = finish(pty)
    [meta] = [r for r in records if r["kind"] == "meta" and r["command"] == "idle_timeout"]
    assert meta["seconds"] == 2
    assert [s["text"] for s in statements(records, "shell (idle timeout)")] == ["ROLLBACK"]
    assert records[-1]["kind"] == "session_end"
    assert records[-1]["how"] == "idle_timeout"
    rows = sandbox.admin_execute(f"SELECT v FROM public.{table} WHERE id = 9")
    assert rows == [("v9",)]


def open_idle_transaction(pty: Pty, table: str) -> None:
    assert pty.prompt() == "idle"
    pty.run(f"UPDATE {table} SET v = 'left open' WHERE id = 9;")
    pty.expect("UPDATE 1")
    assert pty.prompt() == "in-txn"


def test_idle_timeout_from_the_environment_overrides_the_file(
    shell: Any, sandbox: Sandbox, shell_table: str, tmp_path: Path
) -> None:
    write_config(tmp_path, 'idle_timeout = "1h"\n')
    pty = shell("--write", "--reason", "idle test", env_extra={"PRODSQL_IDLE_TIMEOUT": "2s"})
    pty.expect("The session ends after 2 seconds without input")
    open_idle_transaction(pty, shell_table)
    assert_idle_ending(pty, sandbox, shell_table)


def test_idle_timeout_from_the_configuration_file(
    shell: Any, sandbox: Sandbox, shell_table: str, tmp_path: Path
) -> None:
    write_config(tmp_path, 'idle_timeout = "2s"\n')
    pty = shell("--write", "--reason", "idle test")
    pty.expect("The session ends after 2 seconds without input")  # the banner says so
    open_idle_transaction(pty, shell_table)
    assert_idle_ending(pty, sandbox, shell_table)


def test_a_bad_idle_timeout_variable_ends_before_any_input(shell: Any) -> None:
    pty = shell(env_extra={"PRODSQL_IDLE_TIMEOUT": "soon"})
    pty.expect("PRODSQL_IDLE_TIMEOUT: expected a duration", timeout=30)
    records = finish(pty, code=2)
    assert records[-1]["kind"] == "session_end"
    assert not statements(records)


def test_catalog_and_display_meta_commands(shell: Any, shell_table: str) -> None:
    pty = shell()
    pty.prompt()
    steps = [
        ("\\?", r"Refused: \\! and every other shell escape"),
        ("\\h select", "sql-select.html"),
        ("\\conninfo", 'as user "dev"'),
        ("\\ticket", "Ticket OPS-7, session"),
        (f"\\dt {shell_table}", "List of relations"),
        (f"\\di {shell_table}*", f"{shell_table}_pkey"),
        ("\\dv pg_catalog.pg_stat_activity", "pg_stat_activity | view"),
        ("\\dn", "public"),
        ("\\df pg_catalog.now", "timestamp with time zone"),
        ("\\du", "dev"),
        ("\\l", "template1"),
        (f"\\d {shell_table}", "Indexes:"),
        ("\\pset null (nil)", 'Null display is "\\(nil\\)"'),
        ("\\pset format csv", "Output format is csv"),
        ("SELECT NULL::text AS n, 1 AS one;", r"n,one\r\n\(nil\),1"),
        ("\\pset format aligned", "Output format is aligned"),
        ("\\x on", "Expanded display is on"),
        ("SELECT 7 AS seven;", r"-\[ RECORD 1 \]-*\r\nseven \| 7"),
        ("\\x off", "Expanded display is off"),
        ("\\timing on", "Timing is on"),
        ("SELECT 1 AS one;", r"Time: [0-9.]+ ms"),
        ("ROLLBACK;", "WARNING:  there is no transaction in progress"),  # notices show
    ]
    for command, shown in steps:
        pty.run(command)
        pty.expect(shown)
        pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    meta = {r["command"]: r for r in records if r["kind"] == "meta"}
    assert {c[1:].split()[0] for c, _s in steps if c.startswith("\\")} <= set(meta)
    assert all(m["result"] == "ok" for c, m in meta.items() if c != "q")
    assert (meta["dt"]["rows"], meta["di"]["rows"], meta["d"]["rows"]) == (1, 1, 2)
    purposes = {r.get("purpose") for r in records if r.get("source") == "internal"}
    assert {"\\dt", "\\di", "\\d", "\\d columns", "\\d footers", "List of schemas"} <= purposes


def test_completion_catalog_is_refreshed_after_ddl(shell: Any, shell_table: str) -> None:
    new = f"zz_fresh_{secrets.token_hex(3)}"
    pty = shell()
    pty.prompt()
    pty.child.send("SELECT count(*) FROM " + shell_table[:-2] + "\t")
    pty.expect(shell_table[-2:])  # the catalog is loaded on the first Tab
    pty.run(";")
    pty.prompt()
    pty.run("\\write create a table")
    pty.prompt()
    pty.run(f"CREATE TABLE {new} (a int);")
    pty.expect("CREATE TABLE")
    assert pty.prompt() == "in-txn"
    pty.child.send("SELECT * FROM " + new[:-3] + "\t")
    pty.expect(new[-3:])  # the new table completes: DDL made the catalog stale
    pty.run(";")
    pty.prompt()
    pty.run("ROLLBACK;")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    loads = [r for r in records if r.get("purpose") == "completion catalog"]
    assert len(loads) == 2


def test_write_at_start_without_any_reason_ends_before_connecting(shell: Any) -> None:
    pty = shell("--write")
    for _ in range(3):
        pty.expect(r"Write mode: why \(recorded in the trail\)\?")
        pty.line("")
    pty.expect("write mode needs a reason")
    pty.child.expect(pexpect.EOF, timeout=30)
    pty.child.close()
    assert pty.child.exitstatus == 2
    assert not trail_files(pty.trail_dir)  # nothing started: no connection, no trail


def test_write_at_start_asks_the_reason_and_ctrl_c_cancels_a_confirmation(
    shell: Any, sandbox: Sandbox, shell_table: str
) -> None:
    pty = shell("--write")
    pty.expect(r"Write mode: why \(recorded in the trail\)\?")
    pty.line("  ")  # no reason: asked again
    pty.expect("A reason is required")
    pty.expect(r"Write mode: why \(recorded in the trail\)\?")
    pty.line("fix the v column")
    assert pty.prompt() == "idle"
    assert "WRITE" in str(pty.child.before)
    pty.run(f"UPDATE {shell_table} SET v = 'ctrl-c';")
    pty.expect("Type the object's name")
    pty.child.sendintr()
    pty.expect("Not confirmed: nothing was sent")
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    assert records[0]["reason"] == "fix the v column"
    [refused] = [r for r in records if r["kind"] == "refused"]
    assert refused["why"] == "not confirmed"
    assert not statements(records)
    rows = sandbox.admin_execute(f"SELECT count(*) FROM public.{shell_table} WHERE v = 'ctrl-c'")
    assert rows == [(0,)]


@pytest.fixture
def slow_commit_table(sandbox: Sandbox) -> str:
    """A table whose deferred trigger makes COMMIT take seconds: time to drop the line."""
    name = f"slow_{secrets.token_hex(3)}"
    sandbox.admin_execute(
        f"CREATE TABLE public.{name} (id int); ALTER TABLE public.{name} OWNER TO dev; "
        f"CREATE FUNCTION public.{name}_wait() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN PERFORM pg_sleep(30); RETURN NULL; END$$; "
        f"CREATE CONSTRAINT TRIGGER {name}_slow AFTER INSERT ON public.{name} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.{name}_wait()"
    )
    return name


def terminate_when_committing(sandbox: Sandbox) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = sandbox.admin_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name LIKE 'prodsql:OPS-7:%' AND state = 'active' "
            "AND query LIKE '%*/ COMMIT'"
        )
        if rows:
            return
        time.sleep(0.1)
    raise AssertionError("the COMMIT never showed in pg_stat_activity")


def test_a_commit_in_flight_when_the_connection_drops_is_reported(
    shell: Any, sandbox: Sandbox, slow_commit_table: str
) -> None:
    pty = shell("--write", "--reason", "commit under fire")
    pty.prompt()
    pty.run(f"INSERT INTO {slow_commit_table} VALUES (1);")
    pty.expect("INSERT 0 1")
    assert pty.prompt() == "in-txn"
    pty.child.send("COMMIT;\r")
    terminate_when_committing(sandbox)
    pty.expect("connection to the server was lost", timeout=60)
    pty.expect("The COMMIT in flight when the connection dropped: aborted", timeout=60)
    assert pty.prompt(timeout=30) == "idle"
    pty.run("\\q")
    records = finish(pty)
    [status] = [r for r in records if r["kind"] == "meta" and r["command"] == "commit_status"]
    assert status["txid_status"] == "aborted"
    assert [s["text"] for s in statements(records)].count("COMMIT") == 1  # never re-run
    assert sandbox.admin_execute(f"SELECT count(*) FROM public.{slow_commit_table}") == [(0,)]


def test_a_row_estimate_on_a_never_analyzed_table_says_it_is_a_guess(
    shell: Any, sandbox: Sandbox
) -> None:
    name = f"unanalyzed_{secrets.token_hex(3)}"
    sandbox.admin_execute(
        f"CREATE TABLE public.{name} (id int); ALTER TABLE public.{name} OWNER TO dev"
    )
    pty = shell("--write", "--reason", "estimate check")
    pty.prompt()
    pty.run(f"DELETE FROM {name};")
    pty.expect("the planner estimates ~")
    pty.expect(f"{name} never analyzed: the planner.s number is a default guess")
    pty.expect("Type the object's name")
    pty.child.sendintr()
    pty.expect("Not confirmed: nothing was sent")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    checks = [r for r in records if r.get("purpose") == "statistics check for a row estimate"]
    assert len(checks) == 1  # internal: tagged and trailed like every statement
