"""Server errors as psql 15 prints them: ``LINE n:`` and the caret, ``DETAIL``, ``HINT``,
``QUERY``, ``CONTEXT``; compared with the real psql for the same failing text, through
``-c`` and the interactive shell. The tag comment and secrets are never printed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from prodsql.sandbox import Sandbox, find_bindir
from support.cli import clean_env, only_trail, run_prodsql
from support.pty import spawn_shell

LONG = "x" * 70

FAILING = [
    pytest.param("selec 1", id="syntax-error"),
    pytest.param("SELECT nosuchcol FROM pg_class", id="unknown-column"),
    pytest.param("SELECT 1,\n  2,\n  nosuchcol\nFROM pg_class", id="multi-line"),
    pytest.param(f"SELECT '{LONG}', nosuchcol, '{LONG}'", id="long-line"),
    pytest.param("SELECT\t'日本語',\t'tab', nosuchcol", id="tabs-and-wide"),
    pytest.param("SELECT (", id="end-of-input"),
    pytest.param("SELECT 1/0", id="no-position"),
    pytest.param("DO $$BEGIN PERFORM nosuch; END$$", id="do-internal-query"),
    pytest.param(
        "DO $$BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'd', HINT = 'h'; END$$",
        id="detail-hint-context",
    ),
    pytest.param("DO $$BEGIN EXECUTE 'SELECT 1 +* 2'; END$$", id="hint-query-context"),
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, {"PGPASSWORD": "dev-password"})


def psql_stderr(sandbox: Sandbox, env: dict[str, str], text: str) -> str:
    psql = find_bindir() / "psql"
    proc = subprocess.run(
        [str(psql), "-X", sandbox.conninfo("dev"), "-c", text],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    return proc.stderr


def psqls_lines(stderr: str) -> tuple[str, list[str]]:
    """psql's message and the lines after it."""
    first, *rest = stderr.splitlines()
    assert first.startswith("ERROR:  "), stderr
    return first.removeprefix("ERROR:  "), rest


def prodsqls_lines(stderr: str) -> tuple[str, list[str]]:
    first, *rest = stderr.splitlines()
    match = re.fullmatch(r"prodsql: ERROR \(SQLSTATE \w{5}\): (.*)", first)
    assert match, stderr
    return match.group(1), rest


def run_c(sandbox: Sandbox, env: dict[str, str], trail_dir: Path, text: str) -> str:
    run = run_prodsql(
        [
            *("--ticket", "OPS-321", "--dsn", sandbox.conninfo("dev")),
            *("--trail-dir", str(trail_dir), "--allow-destructive", "-c", text),
        ],
        env,
    )
    assert run.code == 1, run.output
    return run.stderr


@pytest.mark.parametrize("text", FAILING)
def test_dash_c_prints_what_psql_prints(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, text: str
) -> None:
    expected = psqls_lines(psql_stderr(sandbox, env, text))
    stderr = run_c(sandbox, env, tmp_path / "trails", text)
    assert prodsqls_lines(stderr) == expected
    assert "prodsql:" not in "\n".join(expected[1])  # psql never saw a tag: nor do we


def test_the_trail_records_the_position_in_the_users_text(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    text = "SELECT 1,\n  nosuchcol FROM pg_class"
    run_c(sandbox, env, tmp_path / "trails", text)
    [outcome] = [r for r in only_trail(tmp_path / "trails") if r.get("status") == "error"]
    assert outcome["position"] == text.index("nosuchcol") + 1
    assert outcome["message"] == 'column "nosuchcol" does not exist'


def test_a_redacted_statement_shows_its_redacted_text(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    text = "ALTER ROLE dev PASSWORD 'hunter2-secret' NOSUCHOPT"
    stderr = run_c(sandbox, env, tmp_path / "trails", text)
    assert stderr.splitlines()[1:] == [
        "LINE 1: ALTER ROLE dev PASSWORD '<REDACTED>' NOSUCHOPT",
        "                                             ^",
    ]
    trail = "".join(p.read_text() for p in (tmp_path / "trails").glob("*.jsonl"))
    assert "hunter2" not in stderr + trail


def test_a_secret_in_a_do_blocks_failing_query_is_not_printed(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    text = "DO $$BEGIN EXECUTE 'ALTER ROLE dev PASSWORD ''hunter2-secret'' NOSUCH'; END$$"
    stderr = run_c(sandbox, env, tmp_path / "trails", text)
    assert "hunter2" not in stderr
    assert "QUERY:  ALTER ROLE dev PASSWORD '<REDACTED>' NOSUCH" in stderr.splitlines()


def test_the_shell_prints_what_psql_prints(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    text = "SELECT 1,\n  2,\n  nosuchcol FROM pg_class"
    _message, expected = psqls_lines(psql_stderr(sandbox, env, text))
    assert expected[0] == "LINE 3:   nosuchcol FROM pg_class"
    trail_dir = tmp_path / "trails"
    args = ["--ticket", "OPS-321", "--dsn", sandbox.conninfo("dev"), "--trail-dir", str(trail_dir)]
    pty = spawn_shell(args, env, trail_dir)
    try:
        pty.prompt()
        first, second, third = text.split("\n")
        pty.line(first)
        pty.line(second)
        pty.line(third + ";")
        pty.expect(r"\^\r\n")  # the caret: the prompt's redraw may come before it
        block = "\r\n".join(['column "nosuchcol" does not exist', *expected]) + "\r\n"
        assert block in pty.output
    finally:
        pty.child.close(force=True)
