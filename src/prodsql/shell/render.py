"""Result display for the shell: aligned (psql's), expanded, CSV and JSON, streamed in
batches through a pager.

A result arrives in batches of up to 1,000 rows (see ``session.runner``). Like psql with
``FETCH_COUNT``, column widths are computed per batch and the header is printed once, so
memory stays bounded by one batch however large the result is. The first batch decides
whether the pager is used (taller or wider than the terminal) and, with ``\\x auto``,
whether the display is expanded.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import psycopg

from prodsql.output import NUMERIC_OIDS, display_text, display_width, format_table, json_safe
from prodsql.result import Result

DEFAULT_PAGER = "less -SRXF"


@dataclass
class Display:
    """What ``\\x``, ``\\pset`` and ``\\timing`` set."""

    expanded: str = "off"  # on | off | auto
    null: str = ""
    fmt: str = "aligned"  # aligned | csv | json
    pager: bool = True
    timing: bool = False


TermSize = Callable[[], tuple[int, int]]  # (columns, lines)


def terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size((80, 24))
    return size.columns, size.lines


def text_cells(row: Sequence[Any], null: str) -> list[str]:
    return [null if v is None else str(v) for v in row]


def format_expanded(
    columns: Sequence[str], rows: Sequence[Sequence[str]], first_record: int
) -> str:
    """psql's ``\\x`` layout: one ``-[ RECORD n ]`` block per row. Labels and values are
    shown as the aligned format shows them (control characters made visible); a line
    break continues on the next line, marked '+'."""
    labels = [display_text(c).split("\n") for c in columns]
    values = [[display_text(cell).split("\n") for cell in row] for row in rows]
    label_w = max((display_width(x) for lines in labels for x in lines), default=0)
    value_w = max((display_width(x) for row in values for lines in row for x in lines), default=0)
    rule = "-" * (label_w + 1) + "+" + "-" * (value_w + 1)
    out = []
    for n, row in enumerate(values, first_record):
        head = f"-[ RECORD {n} ]"
        out.append(head + rule[len(head) :])
        for label, value in zip(labels, row, strict=True):
            out += _expanded_field(label, value, label_w, value_w)
    return "".join(line + "\n" for line in out)


def _expanded_field(label: list[str], value: list[str], label_w: int, value_w: int) -> list[str]:
    """One field's lines, as psql's print_aligned_vertical writes them with border 1."""
    lines = []
    for k in range(max(len(label), len(value))):
        if k < len(label):
            more = "+" if k < len(label) - 1 else " "
            left = label[k] + " " * (label_w - display_width(label[k])) + more
        else:
            left = " " * (label_w + 1)
        if k >= len(value):
            lines.append(left + "|")
        elif k < len(value) - 1:
            lines.append(f"{left}| {value[k]}{' ' * (value_w - display_width(value[k]))}+")
        else:
            lines.append(f"{left}| {value[k]}")
    return lines


class PagerClosed(psycopg.errors.QueryCanceled):
    """The pager quit before the whole result was shown: the stream stops here, which
    cancels the query on the server (``session.fetch``), and the outcome is
    ``cancelled``. Not the server's doing, so no SQLSTATE."""

    sqlstate = None


class Output:
    """Where the shell writes: the terminal (through the pager when needed) or ``\\o``."""

    def __init__(self, stdout: IO[str], size: TermSize = terminal_size) -> None:
        self.stdout = stdout
        self.file: IO[str] | None = None
        self.file_name: str | None = None
        self.size = size

    @property
    def target(self) -> IO[str]:
        return self.file or self.stdout

    def is_terminal(self) -> bool:
        return self.file is None and self.stdout.isatty()

    def redirect(self, name: str | None) -> None:
        if self.file is not None:
            self.file.close()
        self.file, self.file_name = None, None
        if name:
            self.file = open(name, "a", encoding="utf-8")  # noqa: SIM115 - kept open until \o
            self.file_name = name


class Pager:
    """``$PAGER`` (default ``less -SRXF``) with less's shell escapes disabled."""

    def __init__(self) -> None:
        command = os.environ.get("PAGER") or DEFAULT_PAGER
        env = dict(os.environ, LESSSECURE="1")  # no !command, no editor from inside less
        self.proc = subprocess.Popen(
            shlex.split(command), stdin=subprocess.PIPE, text=True, encoding="utf-8", env=env
        )
        self.broken = False

    def write(self, text: str) -> None:
        if self.broken or self.proc.stdin is None:
            return
        try:
            self.proc.stdin.write(text)
            self.proc.stdin.flush()  # a pager that quit is noticed now, not a buffer later
        except (BrokenPipeError, OSError):
            self.broken = True  # the user quit the pager; the rest is discarded

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.proc.stdin.close()
        self.proc.wait()


