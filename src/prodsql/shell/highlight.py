"""Syntax highlighting with PostgreSQL's own scanner (pglast), the lexer the splitter uses:
what is coloured as a string or a comment is exactly what the server will take as one."""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer

from prodsql.policy.split import _scan_region

HIGHLIGHT_STYLE = {
    "sql.keyword": "ansiblue bold",
    "sql.string": "ansigreen",
    "sql.number": "ansicyan",
    "sql.comment": "ansibrightblack italic",
    "sql.meta": "ansimagenta",
}
_NAMES = {
    "SCONST": "sql.string",
    "USCONST": "sql.string",
    "BCONST": "sql.string",
    "XCONST": "sql.string",
    "ICONST": "sql.number",
    "FCONST": "sql.number",
    "SQL_COMMENT": "sql.comment",
    "C_COMMENT": "sql.comment",
    "ASCII_92": "sql.meta",
}


def styles(text: str) -> list[str]:
    """One style class per character of ``text``."""
    out = [""] * len(text)
    toks, fault = _scan_region(text, 0, len(text))
    for tok in toks:
        style = _NAMES.get(tok.name) or ("sql.keyword" if tok.kind != "NO_KEYWORD" else "")
        if style:
            out[tok.start : tok.end] = [style] * (tok.end - tok.start)
    if fault is not None:  # an unterminated literal or comment: the rest is inside it
        end = len(text)
        out[fault.start : end] = ["sql.string"] * (end - fault.start)
    return out


class SqlLexer(Lexer):
    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        text = document.text
        try:
            per_char = styles(text)
        except Exception:  # highlighting must never break typing
            per_char = [""] * len(text)
        lines: list[StyleAndTextTuples] = []
        pos = 0
        for line in document.lines:
            fragments: StyleAndTextTuples = [
                (f"class:{per_char[pos + i]}" if per_char[pos + i] else "", ch)
                for i, ch in enumerate(line)
            ]
            lines.append(fragments)
            pos += len(line) + 1

        def get_line(n: int) -> StyleAndTextTuples:
            return lines[n] if n < len(lines) else []

        return get_line
