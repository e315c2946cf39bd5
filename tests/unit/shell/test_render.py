from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from prodsql.result import Result
from prodsql.shell.render import Display, Output, PagerClosed, ResultPrinter, format_expanded


class Term(io.StringIO):
    def isatty(self) -> bool:
        return False


def printed(display: Display, batches: list[list[tuple[object, ...]]], width: int = 80) -> str:
    out = Term()
    printer = ResultPrinter(display, Output(out, size=lambda: (width, 24)))
    printer.start(["id", "name"], [23, 25])
    for batch in batches:
        printer.rows(batch)
    n = sum(len(b) for b in batches)
    printer.finish(Result(columns=["id", "name"], has_rows=True, status=f"SELECT {n}"))
    return out.getvalue()


def test_batches_share_one_header_and_count_every_row() -> None:
    text = printed(Display(null="(null)"), [[(1, "a")], [(22, None)]])
    # Widths are per batch (like psql with FETCH_COUNT); the header is printed once.
    assert text.splitlines() == [
        " id | name ",
        "----+------",
        "  1 | a",
        " 22 | (null)",
        "(2 rows)",
        "",
    ]


def test_expanded_and_auto() -> None:
    assert format_expanded(["a", "bb"], [["1", "x"]], 1).splitlines() == [
        "-[ RECORD 1 ]",
        "a  | 1",
        "bb | x",
    ]
    assert "-[ RECORD 1 ]" in printed(Display(expanded="auto"), [[(1, "x" * 100)]], width=40)
    assert "-[ RECORD" not in printed(Display(expanded="auto"), [[(1, "x")]], width=40)


def test_csv_and_json() -> None:
    assert printed(Display(fmt="csv"), [[(1, "a")], [(2, "b")]]) == "id,name\n1,a\n2,b\n"
    assert printed(Display(fmt="json"), [[(1, "a")], [(2, "b")]]) == (
        '[\n{"id": 1, "name": "a"},\n{"id": 2, "name": "b"}\n]\n'
    )


def test_json_null_is_null_whatever_the_null_display() -> None:
    text = printed(Display(fmt="json", null="(null)"), [[(1, None)]])
    assert '"name": null' in text
    assert "(null)" not in text


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def paged(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[tuple[object, ...]],
    *,
    pager: bool = True,
) -> tuple[str, str]:
    """(what the terminal got, what the pager got) on a 40x10 terminal."""
    paged_to = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text(
        "import os, sys\n"
        f"open({str(paged_to)!r}, 'w').write(os.environ.get('LESSSECURE', '') + '|' "
        "+ sys.stdin.read())\n"
    )
    monkeypatch.setenv("PAGER", f"{sys.executable} {script}")
    out = Tty()
    printer = ResultPrinter(Display(pager=pager), Output(out, size=lambda: (40, 10)))
    printer.start(["id", "name"], [23, 25])
    printer.rows(rows)
    printer.finish(Result(columns=["id", "name"], has_rows=True, status="SELECT"))
    return out.getvalue(), paged_to.read_text() if paged_to.exists() else ""


def test_a_tall_result_goes_through_the_pager_without_its_shell_escapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal, pager = paged(tmp_path, monkeypatch, [(i, "x") for i in range(20)])
    assert terminal == ""
    assert pager.startswith("1|")  # LESSSECURE=1: no !command from inside less
    assert "(20 rows)" in pager


def test_a_wide_result_goes_through_the_pager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal, pager = paged(tmp_path, monkeypatch, [(1, "y" * 60)])
    assert terminal == ""
    assert "y" * 60 in pager


def test_a_small_result_or_pager_off_stays_on_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal, pager = paged(tmp_path, monkeypatch, [(1, "a")])
    assert "(1 row)" in terminal
    assert pager == ""
    terminal, pager = paged(tmp_path, monkeypatch, [(i, "x") for i in range(20)], pager=False)
    assert "(20 rows)" in terminal
    assert pager == ""


# -- control characters, multi-line labels and values: psql 15's own output ---------------


def test_expanded_is_psqls_with_control_characters_and_line_breaks() -> None:
    columns = ["a\nb", "t\tx", "e\x1bx", "w", "crlf", "ml", "ctl"]
    row = ["1", "2", "v", "ab\tc漢\td", "\r\n", "x\ty\n\tz", "\x01"]
    assert format_expanded(columns, [row], 1) == (
        "-[ RECORD 1 ]----------------\n"
        "a        +| 1\n"
        "b         |\n"
        "t       x | 2\n"
        "e\\x1Bx    | v\n"
        "w         | ab      c漢     d\n"
        "crlf      | \\r               +\n"
        "          | \n"
        "ml        | x       y        +\n"
        "          |         z\n"
        "ctl       | \\x01\n"
    )


def test_expanded_keeps_blanks_and_draws_psqls_rule() -> None:
    columns = ["a", "b", "c", "a_very_long_column_name_here", "d"]
    assert format_expanded(columns, [["", "tail  ", "", "1", "x\ny"]], 7) == (
        "-[ RECORD 7 ]----------------+-------\n"
        "a                            | \n"
        "b                            | tail  \n"
        "c                            | \n"
        "a_very_long_column_name_here | 1\n"
        "d                            | x     +\n"
        "                             | y\n"
    )


def test_expanded_with_no_rows_is_psqls() -> None:
    out = Term()
    printer = ResultPrinter(Display(expanded="on"), Output(out, size=lambda: (80, 24)))
    printer.start(["a"], [23])
    printer.finish(Result(columns=["a"], has_rows=True, status="SELECT 0"))
    assert out.getvalue() == "(0 rows)\n\n"


def test_later_batches_repeat_no_header_even_a_multi_line_one() -> None:
    out = Term()
    printer = ResultPrinter(Display(), Output(out, size=lambda: (80, 24)))
    printer.start(["x\ny", "v"], [23, 25])
    printer.rows([(1, "a\x1b")])
    printer.rows([(2, "b\rc")])
    printer.finish(Result(columns=["x\ny", "v"], has_rows=True, status="SELECT 2"))
    assert out.getvalue() == (
        " x+|   v   \n y |       \n---+-------\n 1 | a\\x1B\n 2 | b\\rc\n(2 rows)\n\n"
    )


def test_a_pager_that_quits_stops_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pager reads one line and exits, as less does on 'q': the next batch raises, so
    # the runner's stream is abandoned and the query cancelled on the server.
    script = tmp_path / "quits.py"
    script.write_text("import sys\nsys.stdin.readline()\n")
    monkeypatch.setenv("PAGER", f"{sys.executable} {script}")
    printer = ResultPrinter(Display(), Output(Tty(), size=lambda: (40, 10)))
    printer.start(["id", "name"], [23, 25])
    batch = [(i, "x" * 20) for i in range(1000)]

    def stream() -> None:
        for _ in range(1000):
            printer.rows(batch)

    with pytest.raises(PagerClosed, match="the pager was closed") as caught:
        stream()
    assert printer.count < 1000 * 1000
    assert caught.value.sqlstate is None  # the client's doing, not the server's
    printer.abort()  # and the shell goes on
