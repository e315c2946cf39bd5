"""Where a server error points: psql's ``LINE n:`` and caret, off the tag, off secrets.

The expected lines below were printed by psql 15 for the same text and position."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from prodsql.errors import ServerDiagnostics, StatementError
from prodsql.policy import make_tag, tag_statement
from prodsql.policy.redact import Redaction, redact
from prodsql.session.errpos import ErrorPlace, caret_lines, locate, shown_position, untag

A70 = "a" * 70


def at(text: str, word: str = "nosuch") -> int:
    return text.index(word) + 1


def diag(**fields: object) -> SimpleNamespace:
    names = ("statement_position", "internal_position", "internal_query", "context")
    return SimpleNamespace(**{name: fields.get(name) for name in names})


def sent(text: str, seq: int = 7) -> str:
    return tag_statement(text, make_tag("3f9c01ab", seq))


# -- caret_lines: libpq's reportErrorPosition ------------------------------------------


def test_one_line() -> None:
    assert caret_lines("SELECT nosuchcol FROM pg_class", 8) == (
        "LINE 1: SELECT nosuchcol FROM pg_class",
        "               ^",
    )


def test_syntax_error_at_the_first_character() -> None:
    assert caret_lines("selec 1", 1) == ("LINE 1: selec 1", "        ^")


def test_end_of_input_puts_the_caret_after_the_text() -> None:
    assert caret_lines("SELECT (", 9) == ("LINE 1: SELECT (", "                ^")


@pytest.mark.parametrize("position", [0, -3, 10])
def test_a_position_outside_the_text_shows_nothing(position: int) -> None:
    assert caret_lines("SELECT (", position) == ()


def test_multi_line_shows_only_the_line_of_the_position() -> None:
    text = "SELECT 1,\n  2,\n  nosuch FROM pg_class\nWHERE true"
    assert caret_lines(text, at(text)) == ("LINE 3:   nosuch FROM pg_class", "          ^")


def test_crlf_is_one_line_end_and_a_lone_cr_is_one_too() -> None:
    assert caret_lines("SELECT 1,\r\n nosuch", 13) == ("LINE 2:  nosuch", "         ^")
    assert caret_lines("SELECT 1,\r2,\r\n3,\n nosuch", 20)[0] == "LINE 4:  nosuch"


def test_a_position_on_a_line_end_shows_the_line_it_ends() -> None:
    assert caret_lines("SELECT 1,\nx", 10) == ("LINE 1: SELECT 1,", "                 ^")


def test_tabs_are_shown_as_one_space_each() -> None:
    text = "SELECT 1,\n\t'x',\tnosuch\n  FROM pg_class"
    assert caret_lines(text, at(text)) == ("LINE 2:  'x', nosuch", "              ^")


def test_wide_characters_take_two_columns() -> None:
    text = "SELECT 'héllo', '日本語', nosuch;"
    assert caret_lines(text, at(text)) == (
        "LINE 1: SELECT 'héllo', '日本語', nosuch;",
        "                                  ^",
    )


def test_a_long_line_is_cut_on_the_right_when_the_position_is_near_its_start() -> None:
    text = f"SELECT nosuch, '{A70}'"
    assert caret_lines(text, at(text)) == (
        "LINE 1: SELECT nosuch, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...",
        "               ^",
    )


def test_a_long_line_is_cut_on_the_left_when_the_position_is_near_its_end() -> None:
    text = f"SELECT '{A70}', nosuch"
    assert caret_lines(text, at(text)) == (
        "LINE 1: ...aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', nosuch",
        "                                                                 ^",
    )


def test_a_long_line_is_cut_on_both_sides_around_the_position() -> None:
    text = f"SELECT '{A70}', nosuch, '{A70}'"
    assert caret_lines(text, at(text)) == (
        "LINE 1: ...aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', nosuch, 'a...",
        "                                                             ^",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # one column either side of the 60-column limit, as psql cuts them
        (
            f"SELECT '{'b' * 45}', nosuch",
            (
                "LINE 1: ...LECT 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', nosuch",
                "                                                                 ^",
            ),
        ),
        (
            f"SELECT '{'b' * 44}', nosuch, 1",
            (
                "LINE 1: ...CT 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', nosuch, 1",
                "                                                              ^",
            ),
        ),
        (
            f"SELECT '{'b' * 43}', nosuch",
            (
                f"LINE 1: SELECT '{'b' * 43}', nosuch",
                "                                                              ^",
            ),
        ),
    ],
)
def test_the_cut_at_the_limit(text: str, expected: tuple[str, str]) -> None:
    assert caret_lines(text, at(text)) == expected


def test_a_long_line_of_wide_characters_is_cut_by_columns() -> None:
    wide = "日本語" * 12
    text = f"SELECT '{wide}', nosuch, '{'日本語' * 8}'"
    assert caret_lines(text, at(text)) == (
        "LINE 1: ...日本語日本語日本語日本語日本語日本語日本語日本語', nosuch, '...",
        "                                                              ^",
    )


# -- the tag and redaction -----------------------------------------------------------


def test_untag() -> None:
    prefix, text = untag(sent("SELECT 1"))
    assert text == "SELECT 1"
    assert prefix == len("/* prodsql:3f9c01ab:seq=7 */ ")
    assert untag("SELECT 1") == (0, "SELECT 1")


def test_shown_position_without_redaction_is_the_same() -> None:
    assert shown_position("SELECT x", "SELECT x", 8) == 8


def test_shown_position_after_a_redacted_literal_moves_with_it() -> None:
    text = "ALTER ROLE dev PASSWORD 'hunter2' NOSUCHOPT"
    hidden = redact(text)
    assert hidden.text == "ALTER ROLE dev PASSWORD '<REDACTED>' NOSUCHOPT"
    assert shown_position(text, hidden.text, at(text, "NOSUCHOPT")) == at(hidden.text, "NOSUCH")
    assert shown_position(text, hidden.text, 1) == 1
    assert shown_position(text, hidden.text, len(text) + 1) == len(hidden.text) + 1


def test_shown_position_inside_a_secret_is_the_start_of_its_replacement() -> None:
    text = "SELECT 1 WHERE password = 'hunter2' AND x = 'hunter2'"
    hidden = redact(text)
    inside = at(text, "ter2")
    assert shown_position(text, hidden.text, inside) == at(hidden.text, "<REDACTED>")
    assert shown_position(text, hidden.text, at(text, "AND")) == at(hidden.text, "AND")


def test_locate_scrubs_a_secret_the_redaction_left_elsewhere_in_the_text() -> None:
    text = "SELECT 1 WHERE password = 'hunter2' AND x = 'hunter2' AND nosuch"
    tagged = sent(text)
    hidden = redact(text)
    place = locate(diag(statement_position=str(at(tagged))), tagged, hidden)
    assert "hunter2" not in "\n".join(place.lines)
    assert place.lines[1].index("^") == place.lines[0].index("nosuch")
    assert place.position == at(hidden.text)  # in the text the trail records


def test_locate_takes_the_position_off_the_tag() -> None:
    text = "SELECT 2,\n  nosuchcol FROM pg_class"
    tagged = sent(text)
    place = locate(diag(statement_position=str(at(tagged))), tagged, Redaction(text))
    assert place.position == at(text)
    assert place.lines == ("LINE 2:   nosuchcol FROM pg_class", "          ^")
    assert place.query is None
    assert place.context is None


def test_locate_never_points_into_the_tag() -> None:
    tagged = sent("SELECT 1")
    assert locate(diag(statement_position="3"), tagged, Redaction("SELECT 1")) == ErrorPlace()


def test_locate_without_a_position() -> None:
    assert locate(None, sent("SELECT 1/0"), Redaction("SELECT 1/0")) == ErrorPlace()


def test_locate_shows_the_redacted_text() -> None:
    text = "ALTER ROLE dev PASSWORD 'hunter2' NOSUCHOPT"
    tagged = sent(text)
    place = locate(diag(statement_position=str(at(tagged, "NOSUCH"))), tagged, redact(text))
    assert place.lines == (
        "LINE 1: ALTER ROLE dev PASSWORD '<REDACTED>' NOSUCHOPT",
        "                                             ^",
    )
    assert place.position == at("ALTER ROLE dev PASSWORD '<REDACTED>' NOSUCHOPT", "NOSUCH")


def test_locate_an_internal_query_as_psql_does() -> None:
    text = "DO $$BEGIN PERFORM nosuch; END$$"
    found = diag(
        internal_position="8",
        internal_query="SELECT nosuch",
        context="PL/pgSQL function inline_code_block line 1 at PERFORM",
    )
    place = locate(found, sent(text), Redaction(text))
    assert place == ErrorPlace(
        position=None,
        lines=("LINE 1: SELECT nosuch", "               ^"),
        query="SELECT nosuch",
        context="PL/pgSQL function inline_code_block line 1 at PERFORM",
    )


def test_the_statement_position_wins_over_the_internal_one() -> None:
    text = "SELECT f(nosuch)"
    tagged = sent(text)
    found = diag(statement_position=str(at(tagged)), internal_position="1", internal_query="x")
    place = locate(found, tagged, Redaction(text))
    assert place.lines == ("LINE 1: SELECT f(nosuch)", "                 ^")
    assert place.query == "x"


def test_an_internal_query_and_context_lose_their_secrets() -> None:
    text = "DO $$BEGIN EXECUTE 'ALTER ROLE dev PASSWORD ''hunter2'' NOSUCH'; END$$"
    internal = "ALTER ROLE dev PASSWORD 'hunter2' NOSUCH"
    found = diag(
        internal_position=str(at(internal, "NOSUCH")),
        internal_query=internal,
        context=f'SQL statement "{internal}"\nPL/pgSQL function inline_code_block line 1',
    )
    place = locate(found, sent(text), redact(text))
    shown = "\n".join([*place.lines, place.query or "", place.context or ""])
    assert "hunter2" not in shown
    assert place.lines == (
        "LINE 1: ALTER ROLE dev PASSWORD '<REDACTED>' NOSUCH",
        "                                             ^",
    )


# -- what the user reads ---------------------------------------------------------------


def test_diagnostics_in_psqls_order() -> None:
    error = StatementError(
        'column "nosuch" does not exist',
        sqlstate="42703",
        server=ServerDiagnostics(
            position=("LINE 1: SELECT nosuch", "               ^"),
            detail="d",
            hint="h",
            query="SELECT nosuch",
            context="PL/pgSQL function inline_code_block line 1 at PERFORM",
        ),
    )
    assert error.diagnostics().splitlines() == [
        'prodsql: ERROR (SQLSTATE 42703): column "nosuch" does not exist',
        "LINE 1: SELECT nosuch",
        "               ^",
        "DETAIL:  d",
        "HINT:  h",
        "QUERY:  SELECT nosuch",
        "CONTEXT:  PL/pgSQL function inline_code_block line 1 at PERFORM",
    ]


def test_prodsqls_own_hint_comes_last() -> None:
    error = StatementError("server closed the connection", status="connection_lost", hint="check")
    assert error.diagnostics() == "prodsql: ERROR: server closed the connection\nhint: check"
