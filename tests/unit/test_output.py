from __future__ import annotations

import io

from prodsql.output import format_table, render
from prodsql.result import Result


def aligned(result: Result) -> str:
    out = io.StringIO()
    render(result, "aligned", out)
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


def test_multiline_cells_and_wide_characters() -> None:
    text = format_table(["x", "y"], [["a\nbb", "漢字"]], ["l", "l"])
    assert text == " x  |  y   \n----+------\n a +| 漢字\n bb | \n".replace("| \n", "|\n")


def test_status_only_and_returning() -> None:
    assert aligned(Result(status="CREATE TABLE")) == "CREATE TABLE\n"
    out = aligned(
        Result(
            columns=["id"],
            type_oids=[23],
            rows=[("7",)],
            status="INSERT 0 1",
            rowcount=1,
            has_rows=True,
        )
    )
    assert out.endswith("(1 row)\n\nINSERT 0 1\n")


def test_zero_rows_plural() -> None:
    out = aligned(
        Result(
            columns=["id"], type_oids=[23], rows=[], status="SELECT 0", rowcount=0, has_rows=True
        )
    )
    assert out == " id \n----\n(0 rows)\n\n"


def test_csv_and_json() -> None:
    result = Result(
        columns=["i", "f", "b", "t"],
        type_oids=[20, 701, 16, 25],
        rows=[("1", "NaN", "t", None)],
        has_rows=True,
    )
    out = io.StringIO()
    render(result, "csv", out)
    assert out.getvalue() == "i,f,b,t\n1,NaN,t,\n"
    out = io.StringIO()
    render(result, "json", out)
    assert out.getvalue() == '[\n {\n  "i": 1,\n  "f": "NaN",\n  "b": true,\n  "t": null\n }\n]\n'
