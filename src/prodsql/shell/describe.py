"""The catalog queries behind ``\\d``, ``\\dt``, ``\\dv``, ``\\di``, ``\\dn``, ``\\df``, ``\\du``
and ``\\l``. They are sent as internal statements (tagged and trailed).

Patterns follow psql: ``*`` and ``?`` are wildcards, ``schema.name`` splits, unquoted
text is folded to lower case. The pattern is embedded as a string literal (standard
conforming strings: only ``'`` needs doubling) holding a regular expression in which every
other character matches itself, so no name can make the query fail and abort the user's
open transaction.

``\\d NAME`` asks what psql 15 asks (see ``describeOneTableDetails`` in psql's
``describe.c``), in three queries: the relations the name matches with their header
(:func:`find_relations`), the column table (:func:`relation_columns`) and every footer as
one JSON object (:func:`relation_footers`). Everything after the lookup is by OID;
``describe_format`` turns the answers into psql's layout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_SYSTEM = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'"
_RELKINDS = {
    "d": ("r", "p", "v", "m", "S", "f"),
    "dt": ("r", "p"),
    "dv": ("v",),
    "dm": ("m",),
    "ds": ("S",),
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
    """psql 15's ``\\du``: the attributes in its words and order (the connection limit
    and the password expiry on lines of their own), and the roles each is a member of."""
    cond = f"r.rolname ~ {literal(_to_regex(pattern))}" if pattern else "r.rolname !~ '^pg_'"
    flags = (
        "concat_ws(', ', "
        "CASE WHEN r.rolsuper THEN 'Superuser' END, "
        "CASE WHEN NOT r.rolinherit THEN 'No inheritance' END, "
        "CASE WHEN r.rolcreaterole THEN 'Create role' END, "
        "CASE WHEN r.rolcreatedb THEN 'Create DB' END, "
        "CASE WHEN NOT r.rolcanlogin THEN 'Cannot login' END, "
        "CASE WHEN r.rolreplication THEN 'Replication' END, "
        "CASE WHEN r.rolbypassrls THEN 'Bypass RLS' END)"
    )
    limit = (
        "CASE WHEN r.rolconnlimit = 0 THEN 'No connections' "
        "WHEN r.rolconnlimit = 1 THEN '1 connection' "
        "WHEN r.rolconnlimit > 1 THEN r.rolconnlimit || ' connections' END"
    )
    until = "'Password valid until ' || r.rolvaliduntil"
    return (
        'SELECT r.rolname AS "Role name", '
        f"concat_ws(E'\\n', nullif({flags}, ''), {limit}, {until}) AS \"Attributes\", "
        "ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON m.roleid = b.oid "
        'WHERE m.member = r.oid)::text AS "Member of" '
        f"FROM pg_roles r WHERE {cond} ORDER BY 1"
    )


_POLICY_LINE = (
    "polname || CASE WHEN NOT polpermissive THEN E' (RESTRICTIVE)' ELSE '' END "
    "|| CASE WHEN polcmd <> '*' THEN E' (' || polcmd::text || E'):' ELSE E':' END "
    "|| CASE WHEN polqual IS NOT NULL THEN E'\\n  (u): ' || pg_get_expr(polqual, polrelid) "
    "ELSE E'' END "
    "|| CASE WHEN polwithcheck IS NOT NULL "
    "THEN E'\\n  (c): ' || pg_get_expr(polwithcheck, polrelid) ELSE E'' END "
    "|| CASE WHEN polroles <> '{0}' THEN E'\\n  to: ' || array_to_string(ARRAY("
    "SELECT rolname FROM pg_roles WHERE oid = ANY (polroles) ORDER BY 1), E', ') "
    "ELSE E'' END"
)


def list_privileges(pattern: str | None) -> str:
    """psql 15's ``\\dp``: table, column and row-level privileges."""
    if pattern:
        where = name_filter(pattern, "n.nspname", "c.relname")
        if "." not in pattern:
            where += " AND pg_table_is_visible(c.oid)"
    else:
        where = "n.nspname !~ '^pg_' AND pg_table_is_visible(c.oid)"
    kinds = (
        "CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' "
        "WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' "
        "WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' END"
    )
    columns = (
        "SELECT attname || E':\\n  ' || array_to_string(attacl, E'\\n  ') "
        "FROM pg_attribute a WHERE attrelid = c.oid AND NOT attisdropped "
        "AND attacl IS NOT NULL"
    )
    return (
        f'SELECT n.nspname AS "Schema", c.relname AS "Name", {kinds} AS "Type", '
        "array_to_string(c.relacl, E'\\n') AS \"Access privileges\", "
        f"array_to_string(ARRAY({columns}), E'\\n') AS \"Column privileges\", "
        f"array_to_string(ARRAY(SELECT {_POLICY_LINE} FROM pg_policy pol "
        "WHERE polrelid = c.oid), E'\\n') AS \"Policies\" "
        "FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p') AND {where} ORDER BY 1, 2"
    )


