from __future__ import annotations

import pytest

from prodsql.policy import MetaCommand, Statement, needs_more_input, split


def texts(sql: str) -> list[str]:
    return [p.text for p in split(sql) if isinstance(p, Statement)]


def test_statements_end_at_top_level_semicolons() -> None:
    assert split("select 1; select 2;") == [
        Statement("select 1", 1, terminated=True),
        Statement("select 2", 1, terminated=True),
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select 'a;b'; select 2", ["select 'a;b'", "select 2"]),
        ("select 'it''s;'; select 2", ["select 'it''s;'", "select 2"]),
        ('select ";" from t; x', ['select ";" from t', "x"]),
        ("select E'\\';' ; select 2", ["select E'\\';'", "select 2"]),
        ("select E'\\\\'; drop table t", ["select E'\\\\'", "drop table t"]),
        ("select $$;$$; select 2", ["select $$;$$", "select 2"]),
        ("select $b$ $$ ; $$ $b$; x", ["select $b$ $$ ; $$ $b$", "x"]),
        ("DO $body$ BEGIN x; y; END $body$; z", ["DO $body$ BEGIN x; y; END $body$", "z"]),
        ("select /* ; */ 1; x", ["select /* ; */ 1", "x"]),
        ("select /* a /* ; */ ; */ 1; x", ["select /* a /* ; */ ; */ 1", "x"]),
        ("select 1 -- ; not the end\n; x", ["select 1 -- ; not the end", "x"]),
        ("select 1 -- trailing", ["select 1 -- trailing"]),
        ("select 1 -- trailing\n", ["select 1 -- trailing"]),
        ('select U&"a;" from t; x', ['select U&"a;" from t', "x"]),
        ("select (1; 2); x", ["select (1; 2)", "x"]),
        ("select :'var', :foo; x", ["select :'var', :foo", "x"]),
    ],
)
def test_the_lexer_decides_where_statements_end(sql: str, expected: list[str]) -> None:
    assert texts(sql) == expected


def test_create_rule_with_several_actions_is_one_statement() -> None:
    sql = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); DELETE FROM b); x;"
    assert len(texts(sql)) == 2


def test_begin_atomic_function_body_is_one_statement() -> None:
    sql = (
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC\n"
        "  SELECT 1;\n  SELECT CASE WHEN true THEN 2 END;\nEND;\nselect 3;"
    )
    assert texts(sql)[1:] == ["select 3"]
    assert texts(sql)[0].endswith("END")
    # an ordinary statement whose words happen to include BEGIN is not affected
    assert texts("create table begin_x (begin int); select 1;") == [
        "create table begin_x (begin int)",
        "select 1",
    ]


def test_empty_statements_and_comment_only_text_are_dropped() -> None:
    assert split(";;  ; -- nothing\n/* nothing */ ;") == []
    assert split("") == []
    assert split("   \n\t") == []


def test_leading_comments_are_not_part_of_the_statement() -> None:
    [stmt] = split("-- why\n/* more */\nselect 1 /* inside */;")
    assert stmt == Statement("select 1 /* inside */", 3, terminated=True)


def test_line_numbers() -> None:
    pieces = split("select 1;\n\n  select\n 2;\n\\x\nselect 'a\nb';")
    assert [p.line for p in pieces] == [1, 3, 5, 6]


def test_unterminated_input_is_reported() -> None:
    [stmt] = split("select 'abc")
    assert stmt == Statement("select 'abc", 1, False, "unterminated quoted string")
    assert split("select 1; /* open")[-1].lex_error == "unterminated /* comment"  # type: ignore[union-attr]
    assert split("select $x$ open")[-1].lex_error == "unterminated dollar-quoted string"  # type: ignore[union-attr]
    assert split('select "open')[-1].lex_error == "unterminated quoted identifier"  # type: ignore[union-attr]


def test_a_lexical_error_inside_a_statement_does_not_swallow_the_rest() -> None:
    pieces = split("select 123abc; select 2;\nselect 'é', E'\\u12'; select 3;")
    assert [p.text for p in pieces if isinstance(p, Statement)] == [
        "select 123abc",
        "select 2",
        "select 'é', E'\\u12'",
        "select 3",
    ]
    assert [p.lex_error for p in pieces if isinstance(p, Statement)] == [
        "trailing junk after numeric literal",
        None,
        "invalid Unicode escape",
        None,
    ]


def test_non_ascii_text_keeps_offsets_right() -> None:
    assert texts("select 'é;ü'; select 'ß'") == ["select 'é;ü'", "select 'ß'"]
    assert split("select 'é' , 'abc")[-1].text == "select 'é' , 'abc"  # type: ignore[union-attr]


# -- meta-commands ---------------------------------------------------------------------


