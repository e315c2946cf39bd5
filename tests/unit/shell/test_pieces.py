from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from prodsql.errors import ConfigError
from prodsql.policy import Action, Decision
from prodsql.shell.app import duration_words, resolve_idle_timeout
from prodsql.shell.confirm import expected_answer, plan_rows
from prodsql.shell.describe import list_relations, name_filter
from prodsql.shell.history import PrivateFileHistory, carries_secret, history_path
from prodsql.shell.meta import watch_interval


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


def test_idle_timeout_environment_overrides_the_configuration() -> None:
    assert resolve_idle_timeout({}, 600) == 600  # the configured value
    assert resolve_idle_timeout({"PRODSQL_IDLE_TIMEOUT": ""}, 600) == 600
    assert resolve_idle_timeout({"PRODSQL_IDLE_TIMEOUT": "2min"}, 600) == 120
    assert resolve_idle_timeout({"PRODSQL_IDLE_TIMEOUT": "30"}, 600) == 30  # bare: seconds
    assert resolve_idle_timeout({"PRODSQL_IDLE_TIMEOUT": "1h"}, 600) == 3600
    assert resolve_idle_timeout({"PRODSQL_IDLE_TIMEOUT": "off"}, 600) == 0
    assert resolve_idle_timeout({"PRODSQL_IDLE_TIMEOUT": "0"}, 600) == 0


@pytest.mark.parametrize("value", ["soon", "15 min", "1.5min", "-5", "10ms", "2d"])
def test_a_bad_idle_timeout_variable_is_an_error_not_the_default(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_idle_timeout({"PRODSQL_IDLE_TIMEOUT": value}, 900)
    assert "PRODSQL_IDLE_TIMEOUT" in info.value.message
    assert repr(value) in info.value.message


def test_durations_in_words() -> None:
    assert duration_words(900) == "15 minutes"
    assert duration_words(3600) == "1 hour"
    assert duration_words(90) == "90 seconds"
    assert duration_words(1) == "1 second"


@pytest.mark.parametrize(
    ("args", "seconds"),
    [("", 2.0), ("5", 5.0), (" 0.5 ", 0.5), ("0.1", 0.1)],
)
def test_watch_intervals(args: str, seconds: float) -> None:
    assert watch_interval(args) == seconds


@pytest.mark.parametrize("args", ["0", "-1", "0.05", "abc", "nan", "inf", "2 3", "2s"])
def test_bad_watch_intervals(args: str) -> None:
    assert watch_interval(args) is None
