"""Does a WHERE (or MERGE ... ON) condition restrict the rows it touches?

Judged on the parse tree, without the schema, so the rules are syntactic:

- no condition, or one that is always true (``true``, ``1 = 1``, ``'a' = 'a'``,
  ``NOT false``, ``true OR ...``, ``'t'::bool``) touches every row;
- a condition that mentions no column (``now() > '2020-01-01'``, ``random() < 0.5``,
  ``$1``) does not depend on the rows: it matches all of them or none (or a random share);
- a column compared with itself (``x = x``, also under casts: ``x::text = x::text``)
  matches every row where it is not NULL, so it counts as always true; so do
  ``x IS NULL OR x IS NOT NULL`` and ``IS NOT NULL`` on a system column (``ctid``...),
  which is never NULL;
- ``WHERE CURRENT OF cursor`` and any condition that mentions a column count as real.
  A column inside a subquery counts too: without the schema it could be correlated.
"""

from __future__ import annotations

from typing import Any

Node = Any  # a node of pglast's JSON parse tree

_TRUE_WORDS = frozenset({"t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"})
_BOOL_TYPES = frozenset({"bool", "boolean"})
_SELF_TRUE_OPS = frozenset({"=", "<=", ">="})
_SELF_FALSE_OPS = frozenset({"<>", "!=", "<", ">"})
_SYSTEM_COLUMNS = frozenset({"ctid", "tableoid", "xmin", "xmax", "cmin", "cmax"})


def condition_problem(expr: Node | None) -> str | None:
    """None when ``expr`` restricts rows; otherwise how it fails to."""
    if expr is None:
        return "without a condition"
    truth = const_truth(expr)
    if truth is False:
        return None
    if truth is True or is_tautology(expr):
        return "with an always-true condition"
    if not _mentions(expr, ("ColumnRef", "CurrentOfExpr")):
        return "with a condition that does not depend on the rows"
    return None


def is_tautology(expr: Node) -> bool:
    if const_truth(expr) is True:
        return True
    bool_expr = _get(expr, "BoolExpr")
    if bool_expr is not None:
        args = bool_expr.get("args", [])
        op = bool_expr.get("boolop")
        if op == "OR_EXPR":
            return any(is_tautology(a) for a in args) or _null_or_not_null(args)
        if op == "AND_EXPR":
            return all(is_tautology(a) for a in args)
        return bool(args) and is_contradiction(args[0])
    return _self_comparison(expr) in ("true", "not-distinct") or _system_not_null(expr)


def _null_or_not_null(args: list[Node]) -> bool:
    """``x IS NULL OR x IS NOT NULL`` (in any order, among other alternatives)."""
    tests = [_get(a, "NullTest") for a in args]
    seen: dict[str, list[Node]] = {"IS_NULL": [], "IS_NOT_NULL": []}
    for test in tests:
        if test is not None and test.get("nulltesttype") in seen:
            seen[str(test["nulltesttype"])].append(_strip(test.get("arg")))
    return any(arg in seen["IS_NOT_NULL"] for arg in seen["IS_NULL"])


def _system_not_null(expr: Node) -> bool:
    """``ctid IS NOT NULL`` and the like: a system column is never NULL."""
    test = _get(expr, "NullTest")
    if test is None or test.get("nulltesttype") != "IS_NOT_NULL":
        return False
    column = _get(_uncast(test.get("arg")), "ColumnRef")
    fields = column.get("fields", []) if column is not None else []
    last = fields[-1].get("String", {}).get("sval", "") if fields else ""
    return isinstance(last, str) and last.lower() in _SYSTEM_COLUMNS


def _uncast(node: Node) -> Node:
    while (cast := _get(node, "TypeCast")) is not None:
        node = cast.get("arg")
    return node


def is_contradiction(expr: Node) -> bool:
    if const_truth(expr) is False:
        return True
    bool_expr = _get(expr, "BoolExpr")
    if bool_expr is not None:
        args = bool_expr.get("args", [])
        op = bool_expr.get("boolop")
        if op == "OR_EXPR":
            return all(is_contradiction(a) for a in args)
        if op == "AND_EXPR":
            return any(is_contradiction(a) for a in args)
        return bool(args) and is_tautology(args[0])
    return _self_comparison(expr) == "false"