def list_extensions(pattern: str | None) -> str:
    """psql 15's ``\\dx``."""
    cond = f"WHERE e.extname ~ {literal(_to_regex(pattern))} " if pattern else ""
    return (
        'SELECT e.extname AS "Name", e.extversion AS "Version", n.nspname AS "Schema", '
        'c.description AS "Description" '
        "FROM pg_extension e LEFT JOIN pg_namespace n ON n.oid = e.extnamespace "
        "LEFT JOIN pg_description c ON c.objoid = e.oid "
        "AND c.classoid = 'pg_extension'::regclass "
        f"{cond}ORDER BY 1"
    )


def list_databases(pattern: str | None) -> str:
    """psql 15's ``\\l``."""
    cond = f"WHERE d.datname ~ {literal(_to_regex(pattern))} " if pattern else ""
    return (
        'SELECT d.datname AS "Name", pg_get_userbyid(d.datdba) AS "Owner", '
        'pg_encoding_to_char(d.encoding) AS "Encoding", d.datcollate AS "Collate", '
        'd.datctype AS "Ctype", d.daticulocale AS "ICU Locale", '
        "CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END "
        'AS "Locale Provider", '
        "array_to_string(d.datacl, E'\\n') AS \"Access privileges\" "
        f"FROM pg_database d {cond}ORDER BY 1"
    )


# -- \d NAME ------------------------------------------------------------------
# Relation kinds whose columns psql shows with Collation, Nullable and Default.
DETAIL_KINDS = frozenset("rvmfcp")
INDEX_KINDS = frozenset("iI")
# The kinds that get psql's table footers (indexes, constraints, policies ...).
TABLE_KINDS = frozenset("rmfpt")
# The kinds that may sit in a tablespace of their own.
TABLESPACE_KINDS = frozenset("rmipIt")


class PatternError(ValueError):
    """A pattern psql would reject before asking the server anything."""


@dataclass(frozen=True, slots=True)
class NamePattern:
    """A ``\\d`` pattern: regular expressions for the name and the schema (None: any
    name), whether a schema part was given (then the search path's visibility does not
    apply), and the database part, as plain text."""

    name: str | None
    schema: str | None = None
    schema_given: bool = False
    database: str | None = None
    wildcard: bool = False


def split_args(args: str) -> list[str]:
    """The patterns of ``\\d a "b c"``: split on blanks outside double quotes."""
    out: list[str] = []
    current, quoted = "", False
    for ch in args:
        if ch == '"':
            quoted = not quoted
        if ch.isspace() and not quoted:
            if current:
                out.append(current)
            current = ""
        else:
            current += ch
    return [*out, current] if current else out


def has_wildcard(pattern: str) -> bool:
    """Does the pattern stand for many names (``*`` or ``?`` outside double quotes)?"""
    try:
        return parse_pattern(pattern).wildcard
    except PatternError:
        return False


