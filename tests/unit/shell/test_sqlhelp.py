"""``\\h``: offline syntax help for every SQL command of PostgreSQL 15."""

from __future__ import annotations

import re
from itertools import takewhile
from typing import Any

import pytest

from prodsql.shell import sqlhelp
from unit.shell.test_shell_loop import pipe, run_shell

__all__ = ["pipe"]  # the fixture, for pytest

# The reference pages of https://www.postgresql.org/docs/15/sql-commands.html, in order.
PG15_COMMANDS = """
ABORT
ALTER AGGREGATE
ALTER COLLATION
ALTER CONVERSION
ALTER DATABASE
ALTER DEFAULT PRIVILEGES
ALTER DOMAIN
ALTER EVENT TRIGGER
ALTER EXTENSION
ALTER FOREIGN DATA WRAPPER
ALTER FOREIGN TABLE
ALTER FUNCTION
ALTER GROUP
ALTER INDEX
ALTER LANGUAGE
ALTER LARGE OBJECT
ALTER MATERIALIZED VIEW
ALTER OPERATOR
ALTER OPERATOR CLASS
ALTER OPERATOR FAMILY
ALTER POLICY
ALTER PROCEDURE
ALTER PUBLICATION
ALTER ROLE
ALTER ROUTINE
ALTER RULE
ALTER SCHEMA
ALTER SEQUENCE
ALTER SERVER
ALTER STATISTICS
ALTER SUBSCRIPTION
ALTER SYSTEM
ALTER TABLE
ALTER TABLESPACE
ALTER TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH DICTIONARY
ALTER TEXT SEARCH PARSER
ALTER TEXT SEARCH TEMPLATE
ALTER TRIGGER
ALTER TYPE
ALTER USER
ALTER USER MAPPING
ALTER VIEW
ANALYZE
BEGIN
CALL
CHECKPOINT
CLOSE
CLUSTER
COMMENT
COMMIT
COMMIT PREPARED
COPY
CREATE ACCESS METHOD
CREATE AGGREGATE
CREATE CAST
CREATE COLLATION
CREATE CONVERSION
CREATE DATABASE
CREATE DOMAIN
CREATE EVENT TRIGGER
CREATE EXTENSION
CREATE FOREIGN DATA WRAPPER
CREATE FOREIGN TABLE
CREATE FUNCTION
CREATE GROUP
CREATE INDEX
CREATE LANGUAGE
CREATE MATERIALIZED VIEW
CREATE OPERATOR
CREATE OPERATOR CLASS
CREATE OPERATOR FAMILY
CREATE POLICY
CREATE PROCEDURE
CREATE PUBLICATION
CREATE ROLE
CREATE RULE
CREATE SCHEMA
CREATE SEQUENCE
CREATE SERVER
CREATE STATISTICS
CREATE SUBSCRIPTION
CREATE TABLE
CREATE TABLE AS
CREATE TABLESPACE
CREATE TEXT SEARCH CONFIGURATION
CREATE TEXT SEARCH DICTIONARY
CREATE TEXT SEARCH PARSER
CREATE TEXT SEARCH TEMPLATE
CREATE TRANSFORM
CREATE TRIGGER
CREATE TYPE
CREATE USER
CREATE USER MAPPING
CREATE VIEW
DEALLOCATE
DECLARE
DELETE
DISCARD
DO
DROP ACCESS METHOD
DROP AGGREGATE
DROP CAST
DROP COLLATION
DROP CONVERSION
DROP DATABASE
DROP DOMAIN
DROP EVENT TRIGGER
DROP EXTENSION
DROP FOREIGN DATA WRAPPER
DROP FOREIGN TABLE
DROP FUNCTION
DROP GROUP
DROP INDEX
DROP LANGUAGE
DROP MATERIALIZED VIEW
DROP OPERATOR
DROP OPERATOR CLASS
DROP OPERATOR FAMILY
DROP OWNED
DROP POLICY
DROP PROCEDURE
DROP PUBLICATION
DROP ROLE
DROP ROUTINE
DROP RULE
DROP SCHEMA
DROP SEQUENCE
DROP SERVER
DROP STATISTICS
DROP SUBSCRIPTION
DROP TABLE
DROP TABLESPACE
DROP TEXT SEARCH CONFIGURATION
DROP TEXT SEARCH DICTIONARY
DROP TEXT SEARCH PARSER
DROP TEXT SEARCH TEMPLATE
DROP TRANSFORM
DROP TRIGGER
DROP TYPE
DROP USER
DROP USER MAPPING
DROP VIEW
END
EXECUTE
EXPLAIN
FETCH
GRANT
IMPORT FOREIGN SCHEMA
INSERT
LISTEN
LOAD
LOCK
MERGE
MOVE
NOTIFY
PREPARE
PREPARE TRANSACTION
REASSIGN OWNED
REFRESH MATERIALIZED VIEW
REINDEX
RELEASE SAVEPOINT
RESET
REVOKE
ROLLBACK
ROLLBACK PREPARED
ROLLBACK TO SAVEPOINT
SAVEPOINT
SECURITY LABEL
SELECT
SELECT INTO
SET
SET CONSTRAINTS
SET ROLE
SET SESSION AUTHORIZATION
SET TRANSACTION
SHOW
START TRANSACTION
TRUNCATE
UNLISTEN
UPDATE
VACUUM
VALUES
""".strip().splitlines()

