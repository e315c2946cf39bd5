"""The REPL loop through prompt_toolkit's pipe input, on a stand-in session (no server)."""

from __future__ import annotations

import io
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.enums import EditingMode
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from prodsql.errors import PolicyRefusal, StatementError
from prodsql.policy import Action, Mode, PolicyConfig, Statement, evaluate
from prodsql.result import Result
from prodsql.shell.app import Shell, ShellOptions


class FakeTrail:
    closed = False
    path = Path("/trail.jsonl")


class FakeSession:
    def __init__(self) -> None:
        self.mode = Mode.READ_ONLY
        self.txn_state = "idle"
        self.connected = True
        self.trail = FakeTrail()
        self.meta: list[tuple[str, str, dict[str, object]]] = []
        self.sent: list[str] = []
        self.sources: list[str] = []  # the source of each statement run_statement got
        self.after_run: Callable[[int], None] = lambda _n: None  # n: how many so far
        self.stmt_no = 0  # as the runner numbers them: internal ones and refusals too
        self.policy = PolicyConfig()
        self.copy_data: list[str | None] = []  # each statement's, as the runner got it
        self.failing: set[str] = set()  # statements the "server" rejects
        self.results: dict[str, Result] = {}  # what a statement returns (default: its status)

    def record_meta(self, command: str, args: str, fields: dict[str, object]) -> None:
        self.meta.append((command, args, fields))

    def internal_query(self, sql: str, purpose: str) -> Result:
        self.stmt_no += 1
        self.sent.append(sql)
        return Result(columns=["x"], type_oids=[25], has_rows=True, status="SELECT 0")

    def internal_row(self, sql: str, purpose: str) -> tuple[str, ...]:
        self.stmt_no += 1
        self.sent.append(sql)
        return ("745",)

    def run_statement(self, stmt: Statement, source: str, confirm: Any, **kw: Any) -> Result:
        c, d = evaluate(stmt.text, self.mode)
        if d.action is Action.REFUSE:
            self.stmt_no += 1
            raise PolicyRefusal("statement refused: " + "; ".join(d.reasons))
        if d.action is Action.CONFIRM and not confirm(stmt, c, d):
            self.stmt_no += 1
            raise PolicyRefusal("statement needs confirmation and was not confirmed")
        kw["before_send"](c)
        self.stmt_no += 1
        self.sent.append(stmt.text)
        self.sources.append(source)
        self.copy_data.append(stmt.copy_data)
        self.after_run(len(self.sources))  # a test's Ctrl-C comes from here
        if stmt.text in self.failing:
            if self.txn_state == "in_transaction":
                self.txn_state = "failed"
            raise StatementError("relation does not exist", sqlstate="42P01", status="error")
        if stmt.text in self.results:
            return self.results[stmt.text]
        if c.kind == "write":
            self.txn_state = "in_transaction"
        if c.command in ("COMMIT", "ROLLBACK"):
            self.txn_state = "idle"
        return Result(status=c.command)


@pytest.fixture
def pipe() -> Iterator[Any]:
    with create_pipe_input() as p:
        yield p


def run_shell(pipe: Any, keys: str) -> tuple[FakeSession, str]:
    session = FakeSession()
    out = io.StringIO()
    options = ShellOptions(label="t", ticket="OPS-1", idle_timeout=0)
    shell = Shell(
        session,  # type: ignore[arg-type]
        options,
        stdout=out,
        stderr=out,
        pt_input=pipe,
        pt_output=DummyOutput(),
    )
    pipe.send_text(keys)
    assert shell.run() == "completed"
    return session, out.getvalue()


def test_meta_commands_are_recorded_and_escapes_refused(pipe: Any) -> None:
    session, out = run_shell(pipe, "\\x on\r\\! ls\r\\bogus\r\\timing\r\\q\r")
    commands = [(c, f.get("result")) for c, _a, f in session.meta]
    assert commands == [
        ("x", "ok"),
        ("!", "refused: shell escape"),
        ("bogus", "unknown command"),
        ("timing", "ok"),
        ("q", "session ends"),
    ]
    assert "invalid command \\bogus" in out


