"""The catalog queries behind ``\\d``, ``\\dt``, ``\\dv``, ``\\di``, ``\\dn``, ``\\df``, ``\\du``
and ``\\l``. They are sent as internal statements (tagged and trailed).

Patterns follow psql: ``*`` and ``?`` are wildcards, ``schema.name`` splits, unquoted
text is folded to lower case. The pattern is embedded as a string literal (standard
conforming strings: only ``'`` needs doubling), and lookups use ``to_regclass`` so a
missing name never raises an error that would abort the user's open transaction.
"""

from __future__ import annotations

import re

_SYSTEM = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'"
_RELKINDS = {
    "d": ("r", "p", "v", "m", "S", "f"),
    "dt": ("r", "p"),
    "dv": ("v", "m"),
    "di": ("i", "I"),
}
_RELKIND_NAMES = (
    "CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' "
    "WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' "
    "WHEN 'f' THEN 'foreign table' WHEN 'i' THEN 'index' WHEN 'I' THEN 'partitioned index' "
    "END"
)


def literal(text: str) -> str:
    if "\x00" in text:
        raise ValueError("a pattern cannot contain a NUL byte")
    return "'" + text.replace("'", "''") + "'"


def _to_regex(part: str) -> str:
    if len(part) >= 2 and part.startswith('"') and part.endswith('"'):
        return "^" + re.escape(part[1:-1]) + "$"
    out = []
    for ch in part.lower():
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return "^(" + "".join(out) + ")$"


def name_filter(pattern: str | None, schema_col: str, name_col: str) -> str:
    """A WHERE condition for a psql pattern; system schemas only when named."""
    if not pattern:
        return _SYSTEM
    schema, _, name = pattern.rpartition(".")
    cond = [f"{name_col} ~ {literal(_to_regex(name))}"] if name and name != "*" else []
    if schema:
        cond.append(f"{schema_col} ~ {literal(_to_regex(schema))}")
    else:
        cond.append(_SYSTEM)
    return " AND ".join(cond)


def list_relations(kind: str, pattern: str | None) -> str:
    kinds = ", ".join(f"'{k}'" for k in _RELKINDS[kind])
    table = (
        ", (SELECT t.relname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
        'WHERE i.indexrelid = c.oid) AS "Table"'
        if kind == "di"
        else ""
    )
    return (
        f'SELECT n.nspname AS "Schema", c.relname AS "Name", {_RELKIND_NAMES} AS "Type", '
        f'pg_get_userbyid(c.relowner) AS "Owner"{table} '
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ({kinds}) AND {name_filter(pattern, 'n.nspname', 'c.relname')} "
        "ORDER BY 1, 2"
    )


def describe_columns(name: str) -> str:
    rel = f"to_regclass({literal(name)})"
    return (
        'SELECT a.attname AS "Column", format_type(a.atttypid, a.atttypmod) AS "Type", '
        "CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS \"Nullable\", "
        "coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS \"Default\" "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        f"WHERE a.attrelid = {rel} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    )


def describe_indexes(name: str) -> str:
    return (
        'SELECT c.relname AS "Index", pg_get_indexdef(i.indexrelid) AS "Definition" '
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        f"WHERE i.indrelid = to_regclass({literal(name)}) ORDER BY 1"
    )


def list_schemas(pattern: str | None) -> str:
    cond = (
        f"n.nspname ~ {literal(_to_regex(pattern))}"
        if pattern
        else "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
    )
    return (
        'SELECT n.nspname AS "Name", pg_get_userbyid(n.nspowner) AS "Owner" '
        f"FROM pg_namespace n WHERE {cond} ORDER BY 1"
    )


def list_functions(pattern: str | None) -> str:
    return (
        'SELECT n.nspname AS "Schema", p.proname AS "Name", '
        'pg_get_function_result(p.oid) AS "Result data type", '
        'pg_get_function_arguments(p.oid) AS "Argument data types", '
        "CASE p.prokind WHEN 'a' THEN 'agg' WHEN 'w' THEN 'window' WHEN 'p' THEN 'proc' "
        "ELSE 'func' END AS \"Type\" "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE {name_filter(pattern, 'n.nspname', 'p.proname')} ORDER BY 1, 2, 4"
    )


def list_roles(pattern: str | None) -> str:
    cond = f"r.rolname ~ {literal(_to_regex(pattern))}" if pattern else "r.rolname !~ '^pg_'"
    return (
        "SELECT r.rolname AS \"Role name\", concat_ws(', ', "
        "CASE WHEN r.rolsuper THEN 'Superuser' END, "
        "CASE WHEN r.rolcreaterole THEN 'Create role' END, "
        "CASE WHEN r.rolcreatedb THEN 'Create DB' END, "
        "CASE WHEN NOT r.rolcanlogin THEN 'Cannot login' END) AS \"Attributes\" "
        f"FROM pg_roles r WHERE {cond} ORDER BY 1"
    )


def list_databases(pattern: str | None) -> str:
    cond = f"WHERE d.datname ~ {literal(_to_regex(pattern))} " if pattern else ""
    return (
        'SELECT d.datname AS "Name", pg_get_userbyid(d.datdba) AS "Owner", '
        'pg_encoding_to_char(d.encoding) AS "Encoding" '
        f"FROM pg_database d {cond}ORDER BY 1"
    )


def has_wildcard(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?")