def parse_pattern(pattern: str) -> NamePattern:
    """psql's reading of a pattern (``patternToSQLRegex``): ``.`` splits outside double
    quotes, ``""`` inside them is a quote, unquoted ASCII letters fold to lower case, ``*``
    and ``?`` are wildcards. Unlike psql, every other character matches itself: a stray
    ``(`` must not become a regex error that aborts the user's transaction."""
    regex: list[list[str]] = [[]]
    text: list[list[str]] = [[]]
    quoted, wildcard, i = False, False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == '"' and quoted and pattern[i + 1 : i + 2] == '"':
            regex[-1].append('"')
            text[-1].append('"')
            i += 1
        elif ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            regex.append([])
            text.append([])
        else:
            if not quoted and ch in "*?":
                regex[-1].append(".*" if ch == "*" else ".")
                wildcard = True
            else:
                ch = ch.lower() if not quoted and "A" <= ch <= "Z" else ch
                regex[-1].append(re.escape(ch))
            text[-1].append(ch)
        i += 1
    if len(regex) > 3:
        raise PatternError(f"improper qualified name (too many dotted names): {pattern}")
    return NamePattern(
        name=_anchored(regex[-1]),
        schema=_anchored(regex[-2]) if len(regex) > 1 else None,
        schema_given=len(regex) > 1,
        database="".join(text[0]) if len(regex) == 3 else None,
        wildcard=wildcard,
    )


def _anchored(pieces: list[str]) -> str | None:
    # As psql: "*" alone needs no condition; an empty part matches only the empty name.
    body = "".join(pieces)
    return None if body == ".*" else f"^({body})$"


@dataclass(frozen=True, slots=True)
class Relation:
    """One relation ``\\d`` describes: what :func:`find_relations` returned for it."""

    oid: int
    schema: str
    name: str
    kind: str
    persistence: str = "p"
    checks: int = 0
    has_index: bool = False
    has_rules: bool = False
    has_triggers: bool = False
    row_security: bool = False
    force_row_security: bool = False
    is_partition: bool = False
    tablespace: int = 0
    of_type: str = ""
    server_version: int = 150000

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Relation:
        """A row of :func:`find_relations` (values as the server's text)."""
        flag = [v in ("t", True) for v in row[6:12]]
        return cls(
            oid=int(row[0]),  # int(): the OID is pasted into later queries
            schema=str(row[1]),
            name=str(row[2]),
            kind=str(row[3]),
            persistence=str(row[4]),
            checks=int(row[5]),
            has_index=flag[0],
            has_rules=flag[1],
            has_triggers=flag[2],
            row_security=flag[3],
            force_row_security=flag[4],
            is_partition=flag[5],
            tablespace=int(row[12]),
            of_type=str(row[13] or ""),
            server_version=int(row[14]),
        )


def find_relations(pattern: str) -> str:
    """Every relation the pattern names, as psql looks them up: an unqualified name
    only among the relations visible on the search path, any relation kind."""
    p = parse_pattern(pattern)
    cond = ["true"]
    if p.name is not None:
        cond.append(
            f"c.relname OPERATOR(pg_catalog.~) {literal(p.name)} COLLATE pg_catalog.default"
        )
    if p.schema is not None:
        cond.append(
            f"n.nspname OPERATOR(pg_catalog.~) {literal(p.schema)} COLLATE pg_catalog.default"
        )
    if not p.schema_given:
        cond.append("pg_catalog.pg_table_is_visible(c.oid)")
    if p.database is not None:  # psql refuses other databases; here they match nothing
        cond.append(f"pg_catalog.current_database() = {literal(p.database)}")
    return (
        "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.relchecks, "
        "c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, "
        "c.relforcerowsecurity, c.relispartition, c.reltablespace, "
        "CASE WHEN c.reloftype = 0 THEN '' "
        "ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, "
        "pg_catalog.current_setting('server_version_num')::pg_catalog.int4 "
        "FROM pg_catalog.pg_class c "
        "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE {' AND '.join(cond)} ORDER BY 2, 3"
    )