def test_write_mode_needs_a_reason_and_opens_a_transaction(pipe: Any) -> None:
    keys = "\\write\r\\write fix OPS-1\rINSERT INTO t VALUES (1);\r\x04commit\r"
    session, _out = run_shell(pipe, keys)
    assert session.meta[0][2]["result"] == "refused: no reason"
    assert session.meta[1][2]["reason"] == "fix OPS-1"
    assert session.sent == [
        "SET default_transaction_read_only = off",
        "BEGIN",
        "INSERT INTO t VALUES (1)",
        "SELECT txid_current_if_assigned()",  # to tell whether a lost COMMIT landed
        "COMMIT",  # Ctrl-D with an open transaction asked; "commit" was typed
    ]


def make_shell(pipe: Any, **options: Any) -> tuple[Shell, FakeSession, io.StringIO]:
    session = FakeSession()
    out = io.StringIO()
    shell = Shell(
        session,  # type: ignore[arg-type]
        ShellOptions(label="t", ticket="OPS-1", **options),
        stdout=out,
        stderr=out,
        pt_input=pipe,
        pt_output=DummyOutput(),
    )
    return shell, session, out


def test_idle_timeout_ends_the_session_and_rolls_back(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0.3)
    session.mode = Mode.WRITE
    session.txn_state = "in_transaction"
    assert shell.run() == "idle_timeout"
    assert "No input for" in out.getvalue()
    assert session.sent == ["ROLLBACK"]
    assert session.meta[-1][0] == "idle_timeout"


def test_typing_keeps_the_session_alive_until_idle(pipe: Any) -> None:
    shell, session, _out = make_shell(pipe, idle_timeout=0.6)
    pipe.send_text("SELECT 1;\r")
    assert shell.run() == "idle_timeout"
    assert session.sent == ["SELECT 1"]


def test_break_glass_deadline_ends_the_shell(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0, remaining=lambda: 0.0)
    assert shell.run() == "expired"
    assert "maximum duration" in out.getvalue()
    assert session.sent == []


def test_include_runs_every_statement_of_the_file(pipe: Any, tmp_path: Path) -> None:
    script = tmp_path / "two.sql"
    script.write_text("SELECT 1;\nSELECT 2;\n")
    session, _out = run_shell(pipe, f"\\i {script}\r\\i {tmp_path / 'missing.sql'}\r\\q\r")
    assert session.sent == ["SELECT 1", "SELECT 2"]
    assert session.meta[0][0] == "i"
    assert session.meta[0][2]["file"] == str(script)
    assert session.meta[1][2]["result"] != "ok"  # a missing file is an error, recorded


