from __future__ import annotations

import pytest

from prodsql.policy import classify, find_tag, make_tag, split, tag_statement


def test_make_tag() -> None:
    assert make_tag("abcd1234", 15) == "prodsql:abcd1234:seq=15"


@pytest.mark.parametrize("bad", ["a b", "a:b", "x*/", "", "é"])
def test_make_tag_rejects_session_ids_a_tag_cannot_carry(bad: str) -> None:
    with pytest.raises(ValueError, match="session id"):
        make_tag(bad, 1)


def test_tag_goes_first() -> None:
    assert tag_statement("SELECT 15", "prodsql:abcd1234:seq=15") == (
        "/* prodsql:abcd1234:seq=15 */ SELECT 15"
    )


@pytest.mark.parametrize("bad", ["x */ DROP TABLE t; /*", "a b", "", "x\ny", "*/"])
def test_tag_statement_rejects_tags_outside_the_alphabet(bad: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        tag_statement("select 1", bad)


@pytest.mark.parametrize(
    "sql",
    [
        "select 1 -- trailing comment",
        "DELETE FROM t WHERE id = 1",
        "select $$ open dollar quote",
        "SET application_name = 'x'",
        "/* +hint */ select 1",
    ],
)
def test_tagging_never_changes_what_runs(sql: str) -> None:
    tagged = tag_statement(sql, make_tag("s1", 3))
    assert classify(tagged) == classify(sql)
    assert split(tagged) == split(sql)
    assert find_tag(tagged) == ("s1", 3)


def test_find_tag_in_logged_text() -> None:
    logged = "SESSION,23,1,READ,SELECT,,,/* prodsql:abcd1234:seq=15 */ SELECT 15,<none>"
    assert find_tag(logged) == ("abcd1234", 15)
    assert find_tag("DELETE FROM t WHERE v = 'row5'") is None
    assert find_tag("/* prodsql:abc:seq=x */ select 1") is None
