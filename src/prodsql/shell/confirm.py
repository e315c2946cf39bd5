"""Confirmations: say what the statement will do, then make the user type something they
must read (the affected object's name, or the ticket). A bare ``y`` never confirms."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING

from prodsql.errors import StatementError
from prodsql.policy import Classification, Decision, Statement

if TYPE_CHECKING:
    from prodsql.session.runner import AuditedSession

Ask = Callable[[str], str]  # shows a question, returns the answer; KeyboardInterrupt cancels
_ESTIMATED = frozenset({"DELETE", "UPDATE", "MERGE"})
_MAX_CHECKED = 8  # objects looked up for missing statistics


def describe(
    c: Classification, d: Decision, estimate: int | None, unanalyzed: Sequence[str] = ()
) -> list[str]:
    what = c.command + (f" on {', '.join(dict.fromkeys(c.objects))}" if c.objects else "")
    lines = [f"This statement needs confirmation: {what} ({c.kind})."]
    lines += [f"  - {reason}" for reason in d.reasons]
    if estimate is not None:
        lines.append(f"  - the planner estimates ~{estimate:,} rows affected (EXPLAIN, not run)")
        if unanalyzed:
            lines.append(
                f"    ({', '.join(unanalyzed)} never analyzed: the planner's number is a "
                "default guess, not a count)"
            )
    return lines


def expected_answer(d: Decision, ticket: str | None) -> tuple[str, str]:
    """(what to type, how to say it)."""
    if d.confirm_object:
        return d.confirm_object, f"the object's name, {d.confirm_object}"
    token = ticket or "BREAK-GLASS"
    return token, f"the ticket, {token}"


def row_estimate(session: AuditedSession, stmt: Statement, c: Classification) -> int | None:
    """The planner's estimate for DELETE/UPDATE/MERGE via EXPLAIN (which does not execute).
    Only for text that is exactly one such statement, so the EXPLAIN prefix covers all
    of it; any failure just means no estimate."""
    if c.command not in _ESTIMATED or not _single_statement(stmt.text):
        return None
    try:
        result = session.internal_query(
            "EXPLAIN (FORMAT JSON) " + stmt.text, "planner row estimate for a confirmation"
        )
    except StatementError:
        return None
    if not result.rows:
        return None
    return plan_rows(str(result.rows[0][0]))


def never_analyzed(session: AuditedSession, c: Classification) -> list[str]:
    """The objects of ``c`` that have no statistics (PostgreSQL 14+: ``reltuples < 0``),
    for which an EXPLAIN estimate is the planner's default guess."""
    from prodsql.shell.describe import literal

    names = list(dict.fromkeys(c.objects))[:_MAX_CHECKED]
    if not names:
        return []
    try:
        regs = ", ".join(f"to_regclass({literal(n)})" for n in names)
    except ValueError:
        return []
    sql = (
        f"SELECT c.oid::regclass::text FROM pg_class c WHERE c.oid IN ({regs}) AND c.reltuples < 0"
    )
    try:
        result = session.internal_query(sql, "statistics check for a row estimate")
    except StatementError:
        return []
    return [str(row[0]) for row in result.rows]


def _single_statement(text: str) -> bool:
    from pglast import parser

    try:
        return len(json.loads(parser.parse_sql_json(text)).get("stmts", [])) == 1
    except Exception:  # does not parse: no EXPLAIN
        return False


def plan_rows(explain_json: str) -> int | None:
    """``Plan Rows`` of the node under ModifyTable (ModifyTable itself reports 0)."""
    try:
        plan = json.loads(explain_json)[0]["Plan"]
        while plan.get("Node Type") == "ModifyTable" and plan.get("Plans"):
            children = plan["Plans"]
            outer = [p for p in children if p.get("Parent Relationship") in ("Outer", "Member")]
            plan = (outer or children)[0]
        return int(plan["Plan Rows"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def confirm_interactively(
    session: AuditedSession,
    stmt: Statement,
    c: Classification,
    d: Decision,
    *,
    ticket: str | None,
    ask: Ask,
    out: IO[str],
) -> str | None:
    """Returns ``"typed <answer>"`` for the trail's ``confirmed_by``, or None."""
    estimate = row_estimate(session, stmt, c)
    unanalyzed = never_analyzed(session, c) if estimate is not None else []
    expected, said = expected_answer(d, ticket)
    out.write("\n".join(describe(c, d, estimate, unanalyzed)) + "\n")
    out.flush()
    try:
        answer = ask(f"Type {said}, to run it (anything else cancels): ")
    except (KeyboardInterrupt, EOFError):
        answer = None
    if answer is not None and answer.strip() == expected:
        return f"typed {expected}"
    out.write("Not confirmed: nothing was sent.\n")
    return None
