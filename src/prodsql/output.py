"""Render results like psql: aligned tables (the default), CSV and JSON."""

from __future__ import annotations

import csv
import json
import math
import unicodedata
from collections.abc import Sequence
from typing import IO, Any

from prodsql.result import Result

# Type OIDs psql right-aligns: int2, int4, int8, oid, float4, float8, numeric, money.
NUMERIC_OIDS = frozenset({20, 21, 23, 26, 700, 701, 790, 1700})
_INT_OIDS = frozenset({20, 21, 23, 26})
_FLOAT_OIDS = frozenset({700, 701})
FORMATS = ("aligned", "csv", "json")


def render(result: Result, fmt: str, out: IO[str], *, null: str = "") -> None:
    if fmt == "csv":
        _render_csv(result, out, null)
    elif fmt == "json":
        _render_json(result, out)
    else:
        _render_aligned(result, out, null)


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, align: str) -> str:
    gap = width - display_width(text)
    if align == "r":
        return " " * gap + text
    if align == "c":
        left = gap // 2
        return " " * left + text + " " * (gap - left)
    return text + " " * gap


def _render_aligned(result: Result, out: IO[str], null: str) -> None:
    if not result.has_rows:
        if result.status:
            out.write(result.status + "\n")
        return
    cells = [[null if v is None else str(v) for v in row] for row in result.rows]
    out.write(format_table(result.columns, cells, _alignments(result.type_oids)))
    n = len(result.rows)
    out.write(f"({n} row{'' if n == 1 else 's'})\n\n")
    if result.status and not result.status.startswith(("SELECT", "FETCH", "SHOW", "EXPLAIN")):
        out.write(result.status + "\n")


def _alignments(oids: Sequence[int]) -> list[str]:
    return ["r" if oid in NUMERIC_OIDS else "l" for oid in oids]


def format_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], aligns: Sequence[str]
) -> str:
    """psql's aligned format; multi-line cells continue with a '+' marker."""
    split_rows = [[cell.split("\n") for cell in row] for row in rows]
    widths = [display_width(c) for c in columns]
    for row in split_rows:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(display_width(x) for x in lines))
    parts = [_header_line(columns, widths), _rule(widths)]
    for row in split_rows:
        parts.extend(_row_lines(row, widths, aligns))
    return "\n".join(parts) + "\n"


def _rule(widths: Sequence[int]) -> str:
    return "+".join("-" * (w + 2) for w in widths)


def _header_line(columns: Sequence[str], widths: Sequence[int]) -> str:
    return "|".join(" " + _pad(c, w, "c") + " " for c, w in zip(columns, widths, strict=True))


def _row_lines(row: Sequence[list[str]], widths: Sequence[int], aligns: Sequence[str]) -> list[str]:
    height = max((len(lines) for lines in row), default=1)
    out = []
    for k in range(height):
        pieces = []
        for i, lines in enumerate(row):
            text = lines[k] if k < len(lines) else ""
            more = "+" if k < len(lines) - 1 else " "
            cell = " " + _pad(text, widths[i], aligns[i]) + more
            pieces.append(cell)
        out.append("|".join(pieces).rstrip(" "))
    return out


def _render_csv(result: Result, out: IO[str], null: str) -> None:
    if not result.has_rows:
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([null if v is None else v for v in row])


def _render_json(result: Result, out: IO[str]) -> None:
    if not result.has_rows:
        return
    convert = [_json_converter(oid) for oid in result.type_oids]
    records = [
        {
            col: (None if v is None else conv(v))
            for col, conv, v in zip(result.columns, convert, row, strict=True)
        }
        for row in result.rows
    ]
    json.dump(records, out, ensure_ascii=False, indent=1)
    out.write("\n")


def _json_converter(oid: int) -> Any:
    if oid in _INT_OIDS:
        return int
    if oid in _FLOAT_OIDS:
        return _float
    if oid == 16:
        return lambda v: v == "t"
    return str


def _float(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text