# psql also answers \h TABLE and \h WITH (both on SELECT's page).
EXTRA_TOPICS = {"TABLE", "WITH"}

# Pages whose name is not the command's words run together.
HYPHENATED_PAGES = {
    "COMMIT PREPARED",
    "CREATE ACCESS METHOD",
    "DROP ACCESS METHOD",
    "DROP OWNED",
    "PREPARE TRANSACTION",
    "REASSIGN OWNED",
    "RELEASE SAVEPOINT",
    "ROLLBACK PREPARED",
    "SECURITY LABEL",
    "SET CONSTRAINTS",
    "SET ROLE",
    "SET SESSION AUTHORIZATION",
    "SET TRANSACTION",
    "START TRANSACTION",
}
OTHER_PAGES = {"ROLLBACK TO SAVEPOINT": "rollback-to", "TABLE": "select", "WITH": "select"}

NAMES = [e.name for e in sqlhelp.ENTRIES]


def expected_slug(name: str) -> str:
    if name in OTHER_PAGES:
        return OTHER_PAGES[name]
    if name in HYPHENATED_PAGES:
        return name.lower().replace(" ", "-")
    short = (
        name.lower()
        .replace("text search configuration", "tsconfig")
        .replace("text search ", "ts")
        .replace("operator class", "opclass")
        .replace("operator family", "opfamily")
    )
    return short.replace(" ", "")


def without_optional(text: str) -> str:
    """``text`` with every ``[ ... ]`` part (nested too) taken out, whitespace collapsed."""
    kept, depth = [], 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            kept.append(ch)
    return " ".join("".join(kept).split())


def in_order(words: list[str], tokens: list[str]) -> bool:
    it = iter(tokens)
    return all(word in it for word in words)


# -- the data ----------------------------------------------------------------
def test_every_postgresql_15_command_has_help() -> None:
    assert len(PG15_COMMANDS) == 183
    assert set(NAMES) == set(PG15_COMMANDS) | EXTRA_TOPICS
    assert len(NAMES) == len(set(NAMES))
    assert sorted(NAMES) == NAMES  # \h lists them in this order


@pytest.mark.parametrize("entry", sqlhelp.ENTRIES, ids=NAMES)
def test_each_entry_points_at_its_page(entry: sqlhelp.Entry) -> None:
    assert entry.slug == expected_slug(entry.name)
    assert entry.url == f"https://www.postgresql.org/docs/15/sql-{entry.slug}.html"


@pytest.mark.parametrize("entry", sqlhelp.ENTRIES, ids=NAMES)
def test_each_description_is_one_short_sentence(entry: sqlhelp.Entry) -> None:
    text = entry.description
    assert text[0].isupper()
    assert text.endswith(".")
    assert "\n" not in text
    assert len(text) <= 90


@pytest.mark.parametrize("entry", sqlhelp.ENTRIES, ids=NAMES)
def test_each_synopsis_starts_with_the_command(entry: sqlhelp.Entry) -> None:
    lines = entry.synopsis.split("\n\n")[0].splitlines()  # the forms, not definitions
    if lines[0].startswith("[ WITH"):  # DML: an optional WITH clause comes first
        lines = lines[1:]
    form = " ".join([lines[0], *takewhile(lambda line: line.startswith(" "), lines[1:])])
    first_word = entry.name.split()[0]
    assert f"{without_optional(form)} ".startswith(f"{first_word} "), form
    assert in_order(entry.name.split(), re.findall(r"[A-Za-z_]+", form)), form


@pytest.mark.parametrize("entry", sqlhelp.ENTRIES, ids=NAMES)
def test_each_synopsis_is_balanced_and_narrow(entry: sqlhelp.Entry) -> None:
    for opening, closing in ("[]", "{}", "()"):
        depth = 0
        for ch in entry.synopsis:
            depth += (ch == opening) - (ch == closing)
            assert depth >= 0, f"{closing} before its {opening}"
        assert depth == 0, f"unclosed {opening}"
    assert entry.synopsis == entry.synopsis.strip()
    assert max(len(line) for line in entry.synopsis.splitlines()) <= 80
    assert not any(line != line.rstrip() for line in entry.synopsis.splitlines())