def relation_columns(rel: Relation) -> str:
    """The table under the title: the sequence's parameters, or one row per column."""
    oid = f"'{rel.oid}'"
    if rel.kind == "S":
        return (
            'SELECT pg_catalog.format_type(seqtypid, NULL) AS "Type", seqstart AS "Start", '
            'seqmin AS "Minimum", seqmax AS "Maximum", seqincrement AS "Increment", '
            "CASE WHEN seqcycle THEN 'yes' ELSE 'no' END AS \"Cycles?\", "
            f'seqcache AS "Cache" FROM pg_catalog.pg_sequence WHERE seqrelid = {oid}'
        )
    cols = ["a.attname", "pg_catalog.format_type(a.atttypid, a.atttypmod)"]
    if rel.kind in DETAIL_KINDS:
        cols += [
            "(SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) "
            "FROM pg_catalog.pg_attrdef d "
            "WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef)",
            "a.attnotnull",
            "(SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t "
            "WHERE c.oid = a.attcollation AND t.oid = a.atttypid "
            "AND a.attcollation <> t.typcollation)",
            "a.attidentity",
            "a.attgenerated",
        ]
    if rel.kind in INDEX_KINDS:
        cols += [
            "CASE WHEN a.attnum <= (SELECT i.indnkeyatts FROM pg_catalog.pg_index i "
            f"WHERE i.indexrelid = {oid}) THEN 'yes' ELSE 'no' END",
            "pg_catalog.pg_get_indexdef(a.attrelid, a.attnum, true)",
        ]
    if rel.kind == "f":
        cols.append(
            "CASE WHEN attfdwoptions IS NULL THEN '' ELSE '(' || "
            "pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.quote_ident(option_name) "
            "|| ' ' || pg_catalog.quote_literal(option_value) "
            "FROM pg_catalog.pg_options_to_table(attfdwoptions)), ', ') || ')' END"
        )
    return (
        f"SELECT {', '.join(cols)} FROM pg_catalog.pg_attribute a "
        f"WHERE a.attrelid = {oid} AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum"
    )


def relation_footers(rel: Relation) -> str | None:
    """Everything psql prints under the table, as one JSON object whose keys are the
    sections that apply to this relation (None: no footer can apply, no query)."""
    sections = _footer_sections(rel)
    if not sections:
        return None
    pairs = ", ".join(f"{literal(key)}, {sql}" for key, sql in sections)
    return f"SELECT pg_catalog.json_build_object({pairs})"


def _footer_sections(rel: Relation) -> list[tuple[str, str]]:
    oid, kind = f"'{rel.oid}'", rel.kind
    out: list[tuple[str, str]] = []
    if rel.is_partition:
        out.append(("partition_of", _partition_of(oid, rel.server_version)))
    if kind == "p":
        out.append(("partition_key", f"pg_catalog.pg_get_partkeydef({oid}::pg_catalog.oid)"))
    if kind == "t":
        out.append(("owning_table", _owning_table(oid)))
    if kind == "S":
        out.append(("owned_by", _owned_by(oid)))
    if kind in INDEX_KINDS:
        out.append(("index", _index_info(oid, rel.server_version)))
    if kind in TABLE_KINDS:
        out += _table_sections(rel, oid)
    if rel.has_triggers:
        out.append(("triggers", _triggers(oid, rel.server_version)))
    if kind in TABLE_KINDS or kind == "I":
        out += _finishing_sections(rel, oid)
    if kind in TABLESPACE_KINDS and rel.tablespace:
        out.append(("tablespace", _tablespace(rel.tablespace)))
    return out


