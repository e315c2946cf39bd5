from __future__ import annotations

import os
import stat
from pathlib import Path

from prodsql.policy import Action, Decision
from prodsql.shell.app import idle_seconds
from prodsql.shell.confirm import expected_answer, plan_rows
from prodsql.shell.describe import list_relations, name_filter
from prodsql.shell.history import PrivateFileHistory, carries_secret, history_path


def test_history_file_is_private_and_skips_secrets(tmp_path: Path) -> None:
    path = tmp_path / "h" / "prod"
    history = PrivateFileHistory(path)
    history.store_string("SELECT 1")
    history.store_string("ALTER ROLE x PASSWORD 'hunter2'")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert "SELECT 1" in text
    assert "hunter2" not in text
    assert carries_secret("\\password alice")


def test_history_location_and_switch() -> None:
    env = {"XDG_STATE_HOME": "/s"}
    assert history_path(env, "prod", "") == Path("/s/prodsql/history/prod")
    assert history_path({**env, "PRODSQL_HISTORY": "off"}, "prod", "") is None
    assert history_path(env, "dsn", "host=a") != history_path(env, "dsn", "host=b")


def test_confirmation_asks_for_the_object_or_the_ticket() -> None:
    one = Decision(Action.CONFIRM, ("DELETE without a condition",), "public.orders")
    assert expected_answer(one, "OPS-1")[0] == "public.orders"
    many = Decision(Action.CONFIRM, ("calls pg_terminate_backend()",), None)
    assert expected_answer(many, "OPS-1")[0] == "OPS-1"


def test_plan_rows_reads_under_modify_table() -> None:
    plan = (
        '[{"Plan": {"Node Type": "ModifyTable", "Plan Rows": 0, "Plans": '
        '[{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Plan Rows": 1200}]}}]'
    )
    assert plan_rows(plan) == 1200
    assert plan_rows("not json") is None


def test_patterns_are_literals_and_regexes() -> None:
    assert "c.relname ~ '^(ord.*)$'" in name_filter("ord*", "n.nspname", "c.relname")
    assert "n.nspname ~ '^(sales)$'" in name_filter("sales.*", "n.nspname", "c.relname")
    assert "''" in list_relations("dt", "it's")  # a quote cannot end the literal


def test_idle_timeout_settings() -> None:
    assert idle_seconds("") == 900
    assert idle_seconds("2min") == 120
    assert idle_seconds("30") == 30
    assert idle_seconds("off") == 0
