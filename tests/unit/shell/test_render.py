from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from prodsql.result import Result
from prodsql.shell.render import Display, Output, ResultPrinter, format_expanded


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
