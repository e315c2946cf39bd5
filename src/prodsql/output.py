"""Render results like psql: aligned tables (the default), CSV and JSON."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import IO, Any

from prodsql.result import Result

# Type OIDs psql right-aligns: int2, int4, int8, oid, float4, float8, numeric, money.
NUMERIC_OIDS = frozenset({20, 21, 23, 26, 700, 701, 790, 1700})
_INT_OIDS = frozenset({20, 21, 23, 26})
_FLOAT_OIDS = frozenset({700, 701})
FORMATS = ("aligned", "csv", "json")
# What psql's aligned and expanded formats show in place of a control character (its
# mbprint.c, pg_wcsformat): data must not drive the operator's terminal. A line feed
# stays: the layouts show it as a continuation line marked '+'.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_TO_NUL = bytes(0 if b < 0x20 or b == 0x7F else b for b in range(256))
# JSON keeps every value exact; DEL and the C1 controls (U+0080-U+009F, 8-bit CSI among
# them) are written as escapes too, as json.dumps leaves them raw.
_JSON_RAW = re.compile("[\x7f-\x9f]")


def render(result: Result, fmt: str, out: IO[str], *, null: str = "") -> None:
    """Print a whole result (one that was not streamed)."""
    StreamPrinter(fmt, out, null=null).finish(result)


class StreamPrinter:
    """A ``RowSink`` for ``-c``/``-f``: each batch is printed as it arrives, so a result
    is never held whole. Aligned widths grow batch by batch, as psql's with
    ``FETCH_COUNT``: a result that fits one batch looks exactly like psql's."""

    def __init__(self, fmt: str, out: IO[str], *, null: str = "") -> None:
        self.fmt, self.out, self.null = fmt, out, null
        self.count = 0
        self.started = False
        self._table: AlignedTable | None = None
        self._convert: list[Any] = []
        self._columns: list[str] = []

    def start(self, columns: Sequence[str], type_oids: Sequence[int]) -> None:
        self.started = True
        self._columns = list(columns)
        if self.fmt == "csv":
            self.out.write(",".join(map(_csv_field, columns)) + "\n")
        elif self.fmt == "json":
            self._convert = [_json_converter(oid) for oid in type_oids]
        else:
            self._table = AlignedTable(columns, _alignments(type_oids))

    def rows(self, batch: Sequence[Sequence[Any]]) -> None:
        if self.fmt == "csv":
            self._csv_rows(batch)
        elif self.fmt == "json":
            self._json_rows(batch)
        else:
            assert self._table is not None
            self.out.write(self._table.render(batch, self.null))
        self.count += len(batch)

    def finish(self, result: Result) -> None:
        """The footer, after the statement; prints the rows of a result not streamed."""
        if result.has_rows and not self.started:
            self.start(result.columns, result.type_oids)
            if result.rows:
                self.rows(result.rows)
        if self.fmt == "csv":
            return
        if self.fmt == "json":
            if result.has_rows:
                self.out.write("[]\n" if self.count == 0 else "\n]\n")
            return
        self.out.write(self._aligned_footer(result))

    def _aligned_footer(self, result: Result) -> str:
        if not result.has_rows:
            return result.status + "\n" if result.status and not result.quiet else ""
        text = self._table.render([], self.null) if self._table and self.count == 0 else ""
        n = self.count
        text += f"({n} row{'' if n == 1 else 's'})\n\n"
        if result.status and not result.status.startswith(("SELECT", "FETCH", "SHOW", "EXPLAIN")):
            text += result.status + "\n"
        return text

    def _csv_rows(self, batch: Sequence[Sequence[Any]]) -> None:
        if batch:
            self.out.write(csv_lines(batch, len(self._columns), self.null))

    def _json_rows(self, batch: Sequence[Sequence[Any]]) -> None:
        if not batch:
            return
        columns, convert = self._columns, self._convert
        items = [
            json.dumps(
                {
                    col: (None if v is None else conv(v))
                    for col, conv, v in zip(columns, convert, row, strict=True)
                },
                ensure_ascii=False,
            )
            for row in batch
        ]
        text = ("[\n" if self.count == 0 else ",\n") + ",\n".join(items)
        self.out.write(json_safe(text))