class ResultPrinter:
    """A ``RowSink`` for one statement: formats each batch as it arrives."""

    def __init__(self, display: Display, output: Output, *, expanded: str | None = None) -> None:
        self.display, self.output = display, output
        self.expanded = expanded or display.expanded
        self.columns: list[str] = []
        self.aligns: list[str] = []
        self.oids: list[int] = []
        self.count = 0
        self.pager: Pager | None = None
        self.decided = False
        self.use_expanded = self.expanded == "on"
        self.buffer = io.StringIO()

    # -- RowSink
    def start(self, columns: Sequence[str], type_oids: Sequence[int]) -> None:
        self.columns, self.oids = list(columns), list(type_oids)
        self.aligns = ["r" if oid in NUMERIC_OIDS else "l" for oid in type_oids]

    def rows(self, batch: Sequence[tuple[Any, ...]]) -> None:
        first = self.count == 0
        if self.display.fmt == "json":  # JSON has its own null
            text = _json(self.columns, self.oids, batch, first=first)
        else:
            text = self._format([text_cells(r, self.display.null) for r in batch], first=first)
        self.count += len(batch)
        self._emit(text)
        if self.pager is not None and self.pager.broken:
            raise PagerClosed("the pager was closed before the whole result was shown")

    # -- after the statement
    def finish(self, result: Result) -> None:
        if result.has_rows and not self.columns:  # a result that was not streamed
            self.start(result.columns, result.type_oids)
            if result.rows:
                self.rows(result.rows)
        if result.has_rows and self.count == 0 and self.display.fmt == "aligned":
            self._emit(self._format([], first=True))
        self._emit(self._footer(result))
        self._close()

    def abort(self) -> None:
        self._close()

    def write_text(self, text: str) -> None:
        """Text laid out already (``\\d NAME``), through the pager as a result would be."""
        self._emit(text)
        self._close()

    def _footer(self, result: Result) -> str:
        if self.display.fmt == "json":
            return "\n]\n" if result.has_rows else _status_line(result)
        if self.display.fmt == "csv":
            return "" if result.has_rows else _status_line(result)
        if not result.has_rows:
            return _status_line(result)
        n = self.count
        text = "" if self.use_expanded else f"({n} row{'' if n == 1 else 's'})\n"
        if self.use_expanded and n == 0:
            text = "(0 rows)\n"
        text += "\n"
        if result.status and not result.status.startswith(("SELECT", "FETCH", "SHOW", "EXPLAIN")):
            text += result.status + "\n"
        return text

    def _format(self, cells: list[list[str]], *, first: bool) -> str:
        fmt = self.display.fmt
        if fmt == "csv":
            return _csv(self.columns if first else None, cells)
        if fmt == "json":
            return _json(self.columns, self.oids, cells, first=first)
        if not self.decided and self.expanded == "auto":
            width = _table_width(self.columns, cells)
            self.use_expanded = width > self.output.size()[0]
        if self.use_expanded:
            return format_expanded(self.columns, cells, self.count + 1)
        return format_table(self.columns, cells, self.aligns, header=first)

    def _emit(self, text: str) -> None:
        if not text:
            return
        if not self.decided:
            self.decided = True
            if self._needs_pager(text):
                self.pager = Pager()
        if self.pager is not None:
            self.pager.write(text)
        else:
            self.output.target.write(text)

    def _needs_pager(self, text: str) -> bool:
        if not (self.display.pager and self.output.is_terminal()):
            return False
        columns, lines = self.output.size()
        rows = text.split("\n")
        return len(rows) >= lines - 1 or any(display_width(r) > columns for r in rows)

    def _close(self) -> None:
        if self.pager is not None:
            self.pager.close()
            self.pager = None
        self.output.target.flush()


def _status_line(result: Result) -> str:
    return result.status + "\n" if result.status and not result.quiet else ""


def _table_width(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> int:
    widths = [_shown_width(c) for c in columns]
    for row in cells[:200]:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], _shown_width(cell))
    return sum(widths) + 3 * len(widths)


def _shown_width(cell: str) -> int:
    return max(display_width(x) for x in display_text(cell).split("\n"))


def _csv(columns: Sequence[str] | None, cells: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if columns is not None:
        writer.writerow(columns)
    writer.writerows(cells)
    return buf.getvalue()


def _json(
    columns: Sequence[str],
    oids: Sequence[int],
    cells: Sequence[Sequence[object]],
    *,
    first: bool,
) -> str:
    items = [
        json.dumps(dict(zip(columns, _json_values(oids, row), strict=True)), ensure_ascii=False)
        for row in cells
    ]
    head = "[\n" if first else ",\n"
    return json_safe(head + ",\n".join(items)) if items else ("[\n" if first else "")


def _json_values(oids: Sequence[int], row: Sequence[object]) -> list[object]:
    # Values arrive as the server's text; numbers, booleans and NULL become JSON's own.
    out: list[object] = []
    for oid, value in zip(oids, row, strict=True):
        cell = None if value is None else str(value)
        if cell is None:
            out.append(None)
        elif oid in (20, 21, 23, 26):
            out.append(int(cell) if cell.lstrip("-").isdigit() else cell)
        elif oid == 16:
            out.append(cell == "t")
        else:
            out.append(cell)
    return out
