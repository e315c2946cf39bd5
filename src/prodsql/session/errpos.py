"""Where a server error points, shown as psql shows it: ``LINE n:`` and a caret.

The server reports a position as a 1-based character offset into the query it received
(``statement_position``) or, for an error in a query a function ran, into that query
(``internal_position`` in ``internal_query``). psql prints the line holding it and a caret
under it, cutting a line wider than 60 screen columns around the position (libpq's
``reportErrorPosition`` in fe-protocol3.c, ported by :func:`caret_lines`).

prodsql sends the user's text after a tag comment, and shows (and records) a redacted text
when the statement holds a secret: the position is moved off the tag and onto the text
shown, so that neither the tag nor a secret is ever printed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from prodsql.policy.redact import Redaction, redact

__all__ = ["ErrorPlace", "caret_lines", "locate", "shown_position", "untag"]

_DISPLAY_SIZE = 60  # libpq's screen width limit for the LINE, in screen columns
_MIN_RIGHT_CUT = 10  # how far libpq keeps a right cut from the position
_TAG_OPEN, _TAG_CLOSE = "/* prodsql:", " */ "
_ALIGN_LIMIT = 20_000  # characters of changed text worth aligning character by character


@dataclass(frozen=True, slots=True)
class ErrorPlace:
    """What psql prints of an error beside its message, without tag or secret."""

    position: int | None = None  # 1-based, in the statement's recorded (shown) text
    lines: tuple[str, ...] = ()  # ``LINE n: ...`` and the caret line
    query: str | None = None  # psql's ``QUERY:``
    context: str | None = None  # psql's ``CONTEXT:``


def locate(diag: Any, sent: str, hidden: Redaction) -> ErrorPlace:
    """The place of the error ``diag`` (a psycopg Diagnostic) in ``sent`` (the tagged
    statement), shown in ``hidden.text``, the statement as recorded."""
    prefix, original = untag(sent)
    internal = _text(getattr(diag, "internal_query", None))
    inner = redact(internal) if internal else Redaction("")

    def scrub(text: str) -> str:
        return hidden.scrub(inner.scrub(text))

    query = scrub(inner.text) if internal else None
    context = _text(getattr(diag, "context", None))
    place = ErrorPlace(query=query, context=scrub(context) if context else None)
    at = _number(getattr(diag, "statement_position", None))
    if at is not None:  # as in libpq, the statement's position wins over the internal one
        if at - prefix < 1:
            return place  # in the tag: nothing of the user's text to show
        position = shown_position(original, hidden.text, at - prefix)
        # The redaction takes out literals; the same secret elsewhere is scrubbed too.
        shown = hidden.scrub(hidden.text)
        lines = caret_lines(shown, shown_position(original, shown, at - prefix))
        return _with(place, position, lines)
    at = _number(getattr(diag, "internal_position", None))
    if at is None or not internal or query is None:
        return place
    return _with(place, None, caret_lines(query, shown_position(internal, query, at)))


def _with(place: ErrorPlace, position: int | None, lines: tuple[str, ...]) -> ErrorPlace:
    return ErrorPlace(position, lines, place.query, place.context)


def untag(sent: str) -> tuple[int, str]:
    """The length of the tag comment ``sent`` starts with, and the text after it."""
    if not sent.startswith(_TAG_OPEN):
        return 0, sent
    end = sent.find(_TAG_CLOSE)  # the tag's alphabet cannot hold it (see policy.tag)
    if end < 0:
        return 0, sent
    end += len(_TAG_CLOSE)
    return end, sent[end:]


def shown_position(original: str, shown: str, position: int) -> int:
    """1-based ``position`` in ``original`` moved to ``shown``, a redaction of it: in text
    the redaction kept, the same character; in text it replaced, where the replacement
    starts (so a caret never points into a secret)."""
    if original == shown:
        return position
    at = position - 1
    head = _common_prefix(original, shown)
    if at < head:
        return position
    room = min(len(original), len(shown)) - head
    tail = _common_prefix(original[::-1][:room], shown[::-1][:room])
    if at >= len(original) - tail:
        return position + len(shown) - len(original)
    old, new = original[head : len(original) - tail], shown[head : len(shown) - tail]
    if len(old) + len(new) > _ALIGN_LIMIT:
        return head + 1
    for op, i1, i2, j1, _j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if i1 <= at - head < i2:
            return head + (j1 + at - head - i1 if op == "equal" else j1) + 1
    return head + len(new) + 1


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def caret_lines(query: str, position: int) -> tuple[str, ...]:
    """psql's ``LINE n: ...`` and caret for the 1-based character ``position`` in
    ``query``; nothing when the position is outside it (libpq: reportErrorPosition)."""
    loc = position - 1
    if loc < 0 or loc > len(query):
        return ()
    line, begin, end, cols = _locate_line(query, loc)
    text, begin, cut_left, cut_right = _cut(query, cols, loc, begin, end)
    head = f"LINE {line}: " + ("..." if cut_left else "")
    shown = head + text + ("..." if cut_right else "")
    return shown, " " * (len(head) + cols[loc] - cols[begin]) + "^"


def _locate_line(query: str, loc: int) -> tuple[int, int, int, list[int]]:
    """The 1-based number of the line holding ``loc``, its first and end character, and
    the screen column of every character up to its end (one past it included)."""
    cols: list[int] = []
    col, line, begin = 0, 1, 0
    for n, ch in enumerate(query):
        cols.append(col)
        if ch in "\r\n":
            if n >= loc:
                return line, begin, n, cols
            if ch == "\r" or n == 0 or query[n - 1] != "\r":  # \r\n is one line end
                line += 1
            begin = n + 1
        col += _width(ch)
    cols.append(col)
    return line, begin, len(query), cols


def _cut(
    query: str, cols: list[int], loc: int, begin: int, end: int
) -> tuple[str, int, bool, bool]:
    """The line cut to at most 60 columns around ``loc`` as libpq cuts it, tabs shown
    as one space each (as libpq does)."""
    cut_left = cut_right = False
    if cols[end] - cols[begin] > _DISPLAY_SIZE:
        if cols[begin] + _DISPLAY_SIZE >= cols[loc] + _MIN_RIGHT_CUT:
            while cols[end] - cols[begin] > _DISPLAY_SIZE:
                end -= 1
            cut_right = True
        else:
            while cols[loc] + _MIN_RIGHT_CUT < cols[end]:
                end -= 1
                cut_right = True
            while cols[end] - cols[begin] > _DISPLAY_SIZE:
                begin += 1
                cut_left = True
    return query[begin:end].replace("\t", " "), begin, cut_left, cut_right


def _width(ch: str) -> int:
    # libpq counts a control or combining character as one column, like any other
    # narrow one; wide and fullwidth characters take two.
    if ch.isascii():
        return 1
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _number(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return str(value) if value else None
