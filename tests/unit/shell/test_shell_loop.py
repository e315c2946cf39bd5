"""The REPL loop through prompt_toolkit's pipe input, on a stand-in session (no server)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from prodsql.policy import Mode, Statement, evaluate
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

    def record_meta(self, command: str, args: str, fields: dict[str, object]) -> None:
        self.meta.append((command, args, fields))

    def internal_query(self, sql: str, purpose: str) -> Result:
        self.sent.append(sql)
        return Result(columns=["x"], type_oids=[25], has_rows=True, status="SELECT 0")

    def internal_row(self, sql: str, purpose: str) -> tuple[str, ...]:
        self.sent.append(sql)
        return ("745",)

    def run_statement(self, stmt: Statement, source: str, confirm: Any, **kw: Any) -> Result:
        c, _d = evaluate(stmt.text, self.mode)
        kw["before_send"](c)
        self.sent.append(stmt.text)
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
