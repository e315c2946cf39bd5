"""What each kind of top-level statement is: its kind, command tag and objects, and
whether write mode must confirm it (flag ``destructive``) or it is always refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from prodsql.policy._facts import Facts, Node, dotted, object_name, relation_name, string_of
from prodsql.policy._walk import explains_with_analyze, is_protected

Top = Callable[[dict[str, Any], Facts], None]

_OBJECT_WORDS = {
    "MATVIEW": "MATERIALIZED VIEW",
    "FOREIGN_TABLE": "FOREIGN TABLE",
    "FDW": "FOREIGN DATA WRAPPER",
    "FOREIGN_SERVER": "SERVER",
    "STATISTIC_EXT": "STATISTICS",
    "TSCONFIGURATION": "TEXT SEARCH CONFIGURATION",
    "TSDICTIONARY": "TEXT SEARCH DICTIONARY",
    "TSPARSER": "TEXT SEARCH PARSER",
    "TSTEMPLATE": "TEXT SEARCH TEMPLATE",
    "OPCLASS": "OPERATOR CLASS",
    "OPFAMILY": "OPERATOR FAMILY",
    "LARGEOBJECT": "LARGE OBJECT",
    "TABCONSTRAINT": "CONSTRAINT",
    "DOMCONSTRAINT": "CONSTRAINT",
}

# Command tags that the node name does not spell.
_TAGS = {
    "SelectStmt": "SELECT",
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
    "IndexStmt": "CREATE INDEX",
    "ViewStmt": "CREATE VIEW",
    "CreateStmt": "CREATE TABLE",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "AlterSeqStmt": "ALTER SEQUENCE",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
    "CreateTrigStmt": "CREATE TRIGGER",
    "CreateEventTrigStmt": "CREATE EVENT TRIGGER",
    "AlterEventTrigStmt": "ALTER EVENT TRIGGER",
    "RuleStmt": "CREATE RULE",
    "CreatePLangStmt": "CREATE LANGUAGE",
    "CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER",
    "AlterFdwStmt": "ALTER FOREIGN DATA WRAPPER",
    "CreateForeignServerStmt": "CREATE SERVER",
    "AlterForeignServerStmt": "ALTER SERVER",
    "CreateAmStmt": "CREATE ACCESS METHOD",
    "CreateOpClassStmt": "CREATE OPERATOR CLASS",
    "CreateOpFamilyStmt": "CREATE OPERATOR FAMILY",
    "AlterOpFamilyStmt": "ALTER OPERATOR FAMILY",
    "CreateStatsStmt": "CREATE STATISTICS",
    "AlterStatsStmt": "ALTER STATISTICS",
    "CompositeTypeStmt": "CREATE TYPE",
    "CreateEnumStmt": "CREATE TYPE",
    "CreateRangeStmt": "CREATE TYPE",
    "AlterEnumStmt": "ALTER TYPE",
    "AlterTSConfigurationStmt": "ALTER TEXT SEARCH CONFIGURATION",
    "AlterTSDictionaryStmt": "ALTER TEXT SEARCH DICTIONARY",
    "AlterTableSpaceOptionsStmt": "ALTER TABLESPACE",
    "AlterTableMoveAllStmt": "ALTER TABLE",
    "VariableShowStmt": "SHOW",
    "DeclareCursorStmt": "DECLARE CURSOR",
    "ClosePortalStmt": "CLOSE CURSOR",
    "LockStmt": "LOCK TABLE",
    "CheckPointStmt": "CHECKPOINT",
    "ConstraintsSetStmt": "SET CONSTRAINTS",
    "AlterDefaultPrivilegesStmt": "ALTER DEFAULT PRIVILEGES",
    "AlterRoleSetStmt": "ALTER ROLE",
    "DropOwnedStmt": "DROP OWNED",
    "ReassignOwnedStmt": "REASSIGN OWNED",
    "CommentStmt": "COMMENT",
    "SecLabelStmt": "SECURITY LABEL",
    "TruncateStmt": "TRUNCATE TABLE",
    "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
    "CreateForeignTableStmt": "CREATE FOREIGN TABLE",
    "AlterDatabaseSetStmt": "ALTER DATABASE",
    "AlterDatabaseRefreshCollStmt": "ALTER DATABASE",
    "AlterExtensionContentsStmt": "ALTER EXTENSION",
    "CreateUserMappingStmt": "CREATE USER MAPPING",
    "AlterUserMappingStmt": "ALTER USER MAPPING",
    "DropUserMappingStmt": "DROP USER MAPPING",
    "AlterObjectDependsStmt": "ALTER",
    "ExecuteStmt": "EXECUTE",
    "PrepareStmt": "PREPARE",
    "DoStmt": "DO",
    "CallStmt": "CALL",
    "CopyStmt": "COPY",
    "ExplainStmt": "EXPLAIN",
    "GrantStmt": "GRANT",
    "CreateTableSpaceStmt": "CREATE TABLESPACE",
    "DropTableSpaceStmt": "DROP TABLESPACE",
}
# Renaming a part of a table is an ALTER of the table (or view, or type).
_PARTS = frozenset({"OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_ATTRIBUTE"})

_ADDITIVE_ALTER_TABLE = frozenset(
    {
        "AT_AddColumn",
        "AT_AddColumnToView",
        "AT_ColumnDefault",
        "AT_CookedColumnDefault",
        "AT_SetNotNull",
        "AT_SetStatistics",
        "AT_SetOptions",
        "AT_ResetOptions",
        "AT_SetStorage",
        "AT_SetCompression",
        "AT_AddIndex",
        "AT_ReAddIndex",
        "AT_AddConstraint",
        "AT_ReAddConstraint",
        "AT_ValidateConstraint",
        "AT_AddIndexConstraint",
        "AT_ClusterOn",
        "AT_SetRelOptions",
        "AT_ResetRelOptions",
        "AT_ReplaceRelOptions",
        "AT_EnableTrig",
        "AT_EnableAlwaysTrig",
        "AT_EnableReplicaTrig",
        "AT_EnableTrigAll",
        "AT_EnableTrigUser",
        "AT_EnableRule",
        "AT_EnableAlwaysRule",
        "AT_EnableReplicaRule",
        "AT_AddInherit",
        "AT_AddOf",
        "AT_EnableRowSecurity",
        "AT_ForceRowSecurity",
        "AT_AttachPartition",
        "AT_AddIdentity",
        "AT_SetIdentity",
        "AT_ReAddStatistics",
        "AT_ReAddComment",
    }
)
# ALTER statements that only add or tune; every other ALTER changes what exists.
_ADDITIVE_ALTERS = frozenset({"AlterCollationStmt", "AlterStatsStmt", "AlterSeqStmt"})
_TARGET_KEYS = (
    "relation",
    "view",
    "sequence",
    "into",
    "idxname",
    "funcname",
    "defnames",
    "typeName",
    "typevar",
    "domainname",
    "schemaname",
    "dbname",
    "trigname",
    "extname",
    "servername",
    "fdwname",
    "subname",
    "pubname",
    "policy_name",
    "tablespacename",
    "eventname",
    "plname",
    "amname",
    "opclassname",
    "opfamilyname",
    "conversion_name",
    "collname",
    "object",
    "role",
    "roles",
    "name",
)


def tag_of(node_type: str, body: dict[str, Any]) -> str:
    tag = _TAGS.get(node_type)
    if tag is not None:
        return tag
    for key in ("removeType", "renameType", "objectType", "objtype", "kind"):
        value = body.get(key)
        if key == "renameType" and value in _PARTS:
            value = body.get("relationType", value)
        if isinstance(value, str) and value.startswith("OBJECT_"):
            verb = re.sub(r"([a-z])([A-Z])", r"\1 \2", node_type).split()[0].upper()
            verb = {"Rename": "ALTER", "Define": "CREATE"}.get(verb.title(), verb)
            return f"{verb} {object_word(value)}"
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", node_type.removesuffix("Stmt"))
    return words.upper()


def object_word(object_type: str) -> str:
    raw = object_type.removeprefix("OBJECT_")
    return _OBJECT_WORDS.get(raw, raw.replace("_", " "))


def targets_of(body: dict[str, Any]) -> list[str]:
    """The objects a DDL statement names, from the usual fields."""
    for key in _TARGET_KEYS:
        value = body.get(key)
        if value is None:
            continue
        if key == "into" and isinstance(value, dict):
            value = value.get("rel")
        names = _names(value)
        if names:
            return names
    return []


def _names(value: Node) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = relation_name(value) or object_name(value)
        if name is None and "names" in value:
            name = dotted(value["names"])
        if name is None and "rolename" in value:
            name = str(value["rolename"])
        return [name] if name else []
    if isinstance(value, list):
        whole = dotted(value)
        if whole is not None:
            return [whole]
        return [n for item in value for n in _names(item)]
    return []


def describe(command: str, objects: list[str]) -> str:
    return f"{command} {', '.join(objects)}".strip()


# -- per statement -------------------------------------------------------------------


def classify_top(node_type: str, body: dict[str, Any], facts: Facts) -> None:
    facts.command = tag_of(node_type, body)
    handler = _TOP.get(node_type)
    if handler is not None:
        handler(body, facts)
    else:
        _generic(node_type, body, facts)


def _generic(node_type: str, body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "ddl"
    for name in targets_of(body):
        facts.target(name)
    changes = node_type.startswith(("Alter", "Rename", "Drop"))
    additive = node_type in _ADDITIVE_ALTERS and not _restarts_sequence(body)
    if changes and not additive:
        facts.flag("destructive", f"{describe(facts.command, facts.targets)} changes what exists")
    elif body.get("replace"):
        facts.flag(
            "destructive",
            f"CREATE OR REPLACE may replace {', '.join(facts.targets) or 'an existing object'}",
        )


def _restarts_sequence(body: dict[str, Any]) -> bool:
    options = body.get("options") or []
    return any(o.get("DefElem", {}).get("defname") == "restart" for o in options)


def _set_kind(kind: str) -> Top:
    def handler(body: dict[str, Any], facts: Facts) -> None:
        facts.kind = kind

    return handler


def _select(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "read"
    if body.get("intoClause"):
        facts.kind, facts.command = "ddl", "SELECT INTO"


def _modify(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "write"


def _explain(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "read"
    if explains_with_analyze(body):
        facts.flag("analyze")


def _variable_set(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "set"
    kind = body.get("kind", "")
    if kind in ("VAR_RESET", "VAR_RESET_ALL"):
        facts.command = "RESET"
    else:
        facts.command = "SET"


def _transaction(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "transaction"
    kind = str(body.get("kind", "")).removeprefix("TRANS_STMT_")
    facts.command = {
        "START": "START TRANSACTION",
        "ROLLBACK_TO": "ROLLBACK",
        "PREPARE": "PREPARE TRANSACTION",
        "COMMIT_PREPARED": "COMMIT PREPARED",
        "ROLLBACK_PREPARED": "ROLLBACK PREPARED",
    }.get(kind, kind)
    if kind in ("PREPARE", "COMMIT_PREPARED", "ROLLBACK_PREPARED"):
        facts.flag("two_phase", f"{facts.command} acts on a two-phase transaction")
    if any(_read_write_option(o) for o in body.get("options") or []):
        facts.flag("makes_read_write", f"{facts.command} READ WRITE makes the transaction writable")


def _read_write_option(option: Node) -> bool:
    elem = option.get("DefElem", {}) if isinstance(option, dict) else {}
    if elem.get("defname") != "transaction_read_only":
        return False
    const = (elem.get("arg") or {}).get("A_Const", {})
    return not const.get("ival", {}).get("ival", 0)


def _fetch(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "read"
    facts.command = "MOVE" if body.get("ismove") else "FETCH"


def _copy(body: dict[str, Any], facts: Facts) -> None:
    name = relation_name(body.get("relation"))
    source = body.get("filename")
    reading = bool(body.get("is_from"))
    facts.kind = "write" if reading else "read"
    if reading:
        facts.target(name)
    if body.get("is_program"):
        facts.flag("program", f"COPY ... PROGRAM runs the shell command {source!r} on the server")
    elif source is not None:
        where = "from" if reading else "to"
        facts.flag("server_file", f"COPY {where} the server file {source!r}")
        facts.target(name)
    facts.flag("copy_from" if reading else "copy_to")


def _alter_table(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "ddl"
    name = relation_name(body.get("relation")) or "?"
    facts.target(name)
    for cmd in body.get("cmds") or []:
        sub = cmd.get("AlterTableCmd", {})
        subtype = str(sub.get("subtype", ""))
        if subtype not in _ADDITIVE_ALTER_TABLE:
            what = subtype.removeprefix("AT_")
            what = re.sub(r"([a-z])([A-Z])", r"\1 \2", what).upper()
            column = f" {sub['name']}" if sub.get("name") else ""
            facts.flag("destructive", f"{facts.command} {name}: {what}{column}")


def _drop(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "ddl"
    for obj in body.get("objects") or []:
        facts.target(object_name(obj) or dotted(obj))
    if not facts.targets:
        for name in targets_of(body):
            facts.target(name)
    facts.flag("destructive", describe(facts.command, facts.targets))


def _truncate(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "write"
    for rel in body.get("relations") or []:
        facts.target(relation_name(rel))
    facts.flag("writes")
    facts.flag("destructive", f"TRUNCATE removes every row of {', '.join(facts.targets)}")


def _privilege(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "privilege"
    for name in _names(body.get("objects")) or targets_of(body):
        facts.target(name)
    if not body.get("is_grant") and facts.command == "GRANT":
        facts.command = "REVOKE"
    facts.flag("destructive", f"{describe(facts.command, facts.targets)} changes privileges")


def _role(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "privilege"
    for name in targets_of(body):
        facts.target(name)
    facts.flag("destructive", f"{describe(facts.command, facts.targets)} changes roles")


def _role_set(body: dict[str, Any], facts: Facts) -> None:
    """ALTER ROLE/DATABASE ... SET: the walker checks the setting; this judges the rest."""
    facts.kind = "ddl" if facts.command == "ALTER DATABASE" else "privilege"
    for name in targets_of(body) or ["ALL"]:
        facts.target(name)
    setstmt = body.get("setstmt") or {}
    name = str(setstmt.get("name", ""))
    if setstmt.get("kind") == "VAR_RESET_ALL":
        facts.flag("audit_tamper", f"{facts.command} ... RESET ALL also resets pgaudit settings")
    elif not is_protected(name):
        facts.flag("destructive", f"{facts.command} {', '.join(facts.targets)} SET {name}")


def _vacuum(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "maintenance"
    facts.command = "VACUUM" if body.get("is_vacuumcmd") else "ANALYZE"
    for rel in body.get("rels") or []:
        facts.target(relation_name(rel.get("VacuumRelation", {}).get("relation")))
    options = {o.get("DefElem", {}).get("defname") for o in body.get("options") or []}
    if "full" in options:
        target = ", ".join(facts.targets) or "every table"
        facts.flag("destructive", f"VACUUM FULL rewrites {target} under an exclusive lock")


def _heavy(reason: str, kind: str = "maintenance") -> Top:
    def handler(body: dict[str, Any], facts: Facts) -> None:
        facts.kind = kind
        for rel in body.get("relations") or []:
            facts.target(relation_name(rel))
        for name in targets_of(body):
            facts.target(name)
        facts.flag("destructive", f"{describe(facts.command, facts.targets)}: {reason}")

    return handler


_REINDEX_BLOCKING = _heavy("rebuilds indexes, blocking writes")
_REINDEX_CONCURRENT = _heavy(
    "rebuilds indexes concurrently: writes go on, but it is long and heavy, and a failure "
    "leaves invalid indexes behind"
)


def _reindex(body: dict[str, Any], facts: Facts) -> None:
    params = body.get("params") or []
    concurrent = any(
        isinstance(p, dict) and p.get("DefElem", {}).get("defname") == "concurrently"
        for p in params
    )
    (_REINDEX_CONCURRENT if concurrent else _REINDEX_BLOCKING)(body, facts)


def _discard(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "utility"
    target = str(body.get("target", "DISCARD_ALL")).removeprefix("DISCARD_")
    facts.command = f"DISCARD {target}"
    if target == "ALL":
        facts.flag("audit_tamper", "DISCARD ALL resets the session, application_name included")


def _always_refused(reason: str, kind: str = "utility") -> Top:
    def handler(body: dict[str, Any], facts: Facts) -> None:
        facts.kind = kind
        facts.flag("audit_tamper", reason)

    return handler


def _opaque(reason: str) -> Top:
    def handler(body: dict[str, Any], facts: Facts) -> None:
        facts.kind = "opaque"
        facts.flag("opaque", reason.format(name=body.get("name", "")))

    return handler


def _comment(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "ddl"
    facts.target(object_name(body.get("object")))


def _grant_role(body: dict[str, Any], facts: Facts) -> None:
    facts.command = "GRANT ROLE" if body.get("is_grant") else "REVOKE ROLE"
    facts.kind = "privilege"
    for name in _names(body.get("granted_roles")):
        facts.target(name)
    facts.flag("destructive", f"{describe(facts.command, facts.targets)} changes role membership")


def _create_table_as(body: dict[str, Any], facts: Facts) -> None:
    _generic("CreateTableAsStmt", body, facts)
    matview = body.get("objtype") == "OBJECT_MATVIEW"
    facts.command = "CREATE MATERIALIZED VIEW" if matview else "CREATE TABLE AS"


def _cursor(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "read"
    facts.command = "DECLARE CURSOR"


def _notify(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "write"  # listeners act on it: a message to the application is a change
    facts.target(string_of(body.get("conditionname")))


def _rule(body: dict[str, Any], facts: Facts) -> None:
    _generic("RuleStmt", body, facts)
    table = relation_name(body.get("relation")) or "a table"
    facts.flag("destructive", f"CREATE RULE silently changes what statements on {table} do")


def _checkpoint(body: dict[str, Any], facts: Facts) -> None:
    facts.kind = "maintenance"
    facts.flag("destructive", "CHECKPOINT forces a burst of writes on the server")


_TOP: dict[str, Top] = {
    "SelectStmt": _select,
    "InsertStmt": _modify,
    "UpdateStmt": _modify,
    "DeleteStmt": _modify,
    "MergeStmt": _modify,
    "ExplainStmt": _explain,
    "VariableSetStmt": _variable_set,
    "VariableShowStmt": _set_kind("read"),
    "TransactionStmt": _transaction,
    "ConstraintsSetStmt": _set_kind("transaction"),
    "DeclareCursorStmt": _cursor,
    "FetchStmt": _fetch,
    "ClosePortalStmt": _set_kind("read"),
    "CopyStmt": _copy,
    "PrepareStmt": _set_kind("read"),
    "DoStmt": _set_kind("read"),
    "DeallocateStmt": _set_kind("utility"),
    "ListenStmt": _set_kind("utility"),
    "UnlistenStmt": _set_kind("utility"),
    "NotifyStmt": _notify,
    "DiscardStmt": _discard,
    "ExecuteStmt": _opaque("EXECUTE {name} runs a prepared statement that cannot be inspected"),
    "CallStmt": _opaque("CALL runs a procedure that cannot be inspected"),
    "AlterTableStmt": _alter_table,
    "DropStmt": _drop,
    "DropRoleStmt": _role,
    "DropOwnedStmt": _role,
    "ReassignOwnedStmt": _role,
    "CreateRoleStmt": _role,
    "AlterRoleStmt": _role,
    "AlterRoleSetStmt": _role_set,
    "AlterDatabaseSetStmt": _role_set,
    "GrantStmt": _privilege,
    "AlterDefaultPrivilegesStmt": _privilege,
    "GrantRoleStmt": _grant_role,
    "TruncateStmt": _truncate,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _heavy("rewrites the table under an exclusive lock"),
    "ReindexStmt": _reindex,
    "LockStmt": _heavy("takes an explicit table lock", kind="lock"),
    "CheckPointStmt": _checkpoint,
    "RuleStmt": _rule,
    "RefreshMatViewStmt": _set_kind("maintenance"),
    "CommentStmt": _comment,
    "CreateTableAsStmt": _create_table_as,
    "SecLabelStmt": _comment,
    "AlterSystemStmt": _always_refused("ALTER SYSTEM changes the server's configuration", "ddl"),
    "LoadStmt": _always_refused("LOAD loads a shared library into the session"),
}
