"""``prodsql classify`` through the real command line: main(argv) in process, and the
executable in a subprocess where what matters is what a shell or CI job sees."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from prodsql._cli import main
from support.cli import PRODSQL, clean_env, run_prodsql

MIXED = """\
SELECT id FROM orders WHERE status = 'stuck';
INSERT INTO orders (id, status) VALUES (1, 'new');
DELETE FROM order_items;
DELETE FROM order_items WHERE order_id = 7;
SET application_name = 'nobody';
"""


@dataclass
class Out:
    code: int
    stdout: str
    stderr: str

    def verdicts(self) -> list[dict[str, Any]]:
        parsed = json.loads(self.stdout)
        assert isinstance(parsed, list)
        return parsed


MakePath = Callable[[Path], str]


class Classify(Protocol):
    def __call__(self, *args: str, stdin: bytes | None = None) -> Out: ...


@pytest.fixture
def classify(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Classify:
    """``prodsql classify ARGS`` through main(), with ``stdin`` as standard input's bytes."""

    def call(*args: str, stdin: bytes | None = None) -> Out:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), "utf-8"))
        code = main(["classify", *args])
        captured = capsys.readouterr()
        return Out(code, captured.out, captured.err)

    return call


def sql_file(tmp_path: Path, text: str, name: str = "in.sql") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def by_sql(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["sql"]: v for v in verdicts}


# -- JSON output and exit codes


def test_json_is_an_array_of_verdicts_in_input_order(classify: Classify, tmp_path: Path) -> None:
    out = classify("--json", str(sql_file(tmp_path, MIXED)))
    assert out.code == 1
    assert out.stderr == ""
    verdicts = out.verdicts()
    assert [v["sql"] for v in verdicts] == [
        "SELECT id FROM orders WHERE status = 'stuck'",
        "INSERT INTO orders (id, status) VALUES (1, 'new')",
        "DELETE FROM order_items",
        "DELETE FROM order_items WHERE order_id = 7",
        "SET application_name = 'nobody'",
    ]
    assert [v["line"] for v in verdicts] == [1, 2, 3, 4, 5]
    for v in verdicts:
        assert {"sql", "kind", "action", "reasons"} <= v.keys()
        assert v["action"] in {"run", "confirm", "refuse"}
        assert isinstance(v["reasons"], list)
        assert all(isinstance(r, str) and r for r in v["reasons"])
    assert [v["kind"] for v in verdicts[:4]] == ["read", "write", "write", "write"]


def test_exit_0_when_every_statement_would_run(classify: Classify, tmp_path: Path) -> None:
    text = "SELECT 1;\nSHOW work_mem;\nEXPLAIN SELECT * FROM orders;\nBEGIN;\nCOMMIT;\n"
    out = classify("--json", str(sql_file(tmp_path, text)))
    assert out.code == 0, out.stdout
    assert {v["action"] for v in out.verdicts()} == {"run"}
    assert all(v["reasons"] == [] for v in out.verdicts())


def test_empty_input_has_no_verdicts_and_exits_0(classify: Classify, tmp_path: Path) -> None:
    out = classify("--json", str(sql_file(tmp_path, "-- nothing to do\n\n")))
    assert (out.code, out.verdicts()) == (0, [])


def test_one_confirm_verdict_makes_it_exit_1(classify: Classify, tmp_path: Path) -> None:
    out = classify("--json", "--write", str(sql_file(tmp_path, "SELECT 1;\nTRUNCATE orders;\n")))
    assert out.code == 1
    assert [v["action"] for v in out.verdicts()] == ["run", "confirm"]


# -- modes


