from __future__ import annotations

import pytest

from prodsql.config import Target
from prodsql.errors import UsageError
from prodsql.session.connect import build_params, check_user_options


@pytest.mark.parametrize(
    "options", ["-c search_path=app", "--work_mem=64MB", "-c search_path=app -c work_mem=1MB"]
)
def test_safe_options_pass(options: str) -> None:
    check_user_options(options)


@pytest.mark.parametrize(
    "options",
    [
        "-c role=postgres",
        "--session_authorization=x",
        "-c pgaudit.log=none",
        "-c application_name=x",
        "-c default_transaction_read_only=off",
        "'unbalanced",
        "-crole=postgres",
    ],
)
def test_dangerous_options_refused(options: str) -> None:
    with pytest.raises(UsageError):
        check_user_options(options)


def test_startup_parameters_carry_tag_and_safety() -> None:
    cp = build_params(
        Target(name="t", dsn="host=h user=u options='-c search_path=a'"),
        "prodsql:X-1:u:abcd0123",
        read_only=True,
    )
    assert cp.params["application_name"] == "prodsql:X-1:u:abcd0123"
    assert "-c search_path=a" in cp.params["options"]
    assert "-c default_transaction_read_only=on" in cp.params["options"]
    assert "password" not in cp.redacted()
    cp = build_params(Target(name="t", dsn="host=h password=secret"), "a", read_only=False)
    assert "secret" not in cp.redacted()
    assert "-c default_transaction_read_only=off" in cp.params["options"]
