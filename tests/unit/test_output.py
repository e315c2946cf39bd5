"""psql's output formats, byte for byte (the layouts below were taken from psql 15)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

from prodsql.output import (
    StreamPrinter,
    csv_lines,
    display_text,
    format_table,
    json_safe,
    render,
)
from prodsql.result import Result


def aligned(result: Result) -> str:
    out = io.StringIO()
    render(result, "aligned", out)
    return out.getvalue()


def streamed(
    fmt: str,
    columns: list[str],
    oids: list[int],
    batches: Sequence[Sequence[tuple[str | None, ...]]],
) -> str:
    out = io.StringIO()
    printer = StreamPrinter(fmt, out)
    printer.start(columns, oids)
    for batch in batches:
        printer.rows(batch)
    count = sum(map(len, batches))
    printer.finish(Result(columns, oids, [], f"SELECT {count}", count, has_rows=True))
    return out.getvalue()


def test_psql_aligned_layout() -> None:
    result = Result(
        columns=["a", "longer_name", "n", "num"],
        type_oids=[23, 25, 25, 1700],
        rows=[("1", "hello", None, "1.5")],
        status="SELECT 1",
        rowcount=1,
        has_rows=True,
    )
    assert aligned(result) == (
        " a | longer_name | n | num \n"
        "---+-------------+---+-----\n"
        " 1 | hello       |   | 1.5\n"
        "(1 row)\n\n"
    )


def test_last_column_is_not_padded_and_keeps_its_spaces() -> None:
    # psql: a NULL in a left-aligned last column leaves "| ", a value keeps its blanks.
    result = Result(["a", "b"], [23, 25], [("1", None), ("22", "x  ")], "SELECT 2", 2, True)
    assert aligned(result) == " a  |  b  \n----+-----\n  1 | \n 22 | x  \n(2 rows)\n\n"


def test_multiline_cells_and_wide_characters() -> None:
    text = format_table(["x", "y", "zz", "k"], [["a\nbb", "z", "q", "漢字"]], ["l"] * 4)
    assert text == (
        " x  | y | zz |  k   \n----+---+----+------\n a +| z | q  | 漢字\n bb |   |    | \n"
    )


def test_no_columns_prints_a_bare_rule() -> None:
    result = Result([], [], [(), ()], "SELECT 2", 2, True)
    assert aligned(result) == "--\n(2 rows)\n\n"


def test_status_only_and_returning() -> None:
    assert aligned(Result(status="CREATE TABLE")) == "CREATE TABLE\n"
    out = aligned(Result(["id"], [23], [("7",)], "INSERT 0 1", 1, has_rows=True))
    assert out.endswith("(1 row)\n\nINSERT 0 1\n")


def test_zero_rows_plural() -> None:
    out = aligned(Result(["id"], [23], [], "SELECT 0", 0, has_rows=True))
    assert out == " id \n----\n(0 rows)\n\n"


def test_streamed_batches_print_one_header_and_widths_only_grow() -> None:
    out = streamed("aligned", ["id", "v"], [23, 25], [[("1", "a")], [("1000", "bb")], [("2", "")]])
    assert out == (
        " id | v \n"
        "----+---\n"
        "  1 | a\n"
        " 1000 | bb\n"  # the second batch is wider: psql's FETCH_COUNT behaviour
        "    2 | \n"  # and the third keeps the grown width
        "(3 rows)\n\n"
    )


def test_one_batch_is_exactly_the_whole_table() -> None:
    rows = [(str(i), "x" * (i % 7), None if i % 3 else "n") for i in range(50)]
    whole = aligned(Result(["i", "x", "n"], [23, 25, 25], rows, "SELECT 50", 50, True))
    assert streamed("aligned", ["i", "x", "n"], [23, 25, 25], [rows]) == whole


def test_fast_and_general_layouts_agree() -> None:
    # An ASCII batch takes the fast template; a non-ASCII one the general path.
    rows = [("1", "abc", "x"), ("22", "d", None)]
    ascii_text = format_table(["a", "b", "c"], [[v or "" for v in r] for r in rows], "rll")
    wide = format_table(["a", "b", "c"], [["1", "abc", "x"], ["22", "d", "é"]], "rll")
    assert ascii_text.splitlines()[:3] == wide.splitlines()[:3]
    assert wide.splitlines()[3] == " 22 | d   | é"


def test_csv_quotes_like_psql() -> None:
    row = ("", None, " x ", "a,b", 'q"q', "l1\nl2", "c\r", "\\N", "\\.", "x\\.", "é")
    assert csv_lines([row], len(row), "") == (
        ',, x ,"a,b","q""q","l1\nl2","c\r",\\N,"\\.",x\\.,é\n'
    )
    assert csv_lines([("",), (None,)], 1, "") == "\n\n"  # psql prints no quotes here


def test_csv_stream_and_null_display() -> None:
    out = streamed("csv", ["i", "t"], [23, 25], [[("1", None)], [("2", "b,c")]])
    assert out == 'i,t\n1,\n2,"b,c"\n'
    assert csv_lines([("1", None)], 2, "NULL") == "1,NULL\n"


def test_json_streams_one_array() -> None:
    out = streamed("json", ["i", "f", "b", "t"], [20, 701, 16, 25], [[("1", "NaN", "t", None)]])
    assert json.loads(out) == [{"i": 1, "f": "NaN", "b": True, "t": None}]
    many = streamed("json", ["i"], [23], [[("1",), ("2",)], [("3",)]])
    assert json.loads(many) == [{"i": 1}, {"i": 2}, {"i": 3}]
    assert streamed("json", ["i"], [23], []) == "[]\n"


def test_render_of_a_collected_result_matches_the_stream() -> None:
    rows = [("1", "x"), ("2", None)]
    for fmt in ("aligned", "csv", "json"):
        out = io.StringIO()
        render(Result(["i", "t"], [23, 25], rows, "SELECT 2", 2, True), fmt, out)
        assert out.getvalue() == streamed(fmt, ["i", "t"], [23, 25], [rows])


# -- control characters (psql 15's pg_wcsformat, checked against psql itself) ---------------


def test_control_characters_are_shown_as_psql_shows_them() -> None:
    assert display_text("a\rb") == "a\\rb"
    assert display_text("x\x01y\x1b[2J\x7f") == "x\\x01y\\x1B[2J\\x7F"
    assert display_text("\x80\x9b\xa0é") == "\\u0080\\u009B\xa0é"  # C1 only; NBSP is text
    assert display_text("p\tq\n\tz") == "p       q\n        z"  # tab stops every 8 columns
    assert display_text("ab\tc漢\td") == "ab      c漢     d"  # by display width
    assert display_text("\\x1b\u2028") == "\\x1b\u2028"  # no control character
    assert display_text("plain") == "plain"


def test_aligned_escapes_control_characters_in_cells_and_headers() -> None:
    text = format_table(
        ["a\nb", "t\tx", "e\x1bx", "w", "crlf", "ml"],
        [["1", "2", "v", "ab\tc漢\td", "\r\n", "x\ty\n\tz"]],
        ["r", "r", "l", "l", "l", "l"],
    )
    assert text == (  # psql 15, byte for byte
        " a+| t       x | e\\x1Bx |         w         | crlf |    ml     \n"
        " b |           |        |                   |      |           \n"
        "---+-----------+--------+-------------------+------+-----------\n"
        " 1 |         2 | v      | ab      c漢     d | \\r  +| x       y+\n"
        "   |           |        |                   |      |         z\n"
    )


def test_control_characters_leave_the_ascii_fast_path() -> None:
    # One control character in a batch of plain rows: the whole batch is laid out escaped.
    rows = [(str(i), "x") for i in range(5)] + [("9", "\x1b[31mred")]
    out = streamed("aligned", ["i", "v"], [23, 25], [rows])
    assert "\x1b" not in out
    assert " 9 | \\x1B[31mred\n" in out
    assert out.splitlines()[0] == " i |      v      "  # the width of the escaped text


def test_a_finished_numeric_last_column_is_not_padded() -> None:
    assert format_table(["x", "n"], [["a\nb", "1"]], ["l", "r"]) == (
        " x | n \n---+---\n a+| 1\n b | \n"
    )


def test_csv_keeps_the_bytes_and_json_escapes_what_a_terminal_acts_on() -> None:
    row = ("a\rb", "\x1b[2J", "\x9b1m\x7f")
    assert csv_lines([row], 3, "") == '"a\rb",\x1b[2J,\x9b1m\x7f\n'  # psql --csv: raw
    out = streamed("json", ["a", "b", "c"], [25, 25, 25], [[row]])
    assert not any(ch in out for ch in "\r\x1b\x9b\x7f")
    assert json.loads(out) == [dict(zip("abc", row, strict=True))]
    assert json_safe('"caf\u00e9"') == '"caf\u00e9"'