def const_truth(expr: Node) -> bool | None:
    """The value of a condition made of constants only, when it is plain to see."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return None
    ((name, body),) = expr.items()
    if name == "A_Const":
        return _const_bool(body)
    if name == "TypeCast":
        return _cast_bool(body)
    if name == "BoolExpr":
        return _bool_expr_truth(body)
    if name == "A_Expr":
        return _compare_consts(body)
    if name == "NullTest":
        return _null_test(body)
    return None


def _const_bool(body: dict[str, Any]) -> bool | None:
    if "boolval" in body:
        return bool(body["boolval"].get("boolval", False))
    if body.get("isnull"):
        return False
    if "sval" in body:
        word = str(body["sval"].get("sval", "")).strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _cast_bool(body: dict[str, Any]) -> bool | None:
    names = body.get("typeName", {}).get("names", [])
    last = names[-1].get("String", {}).get("sval", "") if names else ""
    if last.lower() not in _BOOL_TYPES:
        return None
    arg = body.get("arg")
    value = _literal(arg)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    return const_truth(arg)


def _bool_expr_truth(body: dict[str, Any]) -> bool | None:
    values = [const_truth(a) for a in body.get("args", [])]
    op = body.get("boolop")
    if op == "NOT_EXPR":
        return None if not values or values[0] is None else not values[0]
    if op == "AND_EXPR":
        if False in values:
            return False
        return True if values and all(v is True for v in values) else None
    if True in values:
        return True
    return False if values and all(v is False for v in values) else None


def _compare_consts(body: dict[str, Any]) -> bool | None:
    if body.get("kind") != "AEXPR_OP":
        return None
    op = _operator(body)
    left, right = _literal(body.get("lexpr")), _literal(body.get("rexpr"))
    if left is None or right is None:
        return None
    left, right = _comparable(left, right)
    try:
        return _apply(op, left, right)
    except TypeError:
        return None


def _apply(op: str | None, left: Any, right: Any) -> bool | None:
    if op == "=":
        return bool(left == right)
    if op in ("<>", "!="):
        return bool(left != right)
    if isinstance(left, str) or isinstance(right, str):
        return None  # ordering of text depends on the collation
    ordering = {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}
    return ordering.get(op or "")


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """PostgreSQL coerces an untyped literal to the other side's type."""
    if isinstance(left, str) and isinstance(right, int | float):
        return _number(left, left), right
    if isinstance(right, str) and isinstance(left, int | float):
        return left, _number(right, right)
    return left, right


def _number(text: str, default: Any) -> Any:
    try:
        return float(text)
    except ValueError:
        return default


def _literal(node: Node) -> Any:
    const = _get(node, "A_Const")
    if const is None:
        cast = _get(node, "TypeCast")
        return _literal(cast.get("arg")) if cast is not None else None
    if "ival" in const:
        return int(const["ival"].get("ival", 0))
    if "fval" in const:
        return _number(str(const["fval"].get("fval", "")), None)
    if "sval" in const:
        return str(const["sval"].get("sval", ""))
    if "boolval" in const:
        return bool(const["boolval"].get("boolval", False))
    return None


def _null_test(body: dict[str, Any]) -> bool | None:
    const = _get(body.get("arg"), "A_Const")
    if const is None:
        return None
    is_null = bool(const.get("isnull"))
    return is_null if body.get("nulltesttype") == "IS_NULL" else not is_null


def _self_comparison(expr: Node) -> str | None:
    """'true'/'false'/'not-distinct' when a column is compared with itself."""
    body = _get(expr, "A_Expr")
    if body is None or _get(_uncast(body.get("lexpr")), "ColumnRef") is None:
        return None
    if _strip(body.get("lexpr")) != _strip(body.get("rexpr")):
        return None
    op = _operator(body)
    if body.get("kind") == "AEXPR_NOT_DISTINCT":
        return "not-distinct"
    if body.get("kind") != "AEXPR_OP":
        return None
    if op in _SELF_TRUE_OPS:
        return "true"
    return "false" if op in _SELF_FALSE_OPS else None


def _operator(body: dict[str, Any]) -> str | None:
    names = body.get("name", [])
    return str(names[-1].get("String", {}).get("sval")) if names else None


def _strip(node: Node) -> Node:
    """The node without source locations, for structural comparison."""
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k != "location"}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _get(node: Node, name: str) -> dict[str, Any] | None:
    if isinstance(node, dict):
        value = node.get(name)
        if isinstance(value, dict):
            return value
    return None


def _mentions(node: Node, names: tuple[str, ...]) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(n in item for n in names):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
