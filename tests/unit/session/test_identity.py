from __future__ import annotations

import re

import pytest

from prodsql.config import DEFAULT_TICKET_PATTERN
from prodsql.errors import UsageError
from prodsql.session.identity import check_ticket, make_application_name, new_session_id


@pytest.mark.parametrize("ticket", ["OPS-123", "PAY2-1", "AB-999999999"])
def test_good_tickets(ticket: str) -> None:
    assert check_ticket(f" {ticket} ", DEFAULT_TICKET_PATTERN) == ticket


@pytest.mark.parametrize(
    "ticket",
    ["ops-123", "OPS123", "OPS-", "-123", "OPS-123; DROP", "O-1", "OPS-12a", "ÖPS-1", "x" * 80],
)
def test_malformed_tickets(ticket: str) -> None:
    with pytest.raises(UsageError, match="malformed ticket"):
        check_ticket(ticket, DEFAULT_TICKET_PATTERN)


@pytest.mark.parametrize("ticket", [None, "", "   "])
def test_missing_ticket(ticket: str | None) -> None:
    with pytest.raises(UsageError, match="ticket is required"):
        check_ticket(ticket, DEFAULT_TICKET_PATTERN)


def test_application_name_shape() -> None:
    sid = new_session_id()
    name = make_application_name("OPS-123", "alice", sid)
    assert name == f"prodsql:OPS-123:alice:{sid}"


@pytest.mark.parametrize(
    ("ticket", "user"),
    [("A" * 60 + "-1", "bob"), ("OPS-1", "ü" * 50 + "; drop"), ("OPS-1", "x" * 200), ("X-1", "")],
)
def test_application_name_is_safe_and_short(ticket: str, user: str) -> None:
    sid = "0123abcd"
    name = make_application_name(ticket, user, sid)
    assert len(name.encode()) <= 63
    assert re.fullmatch(r"[A-Za-z0-9._:/-]+", name)
    assert name.endswith(":" + sid)
    assert name.startswith("prodsql:")


def test_break_glass_label() -> None:
    assert make_application_name(None, "oncall", "00ff00ff", True).startswith(
        "prodsql:break-glass:"
    )


def test_a_malformed_ticket_is_shown_as_typed_with_controls_escaped() -> None:
    with pytest.raises(UsageError) as info:
        check_ticket("OPS-1;drop", DEFAULT_TICKET_PATTERN)
    assert "'OPS-1;drop'" in info.value.message
    with pytest.raises(UsageError) as info:
        check_ticket("OPS-1\x1b[2J", DEFAULT_TICKET_PATTERN)
    assert "\x1b" not in info.value.message
    assert "OPS-1\\u001b[2J" in info.value.message
