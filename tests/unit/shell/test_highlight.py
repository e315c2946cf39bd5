"""Highlighting with PostgreSQL's scanner: what is coloured as a string is one."""

from __future__ import annotations

from prompt_toolkit.document import Document

from prodsql.shell.highlight import SqlLexer, styles


def test_highlighting_follows_postgresql_lexing() -> None:
    text = "SELECT 'a;b', 42 -- why\n"
    per_char = styles(text)
    assert set(per_char[0:6]) == {"sql.keyword"}
    assert set(per_char[7:12]) == {"sql.string"}  # the ';' inside the quote is a string
    assert set(per_char[14:16]) == {"sql.number"}
    assert set(per_char[17:23]) == {"sql.comment"}
    unterminated = styles("SELECT $$ body; SELECT")
    assert unterminated[-1] == "sql.string"  # still inside the dollar quote


def test_the_lexer_colours_each_line() -> None:
    line = SqlLexer().lex_document(Document("SELECT 1\nFROM t"))(1)
    assert ("class:sql.keyword", "F") in line
