"""Look inside a ``DO`` block or a function body: parse its PL/pgSQL (or SQL) and classify
every SQL statement and expression in it. Dynamic ``EXECUTE`` of a computed string cannot
be seen through."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pglast import parser

from prodsql.policy._facts import SEEN_THROUGH, SEVERITY, Facts, Node, string_of

Classifier = Callable[[str], Facts]

_DYNAMIC = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors")
_PROVABLY_READ = frozenset({"read", "set", "empty"})
_PARSE_FULL = 0
_PARSE_EXPR = 2
_DO = "the DO block"
# What a function body carries over to its CREATE FUNCTION: the body does not run now, but
# whoever calls the function later is not asked again (decide.py turns these into refuse
# or confirm; "writes" alone is not carried: a conditional write is ordinary DDL).
_FUNCTION_FLAGS = SEEN_THROUGH | frozenset(
    {"unconditional", "destructive", "program", "server_file", "opaque", "two_phase"}
)


def analyze_do(body: dict[str, Any], facts: Facts, classify: Classifier) -> None:
    """Fill ``facts`` (already ``DO``) from the block's body."""
    language, code = _do_args(body)
    if language != "plpgsql":
        _opaque(facts, f"DO block in language {language} cannot be inspected")
        return
    if code is None:
        _opaque(facts, "DO block without a body")
        return
    try:
        inner = _inspect_plpgsql("DO " + _dollar_quote(code), classify, _DO)
    except (parser.ParseError, ValueError, RecursionError) as exc:
        _opaque(facts, f"DO block does not parse: {_first_arg(exc)}")
        return
    _conclude(facts, inner)


def analyze_function(body: dict[str, Any], source: str, facts: Facts, classify: Classifier) -> None:
    """CREATE FUNCTION/PROCEDURE with an ``AS '...'`` body: carry over what the body would
    do when called. ``source`` is the whole CREATE statement (PL/pgSQL is parsed from it)."""
    what = "the procedure body" if body.get("is_procedure") else "the function body"
    language, code = _do_args(body, key="options", default="")
    if code is None:
        _opaque_body(facts, f"{what} cannot be inspected (no single source text)")
        return
    if language == "sql":
        part = classify(code)
        inner = Facts(kind="read")
        _absorb(part, inner, what)
    elif language == "plpgsql":
        if not source:
            _opaque_body(facts, f"{what} cannot be inspected")
            return
        try:
            inner = _inspect_plpgsql(source, classify, what)
        except (parser.ParseError, ValueError, RecursionError) as exc:
            _opaque_body(facts, f"{what} does not parse: {_first_arg(exc)}")
            return
    else:
        _opaque_body(facts, f"{what} in language {language or '?'} cannot be inspected")
        return
    conclude_function(facts, inner, what)


def conclude_function(facts: Facts, inner: Facts, what: str) -> None:
    """Take over from a function body's findings what matters when it is called later."""
    if "dynamic_sql" in inner.flags:
        inner.flag("opaque", f"{what} runs dynamic SQL (EXECUTE) that cannot be inspected")
    if inner.kind == "unknown" or "unparseable" in inner.flags:
        inner.flag("opaque", f"{what} does not parse")
    elif inner.kind == "opaque":
        inner.flag("opaque", f"{what} runs code that cannot be inspected")
    facts.absorb(inner, only=_FUNCTION_FLAGS)


def _opaque_body(facts: Facts, reason: str) -> None:
    facts.flag("opaque", reason)


def _inspect_plpgsql(source: str, classify: Classifier, where: str) -> Facts:
    tree = json.loads(parser.parse_plpgsql_json(source))
    inner = Facts(kind="read")
    _walk_plpgsql(tree, inner, classify, where)
    return inner


def _do_args(
    body: dict[str, Any], key: str = "args", default: str = "plpgsql"
) -> tuple[str, str | None]:
    language, code = default, None
    for arg in body.get(key) or []:
        elem = arg.get("DefElem", {})
        if elem.get("defname") == "language":
            language = (string_of(elem.get("arg")) or "").lower()
        elif elem.get("defname") == "as":
            code = _single_string(elem.get("arg"))
    return language, code


def _single_string(node: Node) -> str | None:
    """A String, or a List holding exactly one String (a function's ``AS`` clause)."""
    if isinstance(node, dict) and "List" in node:
        items = node["List"].get("items") or []
        return string_of(items[0]) if len(items) == 1 else None
    return string_of(node)


def _dollar_quote(code: str) -> str:
    tag, n = "$prodsql$", 0
    while tag in code:
        n += 1
        tag = f"$prodsql{n}$"
    return f"{tag}{code}{tag}"


def _first_arg(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _opaque(facts: Facts, reason: str) -> None:
    facts.worsen("opaque")
    facts.flag("opaque", reason)


def _walk_plpgsql(tree: Node, inner: Facts, classify: Classifier, where: str) -> None:
    stack: list[Node] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in _DYNAMIC or (
                key in ("PLpgSQL_stmt_open", "PLpgSQL_stmt_return_query")
                and isinstance(value, dict)
                and "dynquery" in value
            ):
                _on_dynamic(value, inner, classify, where)
            elif key == "PLpgSQL_expr" and isinstance(value, dict):
                _absorb(classify(_expr_sql(value)), inner, where)
                continue
            if isinstance(value, dict | list):
                stack.append(value)


def _on_dynamic(stmt: dict[str, Any], inner: Facts, classify: Classifier, where: str) -> None:
    """``EXECUTE 'constant'`` is classified like plain SQL; anything computed is opaque."""
    expr = stmt.get("query") or stmt.get("dynquery") or {}
    literal = _literal_text(str(expr.get("PLpgSQL_expr", {}).get("query", "")))
    if literal is not None:
        _absorb(classify(literal), inner, where)
        return
    what = where.removeprefix("the ")
    inner.flag("dynamic_sql", f"{what} runs dynamic SQL (EXECUTE) that cannot be inspected")


def _literal_text(expression: str) -> str | None:
    """The value of ``expression`` when it is one string literal (any quoting)."""
    try:
        tree = json.loads(parser.parse_sql_json("SELECT " + expression))
        target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
    except (parser.ParseError, ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None
    if len(target) != 1:
        return None
    const = target[0].get("ResTarget", {}).get("val", {}).get("A_Const", {})
    value = const.get("sval", {}).get("sval") if isinstance(const, dict) else None
    return value if isinstance(value, str) else None


def _expr_sql(expr: dict[str, Any]) -> str:
    query = str(expr.get("query", ""))
    mode = expr.get("parseMode", _PARSE_FULL)
    if mode == _PARSE_FULL:
        return query
    if mode != _PARSE_EXPR:
        # an assignment, "target := expression": only the expression runs SQL
        _, sep, rest = query.partition(":=")
        query = rest if sep else query.partition("=")[2]
    return "SELECT " + query


def _absorb(stmt: Facts, inner: Facts, where: str = _DO) -> None:
    inner.absorb(stmt, prefix=f"in {where}: ")
    inner.worsen(stmt.kind)


def _conclude(facts: Facts, inner: Facts) -> None:
    facts.absorb(inner)
    provable = inner.kind in _PROVABLY_READ and not (
        inner.flags & {"dynamic_sql", "opaque", "unparseable", "writes"}
    )
    if provable:
        return
    facts.worsen(inner.kind if SEVERITY.get(inner.kind, 9) > SEVERITY["opaque"] else "opaque")
    facts.flag("opaque", "DO block is code that is not provably read-only")