def json_safe(text: str) -> str:
    """JSON text with DEL and C1 controls escaped (``\\u009b``): the same data, nothing a
    terminal acts on."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def display_text(text: str) -> str:
    """A value as psql's aligned and expanded formats show it: CR as ``\\r``, other C0
    controls and DEL as ``\\xNN``, C1 controls as ``\\uNNNN``, a tab as spaces to the
    next multiple of 8 columns; line feeds stay, for the caller to split on."""
    if text.isprintable():
        return text
    shown = _CONTROL.sub(_escape_control, text)
    if "\t" in shown:
        shown = "\n".join(map(_expand_tabs, shown.split("\n")))
    return shown


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02X}" if code < 0x80 else f"\\u{code:04X}"


def _expand_tabs(line: str) -> str:
    if line.isascii():
        return line.expandtabs(8)
    out: list[str] = []
    width = 0
    for ch in line:
        if ch == "\t":
            out.append(" " * (8 - width % 8))
            width += 8 - width % 8
        else:
            out.append(ch)
            width += display_width(ch)
    return "".join(out)


def _has_control(ascii_text: str) -> bool:
    # bytes.translate is a plain table lookup: ~4x faster than str.isprintable, ~10x re.
    return b"\0" in ascii_text.encode().translate(_CONTROL_TO_NUL)


def display_width(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, align: str) -> str:
    gap = width - display_width(text)
    if align == "r":
        return " " * gap + text
    if align == "c":
        left = gap // 2
        return " " * left + text + " " * (gap - left)
    return text + " " * gap


def csv_lines(rows: Sequence[Sequence[Any]], ncols: int, null: str) -> str:
    """Rows as psql's ``--csv`` writes them: a field is quoted only when it holds a comma,
    a double quote, a line break, or is exactly ``\\.``; NULL is ``null`` (empty)."""
    if ncols == 0:
        return ""  # psql prints the (empty) header line only
    cols = _text_columns(rows, ncols, null)
    cols = [col if _csv_plain(col) else [_csv_field(v) for v in col] for col in cols]
    return "\n".join(map(",".join, zip(*cols, strict=True))) + "\n"


def _csv_plain(col: list[str]) -> bool:
    joined = "".join(col)
    return not any(ch in joined for ch in ',"\n\r') and "\\." not in joined


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ',"\n\r') or value == "\\.":
        return '"' + value.replace('"', '""') + '"'
    return value


def _alignments(oids: Sequence[int]) -> list[str]:
    return ["r" if oid in NUMERIC_OIDS else "l" for oid in oids]


class AlignedTable:
    """psql's aligned format, printed in pieces: the header with the first piece, and
    column widths that only ever grow."""

    def __init__(self, columns: Sequence[str], aligns: Sequence[str]) -> None:
        self.columns = [display_text(c) for c in columns]
        self.aligns = list(aligns)
        self.widths = [_cell_width(c) for c in self.columns]
        self.header_done = False

    def render(self, rows: Sequence[Sequence[Any]], null: str) -> str:
        if not self.columns:  # SELECT with no columns: psql prints a bare rule
            done, self.header_done = self.header_done, True
            return "" if done else "--\n"
        cols = _text_columns(rows, len(self.columns), null)
        plain = self._widen(cols)
        parts: list[str] = []
        if not self.header_done:
            self.header_done = True
            parts += [*_header_lines(self.columns, self.widths), _rule(self.widths)]
        if rows:
            if plain:
                template = _row_template(self.widths, self.aligns)
                parts += [template.format(*r) for r in zip(*cols, strict=True)]
            else:
                for row in zip(*cols, strict=True):
                    split_row = [cell.split("\n") for cell in row]
                    parts += _row_lines(split_row, self.widths, self.aligns)
        return "\n".join(parts) + "\n" if parts else ""

    def _widen(self, cols: list[list[str]]) -> bool:
        """Make control characters visible and grow the widths to fit ``cols``; True
        when every cell is one line of printable ASCII."""
        plain = True
        for i, col in enumerate(cols):
            joined = "".join(col)
            if joined.isascii() and not _has_control(joined):
                width = max(map(len, col), default=0)
            else:
                plain = False
                col[:] = map(display_text, col)
                width = max((_cell_width(c) for c in col), default=0)
            self.widths[i] = max(self.widths[i], width)
        return plain


def _text_columns(rows: Sequence[Sequence[Any]], ncols: int, null: str) -> list[list[str]]:
    """Transpose to columns of text: NULL shown as ``null``, other values as ``str``."""
    if not rows:
        return [[] for _ in range(ncols)]
    return [_text_column(col, null) for col in zip(*rows, strict=True)]


def _text_column(col: tuple[Any, ...], null: str) -> list[str]:
    if None in col:
        col = tuple(null if v is None else v for v in col)
    if all(type(v) is str for v in col):
        return list(col)
    return [str(v) for v in col]


def _cell_width(cell: str) -> int:
    return max(display_width(line) for line in cell.split("\n"))


def _row_template(widths: Sequence[int], aligns: Sequence[str]) -> str:
    """A ``str.format`` template for rows of single-line ASCII cells."""
    last = len(widths) - 1
    pieces = []
    for i, (w, a) in enumerate(zip(widths, aligns, strict=True)):
        if i == last:
            pieces.append(" {}" if a == "l" else f" {{:>{w}}}")
        else:
            pieces.append(f" {{:{'>' if a == 'r' else '<'}{w}}} ")
    return "|".join(pieces)


def format_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    aligns: Sequence[str],
    *,
    header: bool = True,
) -> str:
    """psql's aligned format for a whole table; multi-line cells continue with '+'.
    Without ``header`` only the rows (widths still count the headers, as psql's)."""
    table = AlignedTable(columns, aligns)
    table.header_done = not header
    return table.render(rows, "")


def _rule(widths: Sequence[int]) -> str:
    return "+".join("-" * (w + 2) for w in widths)


def _header_lines(columns: Sequence[str], widths: Sequence[int]) -> list[str]:
    """The centred headers; a header with a line break goes on below, marked '+'."""
    split = [c.split("\n") for c in columns]
    height = max((len(lines) for lines in split), default=1)
    out = []
    for k in range(height):
        pieces = []
        for lines, w in zip(split, widths, strict=True):
            if k >= len(lines):
                pieces.append(" " * (w + 2))
            else:
                pieces.append(" " + _pad(lines[k], w, "c") + ("+" if k < len(lines) - 1 else " "))
        out.append("|".join(pieces))
    return out


def _row_lines(row: Sequence[list[str]], widths: Sequence[int], aligns: Sequence[str]) -> list[str]:
    """One row's lines as psql prints them: a cell that goes on ends with '+'; the last
    column is not padded on the right."""
    height = max((len(lines) for lines in row), default=1)
    last = len(row) - 1
    out = []
    for k in range(height):
        pieces = []
        for i, lines in enumerate(row):
            text = lines[k] if k < len(lines) else ""
            goes_on = k < len(lines) - 1
            if i == last and k >= len(lines):
                pieces.append(" ")  # psql pads no finished last column, even a numeric one
            elif i == last and not goes_on:
                pieces.append(" " + (text if aligns[i] == "l" else _pad(text, widths[i], "r")))
            else:
                pieces.append(" " + _pad(text, widths[i], aligns[i]) + ("+" if goes_on else " "))
        out.append("|".join(pieces))
    return out


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