def test_write_flag_changes_the_verdicts(classify: Classify, tmp_path: Path) -> None:
    path = str(sql_file(tmp_path, MIXED))
    read_only = by_sql(classify("--json", path).verdicts())
    write = by_sql(classify("--json", "--write", path).verdicts())

    insert = "INSERT INTO orders (id, status) VALUES (1, 'new')"
    assert read_only[insert]["action"] == "refuse"
    assert any("--write" in r for r in read_only[insert]["reasons"])
    assert write[insert]["action"] == "run"

    delete_all = "DELETE FROM order_items"
    assert read_only[delete_all]["action"] == "refuse"
    assert write[delete_all]["action"] == "confirm"
    assert any("without a condition" in r for r in write[delete_all]["reasons"])

    delete_some = "DELETE FROM order_items WHERE order_id = 7"
    assert (read_only[delete_some]["action"], write[delete_some]["action"]) == ("refuse", "run")

    select = "SELECT id FROM orders WHERE status = 'stuck'"
    assert read_only[select]["action"] == write[select]["action"] == "run"


def test_audit_tampering_is_refused_in_both_modes(classify: Classify, tmp_path: Path) -> None:
    path = str(sql_file(tmp_path, "SET application_name = 'x';\nRESET ALL;\n"))
    for mode in ((), ("--write",)):
        out = classify("--json", *mode, path)
        assert out.code == 1
        assert [v["action"] for v in out.verdicts()] == ["refuse", "refuse"]


def test_unparseable_text_needs_confirmation(classify: Classify, tmp_path: Path) -> None:
    out = classify("--json", str(sql_file(tmp_path, "SELEC 1;\nSELECT 'open\n")))
    assert out.code == 1
    assert [(v["kind"], v["action"]) for v in out.verdicts()] == [
        ("unknown", "confirm"),
        ("unknown", "confirm"),
    ]


def test_copy_data_is_not_judged_as_statements(classify: Classify, tmp_path: Path) -> None:
    text = "COPY orders (id) FROM STDIN;\n1\nDROP TABLE x\n\\.\nSELECT 2;\n"
    out = classify("--json", "--write", str(sql_file(tmp_path, text)))
    assert out.code == 0, out.stdout
    assert [(v["command"], v["line"]) for v in out.verdicts()] == [("COPY", 1), ("SELECT", 5)]


# -- text output


def test_text_output_has_one_verdict_line_per_statement(classify: Classify, tmp_path: Path) -> None:
    out = classify(str(sql_file(tmp_path, MIXED)))
    assert out.code == 1
    lines = out.stdout.splitlines()
    verdict_lines = [line for line in lines if line[:5].strip().isdigit()]
    assert [line.split()[:2] for line in verdict_lines] == [
        ["1", "run"],
        ["2", "refuse"],
        ["3", "refuse"],
        ["4", "refuse"],
        ["5", "refuse"],
    ]
    assert "DELETE FROM order_items WHERE order_id = 7" in verdict_lines[3]
    assert lines[-1] == "5 statements: 1 run, 0 confirm, 4 refuse"
    # the reasons follow each verdict that is not run
    after_insert = lines[lines.index(verdict_lines[1]) + 1]
    assert "--write" in after_insert


def test_text_summary_in_write_mode(classify: Classify, tmp_path: Path) -> None:
    out = classify("--write", str(sql_file(tmp_path, MIXED)))
    assert out.stdout.splitlines()[-1] == "5 statements: 3 run, 1 confirm, 1 refuse"
    single = classify(str(sql_file(tmp_path, "SELECT 1", "one.sql")))
    assert single.stdout.splitlines()[-1] == "1 statement: 1 run, 0 confirm, 0 refuse"
    assert single.code == 0


# -- standard input


def test_dash_and_no_argument_read_stdin(classify: Classify) -> None:
    for args in (("--json", "-"), ("--json",)):
        out = classify(*args, stdin=b"SELECT 1;\nSELECT 2")
        assert out.code == 0
        assert [v["sql"] for v in out.verdicts()] == ["SELECT 1", "SELECT 2"]
    out = classify("--write", "-", stdin="DELETE FROM t; -- é\n".encode())
    assert out.code == 1
    assert "confirm" in out.stdout


# -- psql meta-commands: -c/-f refuse a script that has one, so classify refuses it too