def test_meta_commands_run_to_the_end_of_the_line() -> None:
    assert split("\\d+ public.orders\n\\x\nselect 1;") == [
        MetaCommand("d+", "public.orders", 1),
        MetaCommand("x", "", 2),
        Statement("select 1", 3, terminated=True),
    ]


def test_meta_command_text_may_hold_unbalanced_quotes() -> None:
    pieces = split("\\echo don't do this\nselect 'ok';\n\\echo \"odd\nselect 2;")
    assert pieces == [
        MetaCommand("echo", "don't do this", 1),
        Statement("select 'ok'", 2, terminated=True),
        MetaCommand("echo", '"odd', 3),
        Statement("select 2", 4, terminated=True),
    ]


def test_backslash_inside_quotes_is_not_a_meta_command() -> None:
    assert texts("select '\\d', $$\\x$$, E'\\\\'; x") == ["select '\\d', $$\\x$$, E'\\\\'", "x"]


@pytest.mark.parametrize("name", ["g", "gx", "gset", "gexec", "gdesc", "watch"])
def test_g_family_ends_the_statement(name: str) -> None:
    assert split(f"select 1\n\\{name} arg\nselect 2;") == [
        Statement("select 1", 1, terminated=True),
        MetaCommand(name, "arg", 2),
        Statement("select 2", 3, terminated=True),
    ]


def test_g_on_the_same_line() -> None:
    assert split("select 1 \\gx") == [
        Statement("select 1", 1, terminated=True),
        MetaCommand("gx", "", 1),
    ]


def test_other_meta_commands_leave_the_buffer_open() -> None:
    assert split("select\n\\x\n1;") == [
        MetaCommand("x", "", 2),
        Statement("select\n1", 1, terminated=True),
    ]


# -- COPY data -------------------------------------------------------------------------


def test_copy_from_stdin_takes_its_data() -> None:
    sql = "COPY t (a, b) FROM STDIN;\n1\t'x\n2\t;\\N\n\\.\nselect 1;\n"
    assert split(sql) == [
        Statement("COPY t (a, b) FROM STDIN", 1, True, copy_data="1\t'x\n2\t;\\N\n"),
        Statement("select 1", 5, terminated=True),
    ]


def test_copy_without_end_marker_takes_the_rest() -> None:
    [stmt] = split("copy t from stdin;\n1\n2\n")
    assert stmt.copy_data == "1\n2\n"  # type: ignore[union-attr]


def test_copy_to_stdout_has_no_data() -> None:
    pieces = split("copy t to stdout;\nselect 1;")
    assert [p.copy_data for p in pieces if isinstance(p, Statement)] == [None, None]


def test_copy_with_rest_of_line_and_g() -> None:
    pieces = split("copy t from stdin; select 0;\n1\n\\.\ncopy u from stdin \\g\n2\n\\.\nx;")
    assert [(p.text, p.copy_data) for p in pieces if isinstance(p, Statement)] == [
        ("copy t from stdin", "1\n"),
        ("select 0", None),
        ("copy u from stdin", "2\n"),
        ("x", None),
    ]


# -- needs_more_input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "more"),
    [
        ("", False),
        ("   \n", False),
        ("-- comment", False),
        ("/* comment */", False),
        ("select 1;", False),
        ("select 1", True),
        ("select 1; select", True),
        ("select 'abc;", True),
        ("select $$ abc;", True),
        ("/* open ;", True),
        ("select (1;", True),
        ("select 1 -- ;", True),
        ("select 1 \\g", False),
        ("\\d t", False),
        ("select 1\n\\x", True),
        ("DO $$ BEGIN", True),
        ("CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1;", True),
        ("CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;", False),
    ],
)
def test_needs_more_input(text: str, more: bool) -> None:
    assert needs_more_input(text) is more


def test_backslash_semicolon_joins_statements_like_psql() -> None:
    pieces = split("BEGIN\\; DELETE FROM t \\; COMMIT;  -- one round trip\nselect 1;")
    assert pieces == [
        Statement("BEGIN; DELETE FROM t; COMMIT", 1, terminated=True),
        Statement("select 1", 2, terminated=True),
    ]


def test_backslash_copy_from_stdin_consumes_its_data() -> None:
    pieces = split("\\copy t from stdin\n'New York'\tx; drop table t\n\\.\nselect 2;")
    assert pieces == [
        MetaCommand("copy", "t from stdin", 1),
        Statement("select 2", 4, terminated=True),
    ]


def test_backslash_r_discards_the_buffer() -> None:
    assert split("** not sql\n\\r\nselect 1;") == [
        MetaCommand("r", "", 2),
        Statement("select 1", 3, terminated=True),
    ]


def test_copy_from_stdout_takes_inline_data_too() -> None:
    [stmt] = split("copy t from stdout;\n1\tbaz\n\\.\n")
    assert stmt.copy_data == "1\tbaz\n"  # type: ignore[union-attr]
