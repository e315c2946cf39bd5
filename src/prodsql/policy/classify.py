"""Classify one SQL statement on PostgreSQL's own parse tree (pglast, as JSON).

``kind`` is one of: ``read``, ``write``, ``ddl``, ``privilege``, ``maintenance`` (VACUUM,
ANALYZE, CLUSTER, REINDEX, REFRESH, CHECKPOINT), ``lock`` (LOCK TABLE), ``transaction``,
``set``, ``utility`` (LISTEN, DEALLOCATE, DISCARD, LOAD), ``opaque`` (code that cannot be
inspected: DO with dynamic SQL, CALL, EXECUTE), ``unknown`` (does not parse) and
``empty`` (only comments).

Flags, the facts :func:`prodsql.policy.decide.decide` works from:

- ``unparseable``: the text does not parse (``kind`` is ``unknown``).
- ``multi_statement``: more than one statement in the text.
- ``writes``: changes table data somewhere in the tree (also in a CTE, PREPARE, EXPLAIN
  ANALYZE or a DO body), or calls a large-object writer or pg_notify().
- ``unconditional``: an UPDATE/DELETE/MERGE without a condition, with an always-true one,
  or with one that does not depend on the rows (see ``_conditions``); MERGE ... WHEN NOT
  MATCHED BY SOURCE too.
- ``destructive``: write mode asks first: DROP, TRUNCATE, ALTER that removes or changes
  (DROP, TYPE, DISABLE TRIGGER, RENAME, OWNER, SET SCHEMA...), GRANT/REVOKE, role
  changes, DROP/REASSIGN OWNED, VACUUM FULL, CLUSTER, REINDEX, LOCK, CHECKPOINT,
  ALTER ROLE/DATABASE ... SET, and CREATE OR REPLACE (it may replace a definition).
- ``row_lock``: SELECT ... FOR UPDATE/SHARE.
- ``dangerous_function``: calls a function from ``DANGEROUS_FUNCTIONS`` anywhere.
- ``audit_tamper``: changes who or what is audited: SET/RESET/set_config() of
  application_name, pgaudit.*, session_authorization, role, session_replication_role,
  log_min_messages, log_statement (also in a function's or role's SET clause);
  RESET ALL; DISCARD ALL; ALTER SYSTEM; LOAD; ALTER ROLE ... RESET ALL.
- ``dynamic_setting``: set_config() whose setting name is computed at run time.
- ``makes_read_write``: BEGIN/START/SET TRANSACTION READ WRITE, or turning
  (default_)transaction_read_only off by SET or set_config(), or RESET / SET ... TO
  DEFAULT of it.
- CREATE FUNCTION/PROCEDURE: its body (SQL, BEGIN ATOMIC or PL/pgSQL) is classified and
  what matters when it is called later is carried over (audit_tamper, dangerous_function,
  unconditional, destructive...); a body that cannot be inspected is ``opaque``.
- ``program``: COPY ... PROGRAM. ``server_file``: COPY to or from a file on the server.
  ``copy_from`` / ``copy_to``: the direction of any COPY.
- ``opaque``: code whose effect cannot be seen (DO that is not provably read-only, CALL,
  EXECUTE of a prepared statement); ``dynamic_sql``: a DO block runs EXECUTE of a
  computed string.
- ``analyze``: EXPLAIN ANALYZE (the statement runs). ``two_phase``: PREPARE TRANSACTION,
  COMMIT/ROLLBACK PREPARED.

``objects`` are the objects changed (or, for a statement that changes none, the relations
it reads), as written. ``functions`` and ``settings`` list the (lower-case) functions called
and settings changed, so per-target policy can add its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pglast import parser

from prodsql.policy._facts import SEVERITY, Facts
from prodsql.policy._plpgsql import analyze_do, analyze_function, conclude_function
from prodsql.policy._statements import classify_top
from prodsql.policy._walk import walk

__all__ = ["Classification", "classify"]

_MAX_SQL_DEPTH = 8  # DO blocks inside DO blocks: deeper than this is not inspected


@dataclass(frozen=True, slots=True)
class Classification:
    kind: str
    command: str
    objects: tuple[str, ...]
    flags: frozenset[str]
    reasons: tuple[str, ...]
    functions: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()


def classify(sql: str) -> Classification:
    """Classify ``sql`` (normally one statement, as :func:`split` returns it)."""
    return _freeze(_classify(sql, 0))


def _classify(sql: str, depth: int) -> Facts:
    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except (parser.ParseError, ValueError, RecursionError) as exc:
        return _unparseable(exc)
    raw = sql.encode()
    entries = [s for s in tree.get("stmts", []) if isinstance(s.get("stmt"), dict)]
    if not entries:
        return Facts(kind="empty", command="EMPTY")
    if len(entries) == 1:
        return _one(entries[0]["stmt"], depth, _source(raw, entries[0]))
    return _several([_one(s["stmt"], depth, _source(raw, s)) for s in entries])


def _source(raw: bytes, entry: dict[str, Any]) -> str:
    """The text of one statement (the parser's offsets count bytes)."""
    start = int(entry.get("stmt_location", 0) or 0)
    length = int(entry.get("stmt_len", 0) or 0)
    chunk = raw[start : start + length] if length else raw[start:]
    return chunk.decode("utf-8", errors="replace")


def _one(stmt: dict[str, Any], depth: int, source: str = "") -> Facts:
    facts = Facts()
    node_type, body = next(iter(stmt.items()))
    classify_top(node_type, body, facts)
    try:
        walk(stmt, facts)
    except RecursionError:
        facts.flag("unparseable", "statement too deeply nested to inspect")
    if node_type == "DoStmt":
        _do(body, facts, depth)
    if node_type == "CreateFunctionStmt":
        _function(body, source, facts, depth)
    if "analyze" in facts.flags and isinstance(body.get("query"), dict):
        # EXPLAIN ANALYZE runs its statement: it is whatever that statement is
        inner = _one(body["query"], depth)
        facts.absorb(inner)
        facts.worsen(inner.kind)
    if "writes" in facts.flags and facts.kind in ("read", "transaction", "set", "utility"):
        facts.kind = "write"
    return facts


def _do(body: dict[str, Any], facts: Facts, depth: int) -> None:
    facts.kind = "read"
    if depth >= _MAX_SQL_DEPTH:
        facts.kind = "opaque"
        facts.flag("opaque", "DO blocks nested too deeply to inspect")
        return
    analyze_do(body, facts, lambda sql: _classify(sql, depth + 1))


def _function(body: dict[str, Any], source: str, facts: Facts, depth: int) -> None:
    """What the body of a function being created would do once called (see _plpgsql)."""
    what = "the procedure body" if body.get("is_procedure") else "the function body"
    if depth >= _MAX_SQL_DEPTH:
        facts.flag("opaque", f"{what} is nested too deeply to inspect")
        return
    atomic = body.get("sql_body")
    if atomic is None:
        analyze_function(body, source, facts, lambda sql: _classify(sql, depth + 1))
        return
    inner = Facts(kind="read")
    for stmt in _statements_of(atomic):
        part = _one(stmt, depth + 1)
        inner.absorb(part, prefix=f"in {what}: ")
        inner.worsen(part.kind)
    conclude_function(facts, inner, what)


def _statements_of(node: Any) -> list[dict[str, Any]]:
    """The statements of a ``BEGIN ATOMIC`` body (lists of lists of statements)."""
    if isinstance(node, list):
        return [s for item in node for s in _statements_of(item)]
    if isinstance(node, dict) and "List" in node:
        return _statements_of(node["List"].get("items") or [])
    return [node] if isinstance(node, dict) and node else []


def _several(parts: list[Facts]) -> Facts:
    merged = Facts(kind="read", command="MULTIPLE")
    for part in parts:
        merged.absorb(part, prefix=f"{part.command}: ")
        merged.worsen(part.kind)
    commands = "; ".join(p.command for p in parts)
    merged.flag("multi_statement", f"{len(parts)} statements in one text ({commands})")
    return merged


def _unparseable(exc: BaseException) -> Facts:
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    facts = Facts(kind="unknown", command="UNKNOWN")
    facts.flag("unparseable", f"does not parse: {message}")
    return facts


def _freeze(facts: Facts) -> Classification:
    objects = facts.targets or facts.reads
    return Classification(
        kind=facts.kind if facts.kind in SEVERITY else "unknown",
        command=facts.command,
        objects=tuple(objects),
        flags=frozenset(facts.flags),
        reasons=facts.reasons,
        functions=tuple(dict.fromkeys(facts.functions)),
        settings=tuple(dict.fromkeys(facts.settings)),
    )