def test_meta_commands_are_refused_verdicts(classify: Classify, tmp_path: Path) -> None:
    text = "SELECT 1 \\g\n\\set x 1\n\\dt orders\nSELECT 2;\n"
    out = classify("--json", "--write", str(sql_file(tmp_path, text)))
    assert out.code == 1
    got = [(v["line"], v["sql"], v["kind"], v["action"]) for v in out.verdicts()]
    assert got == [
        (1, "SELECT 1", "read", "run"),
        (1, "\\g", "meta", "refuse"),
        (2, "\\set x 1", "meta", "refuse"),
        (3, "\\dt orders", "meta", "refuse"),
        (4, "SELECT 2", "read", "run"),
    ]
    meta = out.verdicts()[2]
    assert meta["command"] == "\\set"
    assert (meta["flags"], meta["objects"]) == ([], [])
    assert "-c/-f" in meta["reasons"][0]


def test_f_refuses_the_same_script_before_connecting(tmp_path: Path) -> None:
    script = sql_file(tmp_path, "SELECT 1;\n\\dt\n")
    env = clean_env(tmp_path / "home")
    lint = run_prodsql(["classify", str(script)], env)
    assert lint.code == 1
    assert "refuse   \\dt" in lint.stdout
    trail_dir = tmp_path / "trails"
    dsn = f"host={tmp_path / 'no-server'} port=1"
    args = ["--ticket", "OPS-1", "--dsn", dsn, "--trail-dir", str(trail_dir), "-f", str(script)]
    run = run_prodsql(args, env)
    assert run.code == 2, run.output
    assert "meta-command \\dt" in run.stderr
    assert not trail_dir.exists()  # refused before a connection or a trail was attempted


# -- unreadable input: exit 2, a message, no traceback


def _nul_file(tmp_path: Path) -> str:
    path = tmp_path / "nul.sql"
    path.write_bytes(b"SELECT 1;\n\x00DROP TABLE orders;\n")
    return str(path)


def _latin1_file(tmp_path: Path) -> str:
    path = tmp_path / "latin1.sql"
    path.write_bytes("SELECT 'café';\n".encode("latin-1"))
    return str(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "missing.sql"), "no such file"),
        (str, "is a directory"),
        (_latin1_file, "not UTF-8"),
        (_nul_file, "NUL byte at line 2"),
    ],
    ids=["missing", "directory", "not-utf8", "nul"],
)
def test_unreadable_file_exits_2(
    classify: Classify, tmp_path: Path, make: MakePath, message: str
) -> None:
    out = classify("--json", make(tmp_path))
    assert out.code == 2
    assert out.stdout == ""
    assert out.stderr.startswith("prodsql: error: ")
    assert message in out.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"SELECT '\xe9';\n", "standard input: not UTF-8"), (b"SELECT 1;\x00", "NUL byte")],
    ids=["not-utf8", "nul"],
)
def test_unreadable_stdin_exits_2(classify: Classify, data: bytes, message: str) -> None:
    out = classify("-", stdin=data)
    assert out.code == 2
    assert out.stdout == ""
    assert message in out.stderr


def test_usage_errors_exit_2(classify: Classify, tmp_path: Path) -> None:
    for args in (("--bogus",), ("a.sql", "b.sql")):
        out = classify(*args)
        assert out.code == 2
        assert "see: prodsql classify --help" in out.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "code"),
    [
        (["classify", "--json", "-"], b"SELECT 1;\n", 0),
        (["classify", "--write", "-"], b"DELETE FROM t;\n", 1),
        (["classify", "/nonexistent/x.sql"], b"", 2),
        (["classify", "."], b"", 2),
        (["classify", "-"], b"SELECT 'caf\xe9';\n", 2),
        (["classify", "-"], b"SELECT 1;\0", 2),
    ],
    ids=["json", "write", "missing", "directory", "stdin-not-utf8", "stdin-nul"],
)
def test_the_executable_exits_without_a_traceback(
    tmp_path: Path, args: list[str], stdin: bytes, code: int
) -> None:
    proc = subprocess.run(
        [*PRODSQL, *args],
        env=clean_env(tmp_path),
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
    stdout, stderr = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == code, stdout + stderr
    assert "Traceback" not in stdout + stderr
    if code == 2:
        assert stderr.startswith("prodsql: error: ")
        assert stdout == ""
    else:
        assert stdout