def _table_sections(rel: Relation, oid: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if rel.has_index:
        out.append(("indexes", _indexes(oid)))
    if rel.checks:
        out.append(("checks", _checks(oid)))
    if rel.has_triggers or rel.kind == "p":
        partitioned = rel.is_partition or rel.kind == "p"
        out.append(("foreign_keys", _foreign_keys(oid, partitioned)))
        out.append(("referenced_by", _referenced_by(oid)))
    out.append(("policies", _policies(oid)))
    if rel.server_version >= 140000:  # expression statistics: psql 15's own layout
        out.append(("statistics", _statistics(oid)))
    if rel.has_rules and rel.kind != "m":
        out.append(("rules", _rules(oid)))
    out.append(("publications", _publications(oid, rel.server_version)))
    return out


def _finishing_sections(rel: Relation, oid: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if rel.kind == "f":
        out.append(("server", _foreign_server(oid)))
    out.append(("inherits", _inherits(oid)))
    out.append(("children", _children(oid)))
    return out


def _agg(fields: str, source: str, order: str) -> str:
    """A JSON array of objects, one per row of ``source``, in psql's order."""
    return (
        f"(SELECT pg_catalog.json_agg(pg_catalog.json_build_object({fields}) ORDER BY {order}) "
        f"{source})"
    )


def _partition_of(oid: str, version: int) -> str:
    pending = "i.inhdetachpending" if version >= 140000 else "false"
    return _agg(
        "'parent', i.inhparent::pg_catalog.regclass::pg_catalog.text, "
        "'bound', pg_catalog.pg_get_expr(c.relpartbound, c.oid), "
        f"'detach_pending', {pending}",
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_inherits i ON c.oid = i.inhrelid "
        f"WHERE c.oid = {oid}",
        "i.inhseqno",
    )


def _owning_table(oid: str) -> str:
    return _agg(
        "'schema', n.nspname, 'name', c.relname",
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.reltoastrelid = {oid}",
        "c.oid",
    )


def _owned_by(oid: str) -> str:
    return _agg(
        "'column', pg_catalog.quote_ident(n.nspname) || '.' || "
        "pg_catalog.quote_ident(c.relname) || '.' || pg_catalog.quote_ident(a.attname), "
        "'deptype', d.deptype",
        "FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_depend d ON c.oid = d.refobjid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid "
        "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
        "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
        f"AND d.objid = {oid} AND d.deptype IN ('a', 'i')",
        "c.oid",
    )


def _constraint_flag(column: str) -> str:
    return (
        "(NOT i.indimmediate) AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint "
        "WHERE conrelid = i.indrelid AND conindid = i.indexrelid "
        f"AND contype IN ('p', 'u', 'x') AND {column})"
    )


def _index_info(oid: str, version: int) -> str:
    nulls = "i.indnullsnotdistinct" if version >= 150000 else "false"
    return _agg(
        "'unique', i.indisunique, 'primary', i.indisprimary, "
        "'clustered', i.indisclustered, 'valid', i.indisvalid, "
        f"'deferrable', {_constraint_flag('condeferrable')}, "
        f"'deferred', {_constraint_flag('condeferred')}, "
        f"'replident', i.indisreplident, 'nulls_not_distinct', {nulls}, "
        "'am', a.amname, 'table', c2.relname, "
        "'predicate', pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)",
        "FROM pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_class c2, "
        f"pg_catalog.pg_am a WHERE i.indexrelid = c.oid AND c.oid = {oid} "
        "AND c.relam = a.oid AND i.indrelid = c2.oid",
        "c2.oid",
    )


def _indexes(oid: str) -> str:
    return _agg(
        "'name', c2.relname, 'primary', i.indisprimary, 'unique', i.indisunique, "
        "'clustered', i.indisclustered, 'valid', i.indisvalid, "
        "'indexdef', pg_catalog.pg_get_indexdef(i.indexrelid, 0, true), "
        "'condef', pg_catalog.pg_get_constraintdef(con.oid, true), "
        "'contype', con.contype, 'deferrable', con.condeferrable, "
        "'deferred', con.condeferred, 'replident', i.indisreplident, "
        "'tablespace', ts.spcname",
        "FROM pg_catalog.pg_index i "
        "JOIN pg_catalog.pg_class c2 ON c2.oid = i.indexrelid "
        "LEFT JOIN pg_catalog.pg_constraint con ON con.conrelid = i.indrelid "
        "AND con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x') "
        "LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = c2.reltablespace "
        f"WHERE i.indrelid = {oid}",
        "i.indisprimary DESC, c2.relname",
    )


def _checks(oid: str) -> str:
    return _agg(
        "'name', r.conname, 'def', pg_catalog.pg_get_constraintdef(r.oid, true)",
        f"FROM pg_catalog.pg_constraint r WHERE r.conrelid = {oid} AND r.contype = 'c'",
        "r.conname",
    )


def _foreign_keys(oid: str, partitioned: bool) -> str:
    fields = (
        f"'sametable', r.conrelid = {oid}::pg_catalog.regclass, 'name', r.conname, "
        "'def', pg_catalog.pg_get_constraintdef(r.oid, true), "
        "'ontable', r.conrelid::pg_catalog.regclass::pg_catalog.text"
    )
    if partitioned:  # this table's constraints first, then those of its ancestors
        source = (
            "FROM pg_catalog.pg_constraint r, pg_catalog.pg_partition_ancestors("
            f"{oid}::pg_catalog.regclass) WHERE r.conrelid = relid AND r.contype = 'f' "
            "AND r.conparentid = 0"
        )
    else:
        source = (
            f"FROM pg_catalog.pg_constraint r WHERE r.conrelid = {oid} AND r.contype = 'f' "
            "AND r.conparentid = 0"
        )
    return _agg(fields, source, f"r.conrelid = {oid}::pg_catalog.regclass DESC, r.conname")


def _referenced_by(oid: str) -> str:
    return _agg(
        "'name', r.conname, 'ontable', r.conrelid::pg_catalog.regclass::pg_catalog.text, "
        "'def', pg_catalog.pg_get_constraintdef(r.oid, true)",
        "FROM pg_catalog.pg_constraint r WHERE r.confrelid IN "
        f"(SELECT pg_catalog.pg_partition_ancestors({oid}::pg_catalog.regclass) "
        f"UNION ALL VALUES ({oid}::pg_catalog.regclass)) "
        "AND r.contype = 'f' AND r.conparentid = 0",
        "r.conname",
    )


def _policies(oid: str) -> str:
    return _agg(
        "'name', pol.polname, 'permissive', pol.polpermissive, "
        "'roles', CASE WHEN pol.polroles = '{0}' THEN NULL ELSE "
        "pg_catalog.array_to_string(ARRAY(SELECT rolname FROM pg_catalog.pg_roles "
        "WHERE oid = ANY (pol.polroles) ORDER BY 1), ',') END, "
        "'using', pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), "
        "'check', pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid), "
        "'cmd', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' "
        "WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' END",
        f"FROM pg_catalog.pg_policy pol WHERE pol.polrelid = {oid}",
        "pol.polname",
    )


def _statistics(oid: str) -> str:
    return _agg(
        "'table', stxrelid::pg_catalog.regclass::pg_catalog.text, "
        "'schema', stxnamespace::pg_catalog.regnamespace::pg_catalog.text, "
        "'name', stxname, "
        "'columns', pg_catalog.pg_get_statisticsobjdef_columns(oid), "
        "'ndistinct', 'd' = ANY (stxkind), 'dependencies', 'f' = ANY (stxkind), "
        "'mcv', 'm' = ANY (stxkind), 'target', stxstattarget",
        f"FROM pg_catalog.pg_statistic_ext WHERE stxrelid = {oid}",
        "stxnamespace::pg_catalog.regnamespace::pg_catalog.text, stxname",
    )


def _rules(oid: str) -> str:
    return _agg(
        "'name', r.rulename, "
        "'def', pg_catalog.rtrim(pg_catalog.pg_get_ruledef(r.oid, true), ';'), "
        "'enabled', r.ev_enabled",
        f"FROM pg_catalog.pg_rewrite r WHERE r.ev_class = {oid}",
        "r.rulename",
    )


def _publications(oid: str, version: int) -> str:
    publishable = f"pg_catalog.pg_relation_is_publishable({oid}::pg_catalog.regclass)"
    all_tables = (
        "SELECT pubname, NULL, NULL FROM pg_catalog.pg_publication p "
        f"WHERE p.puballtables AND {publishable}"
    )
    if version < 150000:
        by_table = (
            "SELECT pubname, NULL, NULL FROM pg_catalog.pg_publication p "
            "JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid "
            f"WHERE pr.prrelid = {oid}"
        )
        union = f"{by_table} UNION ALL {all_tables}"
    else:
        union = (
            "SELECT pubname, NULL, NULL FROM pg_catalog.pg_publication p "
            "JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid "
            "JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid "
            f"WHERE pc.oid = {oid} AND {publishable} "
            "UNION SELECT pubname, pg_catalog.pg_get_expr(pr.prqual, c.oid), "
            "(CASE WHEN pr.prattrs IS NOT NULL THEN (SELECT pg_catalog.string_agg(attname, ', ') "
            "FROM pg_catalog.generate_series(0, "
            "pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s, "
            "pg_catalog.pg_attribute WHERE attrelid = pr.prrelid AND attnum = prattrs[s]) "
            "ELSE NULL END) FROM pg_catalog.pg_publication p "
            "JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid "
            "JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid "
            f"WHERE pr.prrelid = {oid} UNION {all_tables}"
        )
    return _agg(
        "'name', pub.name, 'filter', pub.filter, 'columns', pub.columns",
        f"FROM ({union}) AS pub(name, filter, columns)",
        "pub.name",
    )


def _triggers(oid: str, version: int) -> str:
    parent = (
        "CASE WHEN t.tgparentid != 0 THEN (SELECT u.tgrelid::pg_catalog.regclass::pg_catalog.text "
        "FROM pg_catalog.pg_trigger AS u, pg_catalog.pg_partition_ancestors(t.tgrelid) "
        "WITH ORDINALITY AS a(relid, depth) WHERE u.tgname = t.tgname "
        "AND u.tgrelid = a.relid AND u.tgparentid = 0 ORDER BY a.depth LIMIT 1) END"
        if version >= 130000
        else "NULL"
    )
    # Before 15, a partition's inherited triggers are internal but must be shown.
    shown = (
        "(NOT t.tgisinternal OR (t.tgisinternal AND t.tgenabled = 'D'))"
        if version >= 150000
        else "(NOT t.tgisinternal OR (t.tgisinternal AND t.tgenabled = 'D') "
        "OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend WHERE objid = t.oid "
        "AND refclassid = 'pg_catalog.pg_trigger'::pg_catalog.regclass))"
    )
    return _agg(
        "'name', t.tgname, 'def', pg_catalog.pg_get_triggerdef(t.oid, true), "
        f"'enabled', t.tgenabled, 'internal', t.tgisinternal, 'parent', {parent}",
        f"FROM pg_catalog.pg_trigger t WHERE t.tgrelid = {oid} AND {shown}",
        "t.tgname",
    )


def _foreign_server(oid: str) -> str:
    return _agg(
        "'name', s.srvname, 'options', pg_catalog.array_to_string(ARRAY("
        "SELECT pg_catalog.quote_ident(option_name) || ' ' || "
        "pg_catalog.quote_literal(option_value) "
        "FROM pg_catalog.pg_options_to_table(ftoptions)), ', ')",
        "FROM pg_catalog.pg_foreign_table f, pg_catalog.pg_foreign_server s "
        f"WHERE f.ftrelid = {oid} AND s.oid = f.ftserver",
        "s.oid",
    )


def _inherits(oid: str) -> str:
    return _agg(
        "'parent', c.oid::pg_catalog.regclass::pg_catalog.text",
        "FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i "
        f"WHERE c.oid = i.inhparent AND i.inhrelid = {oid} "
        "AND c.relkind != 'p' AND c.relkind != 'I'",
        "i.inhseqno",
    )


def _children(oid: str) -> str:
    # \d (without +) prints only how many.
    return f"(SELECT pg_catalog.count(*) FROM pg_catalog.pg_inherits i WHERE i.inhparent = {oid})"


def _tablespace(tablespace: int) -> str:
    return f"(SELECT spcname FROM pg_catalog.pg_tablespace WHERE oid = '{int(tablespace)}')"
