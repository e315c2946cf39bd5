"""Split input into SQL statements and psql meta-commands, the way psql does.

Lexing is PostgreSQL's own (pglast's scanner), so quotes, ``E''`` strings with
backslashes, dollar quotes, nested comments and ``U&`` identifiers end where the server
says they end. On top of the tokens this module applies psql's rules: a top-level ``;``
ends a statement (not inside parentheses, nor inside the ``BEGIN ... END`` of a
``CREATE FUNCTION`` body), a backslash outside quotes starts a meta-command that runs to
the end of its line, and ``COPY ... FROM STDIN`` takes the following lines up to ``\\.``.

The scanner lexes a whole region at once; a meta-command line is not SQL, so after one the
tokens that follow are reused only when no token crosses the end of that line (the common
case), and the text is rescanned from the next line otherwise.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from pglast import parser

__all__ = ["MetaCommand", "Piece", "Statement", "needs_more_input", "split"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement as typed, without its terminating ``;``."""

    text: str
    line: int
    terminated: bool
    lex_error: str | None = None
    copy_data: str | None = None


@dataclass(frozen=True, slots=True)
class MetaCommand:
    """A psql meta-command: ``\\name args`` up to the end of its line."""

    name: str
    args: str
    line: int


Piece = Statement | MetaCommand

# Meta-commands that send the query buffer, as psql's \g does.
_SENDING_META = frozenset(
    {"g", "gx", "gset", "gexec", "gdesc", "watch", "crosstabview", "parse", "sendpipeline"}
)
_NEAR = re.compile(r' at or near "(.*)"\Z', re.DOTALL)
_COPY_FROM_STDIN = re.compile(r"\bfrom\s+stdin\b", re.IGNORECASE)
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
# The words psql watches to notice a CREATE [OR REPLACE] FUNCTION|PROCEDURE header.
_HEADER_WORDS = frozenset({"create", "function", "procedure", "or", "replace"})
_HEADERS = ("cf", "cp", "corf", "corp")


class _Tok(NamedTuple):  # a NamedTuple: half a million of these per corpus run
    start: int
    end: int  # exclusive
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class _LexFault:
    start: int
    end: int  # exclusive
    message: str


@dataclass
class _Buffer:
    """The statement being accumulated, with psql's nesting counters."""

    segments: list[tuple[int, int]] = field(default_factory=list)
    glue: list[str] = field(default_factory=list)  # what joins each segment to the previous
    next_glue: str = ""
    open_start: int | None = None
    last_end: int = 0
    paren_depth: int = 0
    begin_depth: int = 0
    words: str = ""
    word_count: int = 0
    first: str | None = None
    prev: str | None = None
    from_stdin: bool = False
    lex_error: str | None = None

    @property
    def empty(self) -> bool:
        return not self.segments and self.open_start is None


def split(text: str) -> list[Piece]:
    """Split ``text`` into statements and meta-commands, in input order."""
    return _Splitter(text).run()


def needs_more_input(text: str) -> bool:
    """True while ``text`` ends inside a statement that no ``;`` or ``\\g`` has ended yet."""
    pieces = split(text)
    return bool(pieces) and isinstance(pieces[-1], Statement) and not pieces[-1].terminated