def test_placeholders_defined_in_a_synopsis_are_used_in_it() -> None:
    for entry in sqlhelp.ENTRIES:
        _, _, definitions = entry.synopsis.partition("\n\n")
        for term in re.findall(r"^([a-z_]+)\b[^:\n]*:", definitions, re.MULTILINE):
            rest = entry.synopsis.replace(f"\n{term}", "\n", 1)
            assert re.search(rf"\b{term}\b", rest), (entry.name, term)


# -- finding a topic ---------------------------------------------------------
def names(args: str) -> list[str]:
    return [e.name for e in sqlhelp.find(args)]


def test_an_exact_name_is_that_command_only() -> None:
    assert names("SET") == ["SET"]
    assert names("create table") == ["CREATE TABLE"]
    assert names("ALTER OPERATOR") == ["ALTER OPERATOR"]


def test_a_prefix_lists_every_command_it_starts() -> None:
    alter = names("alter")
    assert len(alter) == sum(n.startswith("ALTER ") for n in PG15_COMMANDS) == 42
    assert names("alter tab") == ["ALTER TABLE", "ALTER TABLESPACE"]
    assert names("drop text search") == [
        "DROP TEXT SEARCH CONFIGURATION",
        "DROP TEXT SEARCH DICTIONARY",
        "DROP TEXT SEARCH PARSER",
        "DROP TEXT SEARCH TEMPLATE",
    ]


@pytest.mark.parametrize("args", ["update", "  UpDaTe ", "UPDATE;", "\tupdate\n"])
def test_case_and_whitespace_do_not_matter(args: str) -> None:
    assert sqlhelp.render(args, 80) == sqlhelp.render("UPDATE", 80)


def test_whitespace_inside_the_topic_is_collapsed() -> None:
    assert names("alter \t  table") == ["ALTER TABLE"]
    assert sqlhelp.topic("  rollback   to\tsavepoint ; ") == "ROLLBACK TO SAVEPOINT"


def test_words_after_a_command_are_ignored() -> None:
    assert names("UPDATE orders SET status = 'x'") == ["UPDATE"]
    assert names("alter table orders add column") == ["ALTER TABLE"]


def test_star_is_every_command() -> None:
    text, found = sqlhelp.render("*", 80)
    assert found
    assert text.count("Command:     ") == len(sqlhelp.ENTRIES)


def test_an_unknown_topic_says_so_and_points_at_the_list() -> None:
    text, found = sqlhelp.render("frobnicate the table", 80)
    assert not found
    assert text == (
        'No help for "FROBNICATE THE TABLE".\nTry \\h with no arguments to list the commands.\n'
    )


def test_a_command_shows_its_name_description_synopsis_and_page() -> None:
    text, found = sqlhelp.render("update", 80)
    assert found
    update = sqlhelp.find("UPDATE")[0]
    assert text.startswith("Command:     UPDATE\nDescription: ")
    assert update.synopsis in text
    assert "UPDATE [ ONLY ] table_name [ * ] [ [ AS ] alias ]" in text
    assert text.endswith("URL: https://www.postgresql.org/docs/15/sql-update.html\n")


# -- the list ----------------------------------------------------------------
@pytest.mark.parametrize("width", [40, 66, 80, 100, 132, 250])
def test_the_list_fits_the_width(width: int) -> None:
    text, found = sqlhelp.render("", width)
    assert found
    header, *lines = text.splitlines()
    assert "\\h" in header
    assert max(len(line) for line in lines) <= width
    listed = re.findall(r"[A-Z]+(?: [A-Z]+)*", "\n".join(lines))
    assert sorted(listed) == NAMES


def test_no_topic_is_the_list() -> None:
    assert sqlhelp.render("  ; ", 80) == (sqlhelp.listing(80), True)


def test_the_list_uses_more_columns_when_wider() -> None:
    rows = [len(sqlhelp.render("", w)[0].splitlines()) for w in (40, 80, 132)]
    assert rows[0] > rows[1] > rows[2]


def test_the_list_goes_down_then_across() -> None:
    lines = sqlhelp.listing(80).splitlines()[1:]
    first_column = [line.split("  ")[1].strip() for line in lines]
    assert first_column == NAMES[: len(lines)]


def test_a_too_narrow_width_still_lists_one_per_line() -> None:
    lines = sqlhelp.listing(10).splitlines()[1:]
    assert [line.strip() for line in lines] == NAMES


# -- through the shell -------------------------------------------------------
def test_h_update_in_the_shell_prints_the_syntax_and_is_recorded(pipe: Any) -> None:
    session, text = run_shell(pipe, "\\h UPDATE\r\\h nosuch\r\\q\r")
    assert sqlhelp.find("UPDATE")[0].synopsis in text
    assert "https://www.postgresql.org/docs/15/sql-update.html" in text
    assert 'No help for "NOSUCH"' in text
    assert session.meta[:2] == [
        ("h", "UPDATE", {"result": "ok", "topic": "UPDATE", "found": True}),
        ("h", "nosuch", {"result": "ok", "topic": "NOSUCH", "found": False}),
    ]
