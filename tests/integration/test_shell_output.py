"""What the interactive shell prints, against psql 15 itself: the real ``prodsql``
executable in a pseudo-terminal (pexpect) and ``psql -X`` on the same server.

Results are taken through ``\\o FILE``: they go through the shell's output exactly as they
would to the terminal (the pager aside), without the prompt's redraws.
"""

from __future__ import annotations

import difflib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from prodsql.sandbox import Sandbox
from prodsql.trail import VerifyStatus, verify_file
from support.cli import PRODSQL, clean_env, only_trail, trail_files

PSQL = "/usr/lib/postgresql/15/bin/psql"
PROMPT = r"(idle|in-txn|FAILED-txn|disconnected)(?:\x1b\[[0-9;]*m)*=>"

# Typed at the prompt, so no control character is typed itself: E'' escapes make them in
# the values, U&"" escapes in the column names.
QUERIES = {
    "controls": (
        "SELECT g, E'a\\rb' AS cr, E'x\\x01y' AS soh, E'\\x1b[2J' AS esc, E'p\\tq' AS tab, "
        "E'\\x7f' AS del, chr(128) || chr(155) || chr(160) AS c1, E'l1\\nl2\\tz' AS ml, "
        "E'ab\\tc漢\\td' AS wide, CASE WHEN g = 2 THEN E'\\x1b]0;title\\x07' END AS osc "
        "FROM generate_series(1, 3) g"
    ),
    "headers": (
        'SELECT 1 AS U&"a\\000Ab", 2 AS U&"t\\0009x", \'v\' AS U&"e\\001Bx", '
        "E'\\r\\n' AS crlf, NULL AS U&\"\\0085\", E'a\\nb' AS n, '' AS empty, 'x  ' AS blanks"
    ),
    "no-rows": "SELECT E'\\x1b' AS U&\"\\001B\" WHERE false",
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, {"PGPASSWORD": "dev-password"})


@pytest.fixture
def spawn(sandbox: Sandbox, env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    children: list[pexpect.spawn] = []

    def open_shell(**extra_env: str) -> pexpect.spawn:
        args = ["--ticket", "OPS-7", "--dsn", sandbox.conninfo("dev")]
        child = pexpect.spawn(
            PRODSQL[0],
            [*PRODSQL[1:], *args, "--trail-dir", str(tmp_path / "trails")],
            env={**env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", **extra_env},
            encoding="utf-8",
            dimensions=(40, 160),
            timeout=20,
        )
        child.logfile_read = io.StringIO()  # the whole screen
        child.expect(PROMPT)
        children.append(child)
        return child

    yield open_shell
    for child in children:
        child.close(force=True)


def run(child: pexpect.spawn, command: str) -> None:
    """Type a line at the prompt (the line editor redraws it with the prompt once run)."""
    child.send(command + "\r")
    child.expect(PROMPT)


def quit_shell(child: pexpect.spawn, trail_dir: Path) -> list[dict[str, Any]]:
    child.send("\\q\r")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0
    [path] = trail_files(trail_dir)
    assert verify_file(path).status == VerifyStatus.INTACT
    return only_trail(trail_dir)


def psql(sandbox: Sandbox, env: dict[str, str], *args: str) -> str:
    cmd = [PSQL, "-X", "-P", "pager=off", "-d", sandbox.conninfo("dev"), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def capture(child: pexpect.spawn, path: Path, *commands: str) -> Path:
    """Run ``commands`` with their output to ``path`` (read it once the shell is closed:
    the line editor's redraws leave no sure sign that a statement has finished)."""
    for command in (f"\\o {path}", *commands, "\\o"):
        run(child, command)
    return path


def same(expected: str, mine: str) -> None:
    diff = difflib.unified_diff(expected.splitlines(True), mine.splitlines(True), "psql", "mine")
    assert mine == expected, "".join(diff)


def test_aligned_and_expanded_are_psqls_with_control_characters(
    sandbox: Sandbox, env: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    child = spawn()
    mine: dict[tuple[str, str], Path] = {}
    for expanded in ("off", "on"):
        run(child, f"\\x {expanded}")
        for name, sql in QUERIES.items():
            path = tmp_path / f"{name}-{expanded}.txt"
            mine[name, expanded] = capture(child, path, sql + ";")
    quit_shell(child, tmp_path / "trails")
    screen = child.logfile_read.getvalue()
    for (name, expanded), path in mine.items():
        text = path.read_text(encoding="utf-8")
        same(psql(sandbox, env, *(["-x"] if expanded == "on" else []), "-c", QUERIES[name]), text)
        assert "\\x1B" in text or name == "no-rows"
    # Nothing of the data reached the terminal raw: the only escapes are the line editor's.
    assert "\x1b[2J" not in screen
    assert "\x1b]0;title" not in screen


def test_copy_to_stdout_prints_the_data_alone_and_trails_its_row_count(
    env: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    # As psql: no "COPY 3" after the data, which went to the same stream.
    child = spawn()
    child.send("COPY (SELECT g FROM generate_series(41, 43) g) TO STDOUT;\r")
    child.expect("41\r\n42\r\n43\r\n")
    child.expect(PROMPT)
    assert "COPY 3" not in str(child.before)
    records = quit_shell(child, tmp_path / "trails")
    [outcome] = [
        r
        for r in records
        if r["kind"] == "outcome" and r.get("command_status", "").startswith("COPY")
    ]
    assert (outcome["command_status"], outcome["rows"]) == ("COPY 3", 3)


STATUS_ONLY = [
    "DO $$BEGIN PERFORM 1; END$$;",
    "BEGIN;",
    "DECLARE c CURSOR FOR SELECT 1;",
    "MOVE 1 IN c;",
    "CLOSE c;",
    "PREPARE p AS SELECT 1;",
    "COMMIT;",
]


def test_statements_without_rows_print_their_command_tag(
    sandbox: Sandbox, env: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    child = spawn()
    path = capture(child, tmp_path / "tags.txt", *STATUS_ONLY)
    records = quit_shell(child, tmp_path / "trails")
    text = path.read_text(encoding="utf-8")
    same(psql(sandbox, env, *(a for s in STATUS_ONLY for a in ("-c", s))), text)
    statuses = [r.get("command_status") for r in records if r["kind"] == "outcome"]
    assert "DO" in statuses


def test_quitting_the_pager_cancels_the_query(sandbox: Sandbox, spawn: Any, tmp_path: Path) -> None:
    # A pager that reads a few lines and exits, as less does when the user types q.
    pager = tmp_path / "pager.py"
    pager.write_text("import sys\nfor _ in range(5):\n    sys.stdin.readline()\n")
    child = spawn(PAGER=f"{sys.executable} {pager}")
    sql = "SELECT generate_series(1, 20000000) AS g"  # streamed, 20,000,000 rows
    child.send(sql + ";\r")
    child.expect("the pager was closed", timeout=120)  # generous: no timing is asserted
    child.expect(PROMPT)
    running = sandbox.admin_execute(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND query LIKE %s AND pid <> pg_backend_pid()",
        [f"%{sql}%"],
    )
    assert running == [(0,)]
    run(child, "SELECT 40 + 2 AS answer;")  # the session is usable
    child.expect(" 42")
    records = quit_shell(child, tmp_path / "trails")
    [stmt] = [r for r in records if r["kind"] == "statement" and r["text"] == sql]
    [outcome] = [r for r in records if r["kind"] == "outcome" and r["stmt"] == stmt["stmt"]]
    assert outcome["status"] == "cancelled"
    assert "the pager was closed" in outcome["message"]