class _Splitter:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces: list[Piece] = []
        self.buf = _Buffer()
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.copy_resume: int | None = None

    def run(self) -> list[Piece]:
        pos, limit = 0, len(self.text)
        while True:
            toks, fault = _scan_region(self.text, pos, limit)
            nxt = self._walk(toks, fault, limit)
            if nxt is not None:
                pos, limit = nxt
                continue
            if self.copy_resume is not None and self.copy_resume < len(self.text):
                pos, limit, self.copy_resume = self.copy_resume, len(self.text), None
                continue
            break
        self._flush(terminated=False)
        return self.pieces

    def line_of(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def _line_end(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end

    def _walk(
        self, toks: list[_Tok], fault: _LexFault | None, limit: int
    ) -> tuple[int, int] | None:
        """Feed tokens to the buffer; return where to rescan from, or None when done."""
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok.name == "ASCII_92" and _is_backslash_semicolon(toks, i):
                # psql's \; puts a ';' in the buffer without ending the statement
                self._close_segment(glue="")
                self._add(toks[i + 1])
                i += 2
                continue
            if tok.name == "ASCII_92":
                resume = self._meta(tok.start, limit)
                j = i + 1
                while j < len(toks) and toks[j].start < resume:
                    j += 1
                crosses = j > i + 1 and toks[j - 1].end >= resume
                if self.copy_resume is not None:
                    return None
                if crosses or (fault is not None and fault.start < resume):
                    return (resume, limit) if resume < limit else None
                i = j
                continue
            if tok.name == "ASCII_59" and self._ends_statement():
                if self._terminate():
                    return (tok.end, self._data_start(tok.start))
            else:
                self._add(tok)
            i += 1
        if fault is None:
            return None
        self._add(_Tok(fault.start, fault.end, "LEX_ERROR", "NO_KEYWORD"))
        self.buf.lex_error = self.buf.lex_error or fault.message
        return (fault.end, limit) if fault.end < limit else None

    def _ends_statement(self) -> bool:
        return self.buf.paren_depth == 0 and self.buf.begin_depth == 0

    def _add(self, tok: _Tok) -> None:
        buf = self.buf
        if tok.name in _COMMENTS:
            if buf.open_start is not None or buf.segments:
                self._extend(tok)
            return
        self._extend(tok)
        self._track(tok)

    def _extend(self, tok: _Tok) -> None:
        if self.buf.open_start is None:
            self.buf.open_start = tok.start
        self.buf.last_end = tok.end

    def _track(self, tok: _Tok) -> None:
        """psql's counters: parentheses, and BEGIN/CASE ... END inside a function header."""
        buf = self.buf
        if tok.name == "ASCII_40":
            buf.paren_depth += 1
        elif tok.name == "ASCII_41":
            buf.paren_depth = max(0, buf.paren_depth - 1)
        if buf.first is None:
            buf.first = tok.name
        # psql also takes COPY ... FROM STDOUT as inline data
        client = tok.name in ("STDIN", "STDOUT")
        buf.from_stdin = buf.from_stdin or (buf.prev == "FROM" and client)
        buf.prev = tok.name
        if tok.kind == "NO_KEYWORD" and (tok.name != "IDENT" or self.text[tok.start] == '"'):
            return
        if buf.word_count >= 4 and not buf.words.startswith(_HEADERS):
            return  # not a function header: no need to look at the word
        word = self.text[tok.start : tok.end].lower()
        if buf.word_count < 4:
            buf.words += word[0] if word in _HEADER_WORDS else "_"
        buf.word_count += 1
        if buf.paren_depth == 0 and buf.words.startswith(_HEADERS):
            self._track_begin(word)

    def _track_begin(self, word: str) -> None:
        buf = self.buf
        if word == "begin" or (word == "case" and buf.begin_depth >= 1):
            buf.begin_depth += 1
        elif word == "end" and buf.begin_depth > 0:
            buf.begin_depth -= 1

    def _meta(self, start: int, limit: int) -> int:
        """Emit the meta-command starting at ``start``; return where SQL resumes."""
        end = min(self._line_end(start), limit)
        body = self.text[start + 1 : end]
        match = re.match(r"[^\s\\]*", body)
        name = match.group(0) if match else ""
        if name in _SENDING_META:
            copy = self._terminate()
            self.pieces.append(MetaCommand(name, body[len(name) :].strip(), self.line_of(start)))
            if copy:
                self.copy_resume = self._skip_copy_data(self._line_end(start))
        else:
            self._close_segment()
            args = body[len(name) :].strip()
            self.pieces.append(MetaCommand(name, args, self.line_of(start)))
            if name in ("r", "reset"):
                self.buf = _Buffer()  # psql's \r empties the query buffer: nothing is sent
            if name == "copy" and _COPY_FROM_STDIN.search(args):
                # psql's \copy ... from stdin reads its data from the script, as COPY does
                self.copy_resume = self._skip_data(self._line_end(start))
        return end + 1 if end < len(self.text) else end

    def _close_segment(self, glue: str = "\n") -> None:
        buf = self.buf
        if buf.open_start is not None:
            buf.segments.append((buf.open_start, buf.last_end))
            buf.glue.append(buf.next_glue)
            buf.next_glue = glue
            buf.open_start = None

    def _terminate(self) -> bool:
        """End the buffer; True when it was a COPY ... FROM STDIN."""
        is_copy = self.buf.first == "COPY" and self.buf.from_stdin
        return self._flush(terminated=True) and is_copy

    def _flush(self, *, terminated: bool) -> bool:
        self._close_segment()
        buf, self.buf = self.buf, _Buffer()
        if not buf.segments:
            return False
        parts = (g + self.text[s:e] for g, (s, e) in zip(buf.glue, buf.segments, strict=True))
        body = "".join(parts).strip()
        error = _short_error(buf.lex_error)
        self.pieces.append(Statement(body, self.line_of(buf.segments[0][0]), terminated, error))
        return True

    def _data_start(self, semicolon: int) -> int:
        """Where the COPY data begins (the next line); arranges to resume after ``\\.``."""
        line_end = self._line_end(semicolon)
        self.copy_resume = self._skip_copy_data(line_end)
        return line_end

    def _skip_copy_data(self, line_end: int) -> int:
        """Attach the data lines after ``line_end`` to the last statement; return the end."""
        start = min(line_end + 1, len(self.text))
        pos = start
        while pos < len(self.text):
            end = self._line_end(pos)
            if self.text[pos:end].rstrip("\r") == "\\.":
                self._attach_copy(self.text[start:pos])
                return end + 1
            pos = end + 1
        self._attach_copy(self.text[start:])
        return len(self.text)

    def _skip_data(self, line_end: int) -> int:
        """Where the input continues after the data lines that follow ``line_end``."""
        pos = min(line_end + 1, len(self.text))
        while pos < len(self.text):
            end = self._line_end(pos)
            if self.text[pos:end].rstrip("\r") == "\\.":
                return end + 1
            pos = end + 1
        return len(self.text)

    def _attach_copy(self, data: str) -> None:
        last = self.pieces[-1] if self.pieces else None
        index = -1 if isinstance(last, Statement) else -2
        stmt = self.pieces[index]
        assert isinstance(stmt, Statement)
        self.pieces[index] = Statement(
            stmt.text, stmt.line, stmt.terminated, stmt.lex_error, copy_data=data
        )


def _is_backslash_semicolon(toks: list[_Tok], i: int) -> bool:
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    return nxt is not None and nxt.name == "ASCII_59" and nxt.start == toks[i].end


def _short_error(message: str | None) -> str | None:
    if message is None:
        return None
    return _NEAR.sub("", message).strip() or message


def _scan_region(text: str, pos: int, limit: int) -> tuple[list[_Tok], _LexFault | None]:
    """Tokens of ``text[pos:limit]`` (absolute offsets) and the lexer fault that stopped them."""
    region = text[pos:limit]
    try:
        return _shift(parser.scan(region), pos), None
    except parser.ParseError as exc:
        start, length = _locate_fault(region, exc)
        message = str(exc.args[0]) if exc.args else "lexical error"
    try:
        toks = parser.scan(region[:start])
    except parser.ParseError:
        toks, start, length = [], 0, len(region)
    fault = _LexFault(pos + start, pos + start + max(length, 1), message)
    return _shift(toks, pos), fault


def _shift(toks: list[parser.Token], offset: int) -> list[_Tok]:
    return [_Tok(t.start + offset, t.end + 1 + offset, t.name, t.kind) for t in toks]


def _locate_fault(region: str, exc: parser.ParseError) -> tuple[int, int]:
    """Where the token the scanner rejected starts, and how long it is.

    The exception's index is unreliable after non-ASCII text, so the quoted "near" text
    (the rest of the input for an unterminated literal) is used to find it.
    """
    message = str(exc.args[0]) if exc.args else ""
    near = _NEAR.search(message)
    hint = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
    if "Unicode" in message:  # a bad escape in an E'' string: "near" is not the token
        return _bad_escape_string(region, hint)
    if near is not None:
        found = _find_near(region, near.group(1))
        if found is not None:
            return found, len(near.group(1))
        return 0, len(region)
    return _bad_escape_string(region, hint)


def _find_near(region: str, near: str) -> int | None:
    if near and region.endswith(near):
        return len(region) - len(near)
    at = region.find(near) if near else -1
    while at >= 0:
        if _clean_boundary(region, at):
            return at
        at = region.find(near, at + 1)
    return None


def _clean_boundary(region: str, at: int) -> bool:
    """Whether lexing stops cleanly at ``at`` (not inside a literal or a comment)."""
    try:
        toks = parser.scan(region[:at])
    except parser.ParseError:
        return False
    return not toks or toks[-1].name not in _COMMENTS or toks[-1].end < at - 1


def _bad_escape_string(region: str, hint: int | None) -> tuple[int, int]:
    """Locate an ``E''`` literal with an invalid escape, the one fault without "near" text."""
    if hint is not None and 0 < hint <= len(region):
        try:
            parser.scan(region[:hint])
        except parser.ParseError as inner:
            near = _NEAR.search(str(inner.args[0]) if inner.args else "")
            if near is not None and region[:hint].endswith(near.group(1)):
                start = hint - len(near.group(1))
                return start, _escape_string_length(region, start)
    # The hint is off after non-ASCII text: try each E-string that starts a token.
    for match in re.finditer(r"(?<![\w$])[eE]'", region):
        start = match.start()
        length = _escape_string_length(region, start)
        if _clean_boundary(region, start) and not _scans(region[start : start + length]):
            return start, length
    return 0, len(region)


def _scans(text: str) -> bool:
    try:
        parser.scan(text)
    except parser.ParseError:
        return False
    return True


def _escape_string_length(region: str, start: int) -> int:
    """Length of the E-string at ``start``: backslash escapes, ``''`` doubles."""
    i = region.find("'", start) + 1
    while 0 < i < len(region):
        ch = region[i]
        if ch == "\\" or region[i : i + 2] == "''":
            i += 2
        elif ch == "'":
            return i + 1 - start
        else:
            i += 1
    return len(region) - start