def test_edit_puts_the_edited_text_in_the_buffer(
    pipe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'w').write('SELECT 42;\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    session, _out = run_shell(pipe, "\\e\r\r\\q\r")
    assert session.sent == ["SELECT 42"]
    assert session.meta[0][0] == "e"


def test_edit_with_a_failing_editor_changes_nothing_and_runs_nothing(
    pipe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'w').write('DROP TABLE t;')\nsys.exit(3)\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    session, out = run_shell(pipe, "SELECT 1;\r\\e\r\r\\q\r")
    assert session.sent == ["SELECT 1"]
    assert "the editor exited with status 3; nothing changed" in out
    [(_c, _a, fields)] = [m for m in session.meta if m[0] == "e"]
    assert fields["result"] == "editor failed"
    assert fields["exit_status"] == 3


def test_edit_left_unchanged_does_not_run_the_last_statement_again(
    pipe: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "true")  # exits 0 without touching the file
    session, out = run_shell(pipe, "SELECT 1;\r\\e\r\r\\q\r")
    assert session.sent == ["SELECT 1"]
    assert "no change; nothing to run" in out
    [(_c, _a, fields)] = [m for m in session.meta if m[0] == "e"]
    assert fields["unchanged"] is True


@pytest.mark.parametrize(
    ("editor", "message"),
    [
        ("/nonexistent/editor", "cannot start the editor '/nonexistent/editor'"),
        ("'unbalanced", "cannot read EDITOR="),
    ],
)
def test_edit_with_an_editor_that_cannot_run_is_a_clear_error(
    pipe: Any, monkeypatch: pytest.MonkeyPatch, editor: str, message: str
) -> None:
    monkeypatch.setenv("EDITOR", editor)
    session, out = run_shell(pipe, "\\e\rSELECT 2;\r\\q\r")
    assert message in out
    assert "Traceback" not in out
    assert session.sent == ["SELECT 2"]  # the session goes on
    [(_c, _a, fields)] = [m for m in session.meta if m[0] == "e"]
    assert fields["result"] == "error"


def ctrl_c_at(run: int) -> Callable[[int], None]:
    """Ctrl-C while the ``run``-th statement is on the server (the runner re-raises it)."""

    def after_run(n: int) -> None:
        if n == run:
            raise KeyboardInterrupt

    return after_run


def ctrl_c_after(run: int, delay: float) -> Callable[[int], None]:
    """A real SIGINT to the main thread ``delay`` seconds after the ``run``-th statement
    (with a long \\watch interval, it arrives while the watch waits)."""

    def send() -> None:
        main = threading.main_thread().ident
        assert main is not None
        signal.pthread_kill(main, signal.SIGINT)

    def after_run(n: int) -> None:
        if n == run:
            threading.Timer(delay, send).start()

    return after_run


def watch_meta(session: FakeSession) -> dict[str, object]:
    [fields] = [f for c, _a, f in session.meta if c == "watch"]
    return fields


def test_watch_reruns_the_statement_until_ctrl_c_cancels_one(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    session.after_run = ctrl_c_at(4)
    pipe.send_text("SELECT now();\r\\watch 0.1\rSELECT 'after';\r\\q\r")
    assert shell.run() == "completed"
    assert session.sent == ["SELECT now()"] * 4 + ["SELECT 'after'"]
    # Each run is its own statement on the audited path, marked as the watch's.
    assert session.sources == ["shell", *["shell (\\watch)"] * 3, "shell"]
    assert watch_meta(session) == {
        "result": "ok",
        "runs": 3,
        "interval": 0.1,
        "stopped": "statement cancelled",
    }
    assert out.getvalue().count("(every 0.1s)") == 3
    assert "Cancel sent to the server" in out.getvalue()
    assert session.meta[-1][0] == "q"  # the session went on after the watch


def test_ctrl_c_while_the_watch_waits_stops_it(pipe: Any) -> None:
    shell, session, _out = make_shell(pipe, idle_timeout=0)
    session.after_run = ctrl_c_after(2, delay=0.3)
    pipe.send_text("SELECT 1;\r\\watch 60\rSELECT 2;\r\\q\r")
    assert shell.run() == "completed"
    assert session.sent == ["SELECT 1", "SELECT 1", "SELECT 2"]
    assert watch_meta(session)["stopped"] == "Ctrl-C"
    assert watch_meta(session)["runs"] == 1
    assert shell.display.pager  # switched off only while watching


def test_watch_on_the_same_line_runs_that_statement_first(pipe: Any) -> None:
    shell, session, _out = make_shell(pipe, idle_timeout=0)
    session.after_run = ctrl_c_at(3)
    pipe.send_text("SELECT 1;\rSELECT 2 \\watch 0.1\r\\q\r")
    assert shell.run() == "completed"
    # psql's `SELECT ... \watch N`: the watch runs the buffer; it is not sent once more.
    assert session.sent == ["SELECT 1", "SELECT 2", "SELECT 2"]
    assert session.sources[1:] == ["shell (\\watch)"] * 2


def test_watch_rejects_bad_intervals_and_an_empty_query(pipe: Any) -> None:
    keys = "\\watch abc\r\\watch 0\r\\watch -1\r\\watch inf\r\\watch\r\\q\r"
    session, out = run_shell(pipe, keys)
    assert session.sent == []
    results = [f["result"] for c, _a, f in session.meta if c == "watch"]
    assert results == ["bad argument"] * 4 + ["nothing to watch"]
    assert "\\watch: the interval must be a number of seconds, at least 0.1: got 'abc'" in out
    assert "\\watch cannot be used with an empty query" in out


def test_watch_stops_when_the_statement_is_refused(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    pipe.send_text("\\watch 0.1\r\\q\r")
    shell.last_statement = Statement("DELETE FROM t", 1, True)  # refused in read-only mode
    assert shell.run() == "completed"
    assert watch_meta(session)["stopped"] == "statement refused"
    assert watch_meta(session)["runs"] == 1
    assert "refused" in out.getvalue()


def test_an_unattended_watch_ends_at_the_idle_timeout(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0.5)
    session.mode, session.txn_state = Mode.WRITE, "in_transaction"
    pipe.send_text("SELECT 1;\r\\watch 0.1\r")
    assert shell.run() == "idle_timeout"
    assert watch_meta(session)["stopped"] == "idle timeout"
    assert [c for c, _a, _f in session.meta] == ["watch", "idle_timeout"]
    assert session.sent[-1] == "ROLLBACK"  # the open transaction is not left behind
    assert "No input for 0.5 seconds" in out.getvalue()


def test_a_watch_stops_at_the_break_glass_deadline(pipe: Any) -> None:
    sent: list[str] = []  # the deadline passes once the watch has run twice
    shell, session, out = make_shell(
        pipe, idle_timeout=0, remaining=lambda: 0.0 if len(sent) >= 3 else 60.0
    )
    session.sent = sent
    pipe.send_text("SELECT 1;\r\\watch 0.1\r")
    assert shell.run() == "expired"
    assert session.sent == ["SELECT 1"] * 3
    assert watch_meta(session)["stopped"] == "break-glass deadline"
    assert "maximum duration" in out.getvalue()


def test_vi_mode_edits_in_normal_mode(pipe: Any) -> None:
    shell, session, _out = make_shell(pipe, idle_timeout=0, vi_mode=True)
    assert shell.prompt.editing_mode is EditingMode.VI
    # Insert mode first; Escape, h (onto the 2), x (delete it): Enter runs "SELECT 1;".
    pipe.send_text("SELECT 12;\x1b")
    pipe.send_text("hx\r\\q\r")
    assert shell.run() == "completed"
    assert session.sent == ["SELECT 1"]


def test_emacs_mode_is_the_default(pipe: Any) -> None:
    shell, _session, _out = make_shell(pipe, idle_timeout=0)
    assert shell.prompt.editing_mode is EditingMode.EMACS


def test_ctrl_r_searches_the_history(pipe: Any) -> None:
    shell, session, _out = make_shell(pipe, idle_timeout=0)
    pipe.send_text("SELECT 41;\rSELECT 2;\r")

    def search() -> None:
        # Typed at the third prompt, once it has loaded the history (in the background).
        while not (len(session.sent) == 2 and shell.prompt.app.is_running):
            time.sleep(0.01)
        time.sleep(0.2)
        # Ctrl-R, the text, Enter takes the match into the buffer, Enter runs it.
        pipe.send_text("\x1241\r\r\\q\r")

    threading.Thread(target=search, daemon=True).start()
    assert shell.run() == "completed"
    assert session.sent == ["SELECT 41", "SELECT 2", "SELECT 41"]


class DroppingSession(FakeSession):
    """The connection drops while COMMIT is in flight; the COMMIT did land."""

    def __init__(self) -> None:
        super().__init__()
        self.reconnects = 0

    def run_statement(self, stmt: Statement, source: str, confirm: Any, **kw: Any) -> Result:
        result = super().run_statement(stmt, source, confirm, **kw)
        if stmt.text == "COMMIT":
            self.connected = False
            raise StatementError("server closed the connection", status="connection_lost")
        return result

    def reconnect(self) -> None:
        self.connected, self.reconnects = True, self.reconnects + 1

    @property
    def params(self) -> Any:
        return type("P", (), {"params": {"options": "-c default_transaction_read_only=off"}})

    def internal_row(self, sql: str, purpose: str) -> tuple[str, ...]:
        self.sent.append(sql)
        return ("committed",) if sql.startswith("SELECT txid_status") else ("745",)


def test_a_commit_in_flight_is_reported_after_the_reconnect(pipe: Any) -> None:
    shell, _fake, out = make_shell(pipe, idle_timeout=0)
    session = DroppingSession()
    shell.session = session  # type: ignore[assignment]
    pipe.send_text("\\write fix\rINSERT INTO t VALUES (1);\rCOMMIT;\r\\q\r")
    assert shell.run() == "completed"
    assert session.reconnects == 1  # at once, to tell whether the COMMIT landed
    assert session.sent.count("COMMIT") == 1  # never re-run
    assert session.sent[-1] == "SELECT txid_status(745)"
    assert "The COMMIT in flight when the connection dropped: committed." in out.getvalue()
    [status] = [f for c, _a, f in session.meta if c == "commit_status"]
    assert status == {"txid_status": "committed"}


# -- the first refused, declined or failed statement stops the rest of the input -----------
def meta_of(session: FakeSession, command: str) -> list[dict[str, object]]:
    return [f for c, _a, f in session.meta if c == command]


def test_a_declined_confirmation_stops_the_rest_of_the_buffer(pipe: Any) -> None:
    keys = "\\write fix\rDELETE FROM t1; INSERT INTO t1 VALUES (999, 'x'); COMMIT;\rno\r\\q\r"
    session, out = run_shell(pipe, keys)
    assert session.sent == [
        "SET default_transaction_read_only = off",
        "EXPLAIN (FORMAT JSON) DELETE FROM t1",  # the confirmation's row estimate
    ]  # no INSERT, no COMMIT
    assert "Not confirmed: nothing was sent." in out
    assert "Stopped: the statement was not confirmed; 2 statements after it were not run.\n" in out
    [stop] = meta_of(session, "input_stopped")
    assert stop == {
        "stmt": 3,  # the DELETE's number (after the SET and the EXPLAIN)
        "outcome": "not confirmed",
        "statements_not_run": 2,
        "meta_commands_not_run": 0,
        "not_run": [{"input": "shell", "statements": 2, "meta_commands": 0}],
    }


def test_a_failed_statement_stops_the_rest_and_the_session_goes_on(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    session.failing = {"SELECT * FROM nope"}
    shell.run_text("SELECT * FROM nope; SELECT 2;\n\\x on", "shell")
    pipe.send_text("SELECT 3;\r\\q\r")
    assert shell.run() == "completed"
    assert session.sent == ["SELECT * FROM nope", "SELECT 3"]
    text = out.getvalue()
    assert "Stopped: the statement failed; 1 statement and 1 meta-command after it" in text
    assert not meta_of(session, "x")  # the \x after it did not run either
    [stop] = meta_of(session, "input_stopped")
    assert (stop["outcome"], stop["meta_commands_not_run"]) == ("error", 1)


def test_the_last_statement_failing_stops_nothing_and_says_nothing(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    session.failing = {"SELECT * FROM nope"}
    pipe.send_text("SELECT 1; SELECT * FROM nope;\r\\q\r")
    assert shell.run() == "completed"
    assert "Stopped" not in out.getvalue()
    assert not meta_of(session, "input_stopped")


def test_a_refusal_inside_nested_includes_stops_every_enclosing_input(
    pipe: Any, tmp_path: Path
) -> None:
    inner, outer = tmp_path / "inner.sql", tmp_path / "outer.sql"
    inner.write_text("SELECT 2;\nDELETE FROM t;\nSELECT 3;\n")  # refused: read-only mode
    outer.write_text(f"SELECT 1;\n\\i {inner}\nSELECT 4;\n\\x on\n")
    shell, session, out = make_shell(pipe, idle_timeout=0)
    shell.run_text(f"\\i {outer}\nSELECT 5;", "shell")
    assert session.sent == ["SELECT 1", "SELECT 2"]
    assert (
        "Stopped: the statement was refused; 3 statements and 1 meta-command after it were "
        f"not run (1 in \\i {inner}, 2 in \\i {outer}, 1 in what was typed).\n"
    ) in out.getvalue()
    [stop] = meta_of(session, "input_stopped")
    assert stop["not_run"] == [
        {"input": f"\\i {inner}", "statements": 1, "meta_commands": 0},
        {"input": f"\\i {outer}", "statements": 1, "meta_commands": 1},
        {"input": "shell", "statements": 1, "meta_commands": 0},
    ]
    assert (stop["stmt"], stop["outcome"]) == (3, "refused")
    includes = meta_of(session, "i")
    assert [f.get("stopped") for f in includes] == [True, True]


def test_an_include_that_cannot_be_read_stops_what_follows_it(pipe: Any, tmp_path: Path) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    shell.run_text(f"\\i {tmp_path / 'missing.sql'}\nSELECT 1;", "shell")
    assert session.sent == []
    assert "missing.sql could not be read; 1 statement after it was not run." in out.getvalue()


# -- \write inside a transaction -------------------------------------------------------------
def test_write_inside_an_open_transaction_is_refused(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    session.txn_state = "in_transaction"  # the user's own BEGIN, in read-only mode
    pipe.send_text("\\write fix it\r\\q\r\r")
    assert shell.run() == "completed"
    assert "A transaction is open: COMMIT or ROLLBACK it first." in out.getvalue()
    assert "SET default_transaction_read_only = off" not in session.sent
    assert session.mode is Mode.READ_ONLY
    assert meta_of(session, "write") == [
        {"result": "refused: transaction open", "reason": "fix it"}
    ]


# -- a transaction lost with the connection ----------------------------------------------
class LosingSession(FakeSession):
    """The connection drops while ``drop_on`` runs, inside the open transaction."""

    def __init__(self, drop_on: str) -> None:
        super().__init__()
        self.drop_on, self.reconnects = drop_on, 0
        self.mode = Mode.WRITE

    def run_statement(self, stmt: Statement, source: str, confirm: Any, **kw: Any) -> Result:
        result = super().run_statement(stmt, source, confirm, **kw)
        if stmt.text == self.drop_on:
            self.connected, self.txn_state = False, "disconnected"
            raise StatementError("server closed the connection", status="connection_lost")
        return result

    def reconnect(self) -> None:
        self.connected, self.txn_state = True, "idle"
        self.reconnects += 1

    @property
    def params(self) -> Any:
        return type("P", (), {"params": {"options": "-c default_transaction_read_only=off"}})


def test_a_transaction_lost_with_the_connection_is_reported_and_nothing_more_runs(
    pipe: Any,
) -> None:
    shell, _fake, out = make_shell(pipe, idle_timeout=0)
    session = LosingSession(drop_on="UPDATE t SET v = 2 WHERE id = 1")
    shell.session = session  # type: ignore[assignment]
    pipe.send_text(
        "INSERT INTO t VALUES (1);\rUPDATE t SET v = 2 WHERE id = 1;\rCOMMIT; SELECT 9;\r\\q\r"
    )
    assert shell.run() == "completed"
    assert session.reconnects == 1
    assert "COMMIT" not in session.sent  # typed for the lost transaction: not run
    assert "SELECT 9" not in session.sent
    text = out.getvalue()
    assert "A transaction was open: the server rolls it back" in text
    assert "rolled back by the server. None of these statements took effect" in text
    assert "  #1 BEGIN (prodsql)\n  #2 INSERT INTO t VALUES (1)\n" in text
    assert "  #3 UPDATE t SET v = 2 WHERE id = 1\n" in text
    assert text.index("Reconnected") < text.index("None of these statements")
    assert "2 statements were not run" in text
    [lost] = meta_of(session, "transaction_lost")
    assert lost == {"stmts": [1, 2, 3], "result": "rolled back by the server"}
    [stop] = meta_of(session, "input_stopped")
    assert (stop["outcome"], stop["statements_not_run"]) == ("transaction lost", 2)


def test_a_lost_transaction_is_recorded_when_the_session_ends_disconnected(pipe: Any) -> None:
    shell, _fake, _out = make_shell(pipe, idle_timeout=0)
    session = LosingSession(drop_on="INSERT INTO t VALUES (1)")
    shell.session = session  # type: ignore[assignment]
    pipe.send_text("INSERT INTO t VALUES (1);\r\\q\r")
    assert shell.run() == "completed"
    assert session.reconnects == 0
    [lost] = meta_of(session, "transaction_lost")
    assert lost["stmts"] == [1, 2]  # prodsql's BEGIN, then the INSERT in flight
    assert "the session ended" in str(lost["result"])


def test_a_loss_seen_by_an_internal_query_is_reported_too(pipe: Any) -> None:
    shell, _fake, out = make_shell(pipe, idle_timeout=0)
    session = LosingSession(drop_on="")
    shell.session = session  # type: ignore[assignment]
    shell.run_text("INSERT INTO t VALUES (1);", "shell")
    # The completion catalog (or a \\d) was the one to find the connection gone.
    session.connected, session.txn_state = False, "disconnected"
    shell.run_text("COMMIT;", "shell")
    assert session.sent == ["BEGIN", "INSERT INTO t VALUES (1)"]
    assert "None of these statements took effect" in out.getvalue()
    assert meta_of(session, "transaction_lost")[0]["stmts"] == [1, 2]


def test_losing_an_autocommit_statement_reports_no_transaction(pipe: Any) -> None:
    shell, _fake, out = make_shell(pipe, idle_timeout=0)
    session = LosingSession(drop_on="SELECT 1")
    shell.session = session  # type: ignore[assignment]
    pipe.send_text("SELECT 1;\rSELECT 2;\r\\q\r")
    assert shell.run() == "completed"
    assert session.sent == ["SELECT 1", "SELECT 2"]  # reconnected, and SELECT 2 ran
    assert not meta_of(session, "transaction_lost")
    assert "rolls it back" not in out.getvalue()


# -- \g FILE, \g |cmd ----------------------------------------------------------------------
def test_g_file_writes_that_one_result_to_the_file(
    pipe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    shell, session, out = make_shell(pipe, idle_timeout=0)
    session.results["SELECT 2 AS y"] = Result(["y"], [23], [("2",)], "SELECT 1", 1, True)
    pipe.send_text("SELECT 2 AS y \\g ~/g.txt\rSELECT 2 AS y;\r\\gx ~/gx.txt\r\\q\r")
    assert shell.run() == "completed"
    assert (tmp_path / "g.txt").read_text() == " y \n---\n 2\n(1 row)\n\n"
    assert (tmp_path / "gx.txt").read_text() == "-[ RECORD 1 ]\ny | 2\n\n"
    assert out.getvalue().count("(1 row)") == 1  # only the plain SELECT reached the screen
    g, gx = meta_of(session, "g"), meta_of(session, "gx")
    assert g == [{"result": "ok", "file": str(tmp_path / "g.txt"), "stmt": 1}]
    assert gx == [{"result": "ok", "file": str(tmp_path / "gx.txt"), "stmt": 3}]


@pytest.mark.parametrize("name", ["g", "gx"])
def test_g_pipe_is_refused_recorded_and_runs_nothing(pipe: Any, name: str) -> None:
    session, out = run_shell(pipe, f"SELECT 1 \\{name} |cat\r\\{name} |cat\r\\q\r")
    assert session.sent == []
    assert out.count("shell escapes are refused") == 2
    assert meta_of(session, name) == [{"result": "refused: shell escape"}] * 2


def test_g_to_a_file_that_cannot_be_opened_runs_nothing(pipe: Any, tmp_path: Path) -> None:
    session, out = run_shell(pipe, f"SELECT 1 \\g {tmp_path}/no/such/dir/f.txt\r\\q\r")
    assert session.sent == []
    assert "No such file or directory; nothing was run" in out
    assert meta_of(session, "g")[0]["result"] == "error"


# -- COPY ... FROM STDIN typed at the prompt ---------------------------------------------
def copy_shell(pipe: Any) -> tuple[Shell, FakeSession, io.StringIO]:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    session.mode = Mode.WRITE
    return shell, session, out


def test_copy_from_stdin_asks_for_the_data_like_psql(pipe: Any) -> None:
    shell, session, out = copy_shell(pipe)
    pipe.send_text("COPY t FROM STDIN;\r1\tone\r2\ttwo\r\\.\rROLLBACK;\r\\q\r")
    assert shell.run() == "completed"
    assert "Enter data to be copied followed by a newline.\nEnd with a backslash" in out.getvalue()
    assert session.sent == ["BEGIN", "COPY t FROM STDIN", "ROLLBACK"]
    assert session.copy_data[0] == "1\tone\n2\ttwo\n"


def test_copy_data_ends_at_ctrl_d(pipe: Any) -> None:
    shell, session, _out = copy_shell(pipe)
    pipe.send_text("COPY t FROM STDIN;\r3\tthree\r\x04ROLLBACK;\r\\q\r")
    assert shell.run() == "completed"
    assert session.copy_data[0] == "3\tthree\n"


def test_ctrl_c_at_the_copy_data_sends_nothing(pipe: Any) -> None:
    shell, session, out = copy_shell(pipe)
    pipe.send_text("COPY t FROM STDIN; SELECT 1;\r4\tfour\r\x03SELECT 2;\r\\q\r")
    assert shell.run() == "completed"
    assert session.sent == ["SELECT 2"]  # no BEGIN, no COPY; nor what followed it
    assert "COPY cancelled: nothing was sent." in out.getvalue()
    assert meta_of(session, "copy_cancelled") == [
        {"text": "COPY t FROM STDIN", "lines": 1, "result": "Ctrl-C"}
    ]
    assert meta_of(session, "input_stopped")[0]["outcome"] == "cancelled"


def test_copy_data_pasted_after_the_statement_is_used_as_it_is(pipe: Any) -> None:
    shell, session, out = copy_shell(pipe)
    shell.run_text("COPY t FROM STDIN;\n5\tfive\n\\.\nCOPY t FROM STDIN;\n\\.\nSELECT 1;", "shell")
    assert "Enter data" not in out.getvalue()
    assert session.sent == ["BEGIN", "COPY t FROM STDIN", "COPY t FROM STDIN", "SELECT 1"]
    assert session.copy_data[:2] == ["5\tfive\n", ""]


def test_a_refused_copy_asks_for_no_data(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)  # read-only: COPY FROM is a write
    pipe.send_text("COPY t FROM STDIN;\r\\q\r")
    assert shell.run() == "completed"
    assert "Enter data" not in out.getvalue()
    assert "refused" in out.getvalue()
    assert session.sent == []


# -- small ones ------------------------------------------------------------------------
def test_timing_takes_a_boolean_or_nothing(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    pipe.send_text("\\timing on\r\\timing maybe\r\\timing\r\\timing yes\r\\q\r")
    assert shell.run() == "completed"
    assert 'unrecognized value "maybe" for "\\timing": Boolean expected' in out.getvalue()
    assert [f.get("timing", f["result"]) for f in meta_of(session, "timing")] == [
        True,
        "bad argument",  # and timing stayed on: the bare \timing then turned it off
        False,
        True,
    ]


def test_include_and_out_expand_the_home_directory(
    pipe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "x.sql").write_text("SELECT 1;\n")
    session, _out = run_shell(pipe, "\\o ~/x.txt\r\\i ~/x.sql\r\\o\r\\q\r")
    assert session.sent == ["SELECT 1"]
    assert (tmp_path / "x.txt").read_text() == "SELECT\n"
    assert meta_of(session, "i")[0]["file"] == str(tmp_path / "x.sql")
    assert meta_of(session, "o")[0]["file"] == str(tmp_path / "x.txt")


def test_ctrl_c_at_the_quit_question_goes_back_to_the_prompt(pipe: Any) -> None:
    shell, session, out = make_shell(pipe, idle_timeout=0)
    session.mode, session.txn_state = Mode.WRITE, "in_transaction"
    pipe.send_text("\\q\r\x03\x04\x03SELECT 1;\r\\q\rcommit\r")
    assert shell.run() == "completed"
    assert out.getvalue().count("Back to the prompt; the transaction is still open.") == 2
    assert session.sent == ["SELECT 1", "SELECT txid_current_if_assigned()", "COMMIT"]
    assert [f["result"] for f in meta_of(session, "q")] == [
        "cancelled: back to the prompt",
        "cancelled: back to the prompt",  # Ctrl-D, then Ctrl-C at the question
        "session ends",
    ]


def test_ctrl_d_at_the_quit_question_rolls_back(pipe: Any) -> None:
    shell, session, _out = make_shell(pipe, idle_timeout=0)
    session.mode, session.txn_state = Mode.WRITE, "in_transaction"
    pipe.send_text("\\q\r\x04")
    assert shell.run() == "completed"
    assert session.sent == ["ROLLBACK"]


def test_help_columns_line_up() -> None:
    from prodsql.shell.meta import HELP

    rows = [line for line in HELP.splitlines() if line.startswith("  \\")]
    described = [r for r in rows if len(r) > 21 and r[20] == " " and r[21] != " "]
    assert any(r.startswith("  \\? | \\h [COMMAND]") for r in described)
    assert any(r.startswith("  \\g | \\gx [FILE]") for r in described)
    for row in rows:
        if row.startswith(("  \\d [NAME]", "  \\pset")):
            continue  # a list of commands, a list of values: no description column
        assert row in described, f"description not at column 21: {row!r}"


def test_echo_prints_its_words_as_psql_reads_them(pipe: Any) -> None:
    session, out = run_shell(pipe, "\\echo 'two  spaces' and more\r\\echo -n no newline\r\\q\r")
    assert "two  spaces and more\n" in out
    assert "no newline" in out
    assert "no newline\n" not in out
    assert [c for c, _a, _f in session.meta][:2] == ["echo", "echo"]
