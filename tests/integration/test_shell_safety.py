"""The shell's safety behaviours end to end (the real ``prodsql`` in a pseudo-terminal, the
sandbox server, the trail): the first refused, declined or failed statement stops the rest
of the input; ``\\write`` inside a transaction; a transaction lost with the connection;
``\\g FILE`` and ``\\g |cmd``; ``COPY ... FROM STDIN`` typed at the prompt."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prodsql.sandbox import Sandbox
from support.cli import clean_env
from support.pty import Pty, finish, meta, of_kind, outcome_of, spawn_shell, statements

Shell = Callable[..., Pty]
PSQL = Path("/usr/lib/postgresql/15/bin/psql")
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # a bracketed paste, as a terminal sends it
# A new ">>" prompt: each prompt starts by enabling bracketed paste (the accepted line's
# redraw does not), so this is the next prompt, ready for keys, not the last one's echo.
DATA_PROMPT = r"\x1b\[\?2004h(?:\x1b\[[0-9;?]*[A-Za-z])*>>"


@pytest.fixture
def shell(sandbox: Sandbox, tmp_path: Path) -> Iterator[Shell]:
    """``shell(*extra_args)``: prodsql as ``dev`` on the sandbox; HOME is tmp_path."""
    ptys: list[Pty] = []

    def start(*extra: str) -> Pty:
        trail_dir = tmp_path / "trails"
        args = ["--ticket", "OPS-7", "--dsn", sandbox.conninfo("dev"), *extra]
        env = clean_env(tmp_path, {"PGPASSWORD": "dev-password"})
        pty = spawn_shell([*args, "--trail-dir", str(trail_dir)], env, trail_dir)
        ptys.append(pty)
        return pty

    yield start
    for pty in ptys:
        pty.child.close(force=True)


@pytest.fixture
def table(sandbox: Sandbox) -> str:
    name = f"safety_{secrets.token_hex(3)}"
    sandbox.admin_execute(
        f"CREATE TABLE public.{name} (id int PRIMARY KEY, v text); "
        f"INSERT INTO public.{name} SELECT g, 'v' || g FROM generate_series(1, 5) g; "
        f"ALTER TABLE public.{name} OWNER TO dev"
    )
    return name


def ids(sandbox: Sandbox, table: str) -> list[object]:
    return [r[0] for r in sandbox.admin_execute(f"SELECT id FROM public.{table} ORDER BY id")]


def paste(pty: Pty, text: str) -> None:
    """Paste ``text`` (newlines and all) at the prompt, then press Enter."""
    pty.child.send(PASTE_START + text + PASTE_END)
    pty.child.send("\r")


# -- 1. the first statement refused, not confirmed or failed stops the rest -----------------


def test_a_declined_confirmation_stops_the_rest_of_the_line(
    shell: Shell, sandbox: Sandbox, table: str
) -> None:
    pty = shell("--write", "--reason", "stop test")
    assert pty.prompt() == "idle"
    pty.run(f"DELETE FROM {table}; INSERT INTO {table} VALUES (999, 'x'); COMMIT;")
    pty.expect("Type the object's name")
    pty.line("no")
    pty.expect("Not confirmed: nothing was sent")
    pty.expect(r"Stopped: the statement was not confirmed; 2 statements after it were not run\.")
    assert pty.prompt() == "idle"  # no INSERT opened a transaction
    pty.run("\\q")
    records = finish(pty)
    assert 999 not in ids(sandbox, table)
    assert not statements(records)  # neither the INSERT nor the COMMIT reached the path
    [refused] = of_kind(records, "refused")
    assert refused["why"] == "not confirmed"
    [stop] = meta(records, "input_stopped")
    assert stop["stmt"] == refused["stmt"]
    assert (stop["outcome"], stop["statements_not_run"]) == ("not confirmed", 2)
    assert records.index(refused) < records.index(stop)


def test_an_included_file_stops_at_its_first_failure_and_so_does_the_buffer(
    shell: Shell, sandbox: Sandbox, table: str, tmp_path: Path
) -> None:
    script = tmp_path / "fix.sql"
    script.write_text(
        f"INSERT INTO {table} VALUES (100, 'a');\n"
        f"INSERT INTO {table} VALUES (1, 'duplicate');\n"  # fails: the primary key
        f"INSERT INTO {table} VALUES (101, 'b');\n"
    )
    pty = shell("--write", "--reason", "stop test")
    assert pty.prompt() == "idle"
    paste(pty, f"\\i {script}\nINSERT INTO {table} VALUES (102, 'c');")
    pty.expect("duplicate key value violates unique constraint")
    pty.expect(
        r"Stopped: the statement failed; 2 statements after it were not run "
        r"\(1 in \\i .*fix\.sql, 1 in what was typed\)\."
    )
    assert pty.prompt() == "FAILED-txn"
    pty.run("ROLLBACK;")
    pty.expect("ROLLBACK\\r\\n")  # its status: the next prompt is the new one
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    texts = [s["text"] for s in of_kind(records, "statement") if s["source"] != "internal"]
    assert texts == [
        f"INSERT INTO {table} VALUES (100, 'a')",
        f"INSERT INTO {table} VALUES (1, 'duplicate')",
        "ROLLBACK",
    ]
    [stop] = meta(records, "input_stopped")
    assert stop["args"] == f"\\i {script}:2"
    assert stop["outcome"] == "error"
    assert outcome_of(records, stop["stmt"])["sqlstate"] == "23505"
    [include] = meta(records, "i")
    assert include["stopped"] is True
    assert ids(sandbox, table) == [1, 2, 3, 4, 5]


# -- 2. \write inside a transaction ---------------------------------------------------------


def test_write_inside_a_transaction_is_refused(shell: Shell, table: str) -> None:
    pty = shell()
    assert pty.prompt() == "idle"
    pty.run("BEGIN;")
    pty.expect("BEGIN\\r\\n")  # its status: the next prompt is the new one
    assert pty.prompt() == "in-txn"
    pty.run("\\write fix a row")
    pty.expect("A transaction is open: COMMIT or ROLLBACK it first")
    assert pty.prompt() == "in-txn"
    pty.run("ROLLBACK;")
    pty.expect("ROLLBACK\\r\\n")  # its status: the next prompt is the new one
    assert pty.prompt() == "idle"
    pty.run("SHOW default_transaction_read_only;")
    pty.expect(r"\s+on\r\n\(1 row\)")  # still read-only: nothing was changed
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    [write] = meta(records, "write")
    assert write["result"] == "refused: transaction open"
    assert not [r for r in records if r.get("purpose") == "write mode"]  # no SET was sent


# -- 3. a transaction lost with the connection ------------------------------------------


def test_a_transaction_lost_with_the_connection_is_said_and_recorded(
    shell: Shell, sandbox: Sandbox, table: str
) -> None:
    pty = shell("--write", "--reason", "lose a transaction")
    assert pty.prompt() == "idle"
    pty.run(f"INSERT INTO {table} VALUES (999, 'lost');")
    pty.expect("INSERT 0 1")
    assert pty.prompt() == "in-txn"
    [first] = of_kind(pty.records(), "connected")
    assert sandbox.admin_execute(
        "SELECT pg_terminate_backend(%s, 30000)", [first["backend_pid"]]
    ) == [(True,)]
    pty.run("SELECT 1 AS one;")
    pty.expect("connection to the server was lost")
    pty.expect("A transaction was open: the server rolls it back")
    assert pty.prompt() == "disconnected"
    pty.run("COMMIT;")
    pty.expect("Reconnected")
    pty.expect("rolled back by the server. None of these statements took effect")
    pty.expect(rf"#\d+ INSERT INTO {table} VALUES \(999, 'lost'\)")
    pty.expect(
        r"Stopped: the transaction open when the connection was lost is gone; "
        r"1 statement was not run\."
    )
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    assert 999 not in ids(sandbox, table)
    [insert] = [s for s in statements(records) if s["text"].startswith("INSERT")]
    [begin] = [r for r in records if r.get("purpose", "").startswith("open the write")]
    [select] = [s for s in statements(records) if s["text"] == "SELECT 1 AS one"]
    assert outcome_of(records, select["stmt"])["status"] == "connection_lost"
    [lost] = meta(records, "transaction_lost")
    assert lost["stmts"] == [begin["stmt"], insert["stmt"], select["stmt"]]
    assert lost["result"] == "rolled back by the server"
    [reconnect] = of_kind(records, "reconnect")
    assert records.index(reconnect) < records.index(lost)
    assert not [s for s in statements(records) if s["text"] == "COMMIT"]  # not sent
    [stop] = meta(records, "input_stopped")
    assert stop["outcome"] == "transaction lost"


# -- 4. \g FILE, \g |cmd --------------------------------------------------------------------


def psql_g_file(sandbox: Sandbox, tmp_path: Path, query: str) -> str:
    """What psql 15 writes with ``QUERY \\g FILE``."""
    out = tmp_path / "psql.txt"
    subprocess.run(
        [str(PSQL), "-X", "-q", "-d", sandbox.admin_conninfo()],
        input=f"{query} \\g {out}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return out.read_text()


def test_g_file_writes_the_result_like_psql_and_g_pipe_is_refused(
    shell: Shell, sandbox: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "g.txt"
    pty = shell()
    assert pty.prompt() == "idle"
    pty.run(f"select 2 as y \\g {target}")
    pty.prompt()
    pty.run("select 3 as z \\gx ~/gx.txt")  # ~ is HOME, as in psql
    pty.prompt()
    pty.run("select 1 as piped \\g |cat")
    pty.expect("shell escapes are refused")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    assert target.read_text() == psql_g_file(sandbox, tmp_path, "select 2 as y")
    assert (tmp_path / "gx.txt").read_text() == "-[ RECORD 1 ]\nz | 3\n\n"
    assert "(1 row)" not in pty.output  # the results went to the files only
    assert [s["text"] for s in statements(records)] == ["select 2 as y", "select 3 as z"]
    [g_file, g_pipe] = meta(records, "g")
    assert g_file["file"] == str(target)
    assert g_file["result"] == "ok"
    assert g_file["stmt"] == statements(records)[0]["stmt"]
    assert g_pipe["result"] == "refused: shell escape"
    assert g_pipe["args"] == "|cat"
    [gx] = meta(records, "gx")
    assert gx["file"] == str(tmp_path / "gx.txt")


# -- 5. COPY ... FROM STDIN typed at the prompt ----------------------------------------------


def copy_prompt(pty: Pty, table: str) -> None:
    pty.run(f"COPY {table} FROM STDIN;")
    pty.expect("Enter data to be copied followed by a newline.")
    pty.expect("End with a backslash and a period on a line by itself, or an EOF signal.")
    pty.expect(DATA_PROMPT)


def test_copy_from_stdin_asks_for_its_data(shell: Shell, sandbox: Sandbox, table: str) -> None:
    pty = shell("--write", "--reason", "load rows")
    assert pty.prompt() == "idle"
    copy_prompt(pty, table)
    pty.line("1001\ttyped")
    pty.expect(DATA_PROMPT)
    pty.line("\\.")
    pty.expect("COPY 1")
    assert pty.prompt() == "in-txn"
    copy_prompt(pty, table)
    pty.line("1002\tended by ctrl-d")
    pty.expect(DATA_PROMPT)
    pty.child.sendeof()
    pty.expect("COPY 1")
    assert pty.prompt() == "in-txn"
    copy_prompt(pty, table)
    pty.line("1003\tcancelled")
    pty.expect(DATA_PROMPT)
    pty.child.sendintr()
    pty.expect("COPY cancelled: nothing was sent")
    assert pty.prompt() == "in-txn"
    paste(pty, f"COPY {table} FROM STDIN;\n1004\tpasted\n\\.")
    pty.expect("COPY 1")
    assert pty.prompt() == "in-txn"
    pty.run("COMMIT;")
    pty.expect("COMMIT\\r\\n")  # its status: the next prompt is the new one
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    assert ids(sandbox, table)[5:] == [1001, 1002, 1004]
    copies = [s for s in statements(records) if s["text"].startswith("COPY")]
    assert len(copies) == 3
    assert {outcome_of(records, c["stmt"])["status"] for c in copies} == {"ok"}
    [cancelled] = meta(records, "copy_cancelled")
    assert cancelled["text"] == f"COPY {table} FROM STDIN"
    assert cancelled["lines"] == 1


def test_copy_typed_in_read_only_mode_is_refused_before_any_data(shell: Shell, table: str) -> None:
    pty = shell()
    assert pty.prompt() == "idle"
    pty.run(f"COPY {table} FROM STDIN;")
    pty.expect("read-only mode")
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    assert "Enter data" not in pty.output
    assert [r["why"] for r in of_kind(records, "refused")] == ["refused by policy"]


# -- 6. the small ones ----------------------------------------------------------------------


def test_ctrl_c_at_the_quit_question_returns_to_the_prompt(
    shell: Shell, sandbox: Sandbox, table: str
) -> None:
    pty = shell("--write", "--reason", "quit test")
    assert pty.prompt() == "idle"
    pty.run(f"UPDATE {table} SET v = 'kept open' WHERE id = 2;")
    pty.expect("UPDATE 1")
    assert pty.prompt() == "in-txn"
    pty.run("\\q")
    pty.expect("A transaction is open")
    pty.child.sendintr()
    pty.expect("Back to the prompt; the transaction is still open")
    assert pty.prompt() == "in-txn"
    pty.run("SELECT v FROM " + table + " WHERE id = 2;")
    pty.expect("kept open")  # the transaction is still there
    assert pty.prompt() == "in-txn"
    pty.run("\\q")
    pty.expect("A transaction is open")
    pty.line("")  # the default: roll back
    records = finish(pty)
    assert sandbox.admin_execute(f"SELECT v FROM public.{table} WHERE id = 2") == [("v2",)]
    assert [q["result"] for q in meta(records, "q")] == [
        "cancelled: back to the prompt",
        "session ends",
    ]


def test_timing_needs_a_boolean_and_include_expands_home(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "home.sql").write_text("SELECT 'from ' || 'home' AS w;\n")
    pty = shell()
    assert pty.prompt() == "idle"
    pty.run("\\timing maybe")
    pty.expect('unrecognized value "maybe" for "\\\\timing": Boolean expected')
    pty.prompt()
    pty.run("\\i ~/home.sql")
    pty.expect("from home")
    pty.prompt()
    pty.run("\\q")
    records = finish(pty)
    assert meta(records, "timing")[0]["result"] == "bad argument"
    assert meta(records, "i")[0]["file"] == str(tmp_path / "home.sql")
    assert "Time:" not in pty.output  # timing did not change
