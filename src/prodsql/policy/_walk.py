"""Walk a whole parse tree for what matters wherever it appears: data changes (also in
CTEs, PREPARE and EXPLAIN ANALYZE), row locks, function calls, and settings changed by
``SET``, ``set_config()`` or a ``SET`` clause of a function or role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prodsql.policy._conditions import condition_problem
from prodsql.policy._facts import (
    SEEN_THROUGH,
    Facts,
    Node,
    const_string,
    relation_name,
    string_of,
)

# Functions whose call is confirmed wherever it appears (see decide.py for the why).
DANGEROUS_FUNCTIONS = frozenset(
    {
        # other sessions and the server itself
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_promote",
        "pg_switch_wal",
        "pg_create_restore_point",
        "pg_wal_replay_pause",
        "pg_wal_replay_resume",
        "pg_backup_start",
        "pg_backup_stop",
        "pg_start_backup",
        "pg_stop_backup",
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_advisory_unlock",
        "pg_advisory_unlock_shared",
        "pg_advisory_unlock_all",
        "pg_advisory_xact_lock",
        "pg_advisory_xact_lock_shared",
        "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared",
        # replication
        "pg_drop_replication_slot",
        "pg_create_physical_replication_slot",
        "pg_create_logical_replication_slot",
        "pg_copy_physical_replication_slot",
        "pg_copy_logical_replication_slot",
        "pg_replication_slot_advance",
        "pg_logical_slot_get_changes",
        "pg_logical_slot_get_binary_changes",
        "pg_logical_emit_message",
        "pg_replication_origin_create",
        "pg_replication_origin_drop",
        "pg_replication_origin_advance",
        "pg_replication_origin_session_setup",
        # the server's file system and other servers
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "pg_file_write",
        "pg_file_rename",
        "pg_file_unlink",
        "pg_file_sync",
        "pg_logdir_ls",
        "lo_import",
        "lo_export",
        "lo_unlink",
        "lo_put",
        "lo_truncate",
        "lo_truncate64",
        "lo_create",
        "lo_creat",
        "lo_from_bytea",
        "lowrite",
        "lo_open",
        "dblink",
        "dblink_exec",
        "dblink_connect",
        "dblink_connect_u",
        "dblink_send_query",
        "dblink_open",
        # evidence and sequences
        "pg_stat_reset",
        "pg_stat_reset_shared",
        "pg_stat_reset_single_table_counters",
        "pg_stat_reset_single_function_counters",
        "pg_stat_reset_slru",
        "pg_stat_reset_replication_slot",
        "pg_stat_statements_reset",
        "setval",
    }
)

# Functions that change data (large objects) or notify listeners: writes, so refused in
# read-only mode. The large-object ones are also dangerous (confirmed in write mode);
# lo_open counts because a descriptor opened for writing is how lowrite() gets its target.
WRITE_FUNCTIONS = frozenset(
    {
        "lo_create",
        "lo_creat",
        "lo_from_bytea",
        "lowrite",
        "lo_put",
        "lo_truncate",
        "lo_truncate64",
        "lo_unlink",
        "lo_import",
        "lo_open",
        "pg_notify",
    }
)

# Settings nobody changes from an audited session: who is audited, what is audited,
# whether audit lines reach the log, and whether triggers/rules fire.
PROTECTED_SETTINGS = frozenset(
    {
        "application_name",
        "session_authorization",
        "role",
        "session_replication_role",
        "log_min_messages",
        "log_statement",
    }
)
PROTECTED_PREFIXES = ("pgaudit.",)
READ_ONLY_SETTINGS = frozenset({"transaction_read_only", "default_transaction_read_only"})
_FALSE_WORDS = frozenset({"off", "of", "false", "fals", "fal", "fa", "f", "no", "n", "0"})
_TRUE_WORDS = frozenset({"on", "true", "yes", "1", "t", "y", "tr", "tru", "ye"})

Handler = Callable[[dict[str, Any], Facts], Node | None]


def walk(root: Node, facts: Facts) -> None:
    """Visit every node under ``root``; handlers may replace what is descended into."""
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))  # reversed: visit in source order
            continue
        if not isinstance(node, dict):
            continue
        if "relname" in node:
            facts.read(relation_name(node))
        children: list[Node] = []
        for key, value in node.items():
            if key == "setstmt" and isinstance(value, dict):
                on_set(value, facts)
            handler = _HANDLERS.get(key)
            child = handler(value, facts) if handler is not None else value
            if isinstance(child, dict | list):
                children.append(child)
        stack.extend(reversed(children))


def walk_seen_through(root: Node, facts: Facts) -> None:
    """Walk a subtree that does not run now: keep only what it would call or change."""
    inner = Facts()
    walk(root, inner)
    facts.absorb(inner, only=SEEN_THROUGH)


def is_protected(name: str, extra: frozenset[str] = frozenset()) -> bool:
    low = name.lower()
    return low in PROTECTED_SETTINGS or low.startswith(PROTECTED_PREFIXES) or low in extra


def check_setting(name: str, facts: Facts, value: Node | None, *, how: str) -> None:
    """Record a setting change; flag the protected ones and those making a txn read-write."""
    low = name.lower()
    facts.settings.append(low)
    if is_protected(low):
        facts.flag("audit_tamper", f"{how} {low}: {_protected_why(low)}")
    if low == "standard_conforming_strings" and value is not None and not _truthy(value):
        # prodsql lexes strings the standard way; the server must not read them otherwise
        facts.flag("audit_tamper", f"{how} {low} off: the server would read strings differently")
    if low in READ_ONLY_SETTINGS and value is not None and not _truthy(value):
        facts.flag("makes_read_write", f"{how} {low}: makes the transaction read-write")


def _protected_why(name: str) -> str:
    if name == "application_name":
        return "it identifies this audited session in the server log"
    if name.startswith("pgaudit."):
        return "audit settings are not changed from an audited session"
    if name == "session_replication_role":
        return "it turns off triggers and rules, including audit triggers"
    if name.startswith("log_"):
        return "it decides what reaches the server log"
    return "it changes who the server audits"


def _truthy(value: Node) -> bool:
    const = value.get("A_Const") if isinstance(value, dict) else None
    if not isinstance(const, dict):
        return False
    if "ival" in const:
        return bool(const["ival"].get("ival", 0))
    if "boolval" in const:
        return bool(const["boolval"].get("boolval", False))
    text = const_string(value)
    return text is not None and text.strip().lower() in _TRUE_WORDS


def on_set(body: dict[str, Any], facts: Facts) -> None:
    kind = body.get("kind")
    if kind == "VAR_RESET_ALL":
        facts.flag("audit_tamper", "RESET ALL would also reset application_name")
        return
    if kind == "VAR_SET_MULTI":
        _on_set_multi(body, facts)
        return
    name = body.get("name")
    if not isinstance(name, str):
        return
    args = body.get("args") or []
    value = args[0] if kind == "VAR_SET_VALUE" and args else None
    how = "RESET" if kind == "VAR_RESET" else "SET"
    check_setting(name, facts, value, how=how)
    if kind in ("VAR_RESET", "VAR_SET_DEFAULT") and name.lower() in READ_ONLY_SETTINGS:
        # the default may well be read-write: fail closed
        what = "RESET" if kind == "VAR_RESET" else "SET ... TO DEFAULT"
        facts.flag("makes_read_write", f"{what} {name.lower()} may make the transaction read-write")


def _on_set_multi(body: dict[str, Any], facts: Facts) -> None:
    for arg in body.get("args") or []:
        elem = arg.get("DefElem", {}) if isinstance(arg, dict) else {}
        if elem.get("defname") == "transaction_read_only" and not _truthy(elem.get("arg")):
            facts.flag("makes_read_write", "SET TRANSACTION READ WRITE: makes it read-write")


def _on_variable_set(body: dict[str, Any], facts: Facts) -> Node | None:
    on_set(body, facts)
    return body


def _on_func_call(body: dict[str, Any], facts: Facts) -> Node | None:
    names = [n.get("String", {}).get("sval", "") for n in body.get("funcname", [])]
    name = str(names[-1]).lower() if names else ""
    facts.functions.append(name)
    if name in DANGEROUS_FUNCTIONS:
        facts.flag("dangerous_function", f"calls {name}()")
    if name in WRITE_FUNCTIONS:
        facts.flag("writes", f"calls {name}(), which writes")
    if name == "set_config":
        _on_set_config(body.get("args") or [], facts)
    return body


def _on_set_config(args: list[Node], facts: Facts) -> None:
    setting = const_string(args[0]) if args else None
    if setting is None:
        facts.flag("dynamic_setting", "set_config() with a setting name computed at run time")
        return
    value = args[1] if len(args) > 1 and const_string(args[1]) is not None else None
    if value is None and setting.lower() in READ_ONLY_SETTINGS:
        facts.flag("makes_read_write", f"set_config({setting}) may make the transaction read-write")
    check_setting(setting, facts, value, how="set_config()")


def _on_modify(verb: str) -> Handler:
    def handler(body: dict[str, Any], facts: Facts) -> Node | None:
        name = relation_name(body.get("relation")) or "?"
        facts.target(name)
        facts.flag("writes")
        if verb != "INSERT":
            problem = condition_problem(body.get("whereClause"))
            if problem is not None:
                facts.flag("unconditional", f"{verb} {problem} on {name}")
        return body

    return handler


def _on_merge(body: dict[str, Any], facts: Facts) -> Node | None:
    name = relation_name(body.get("relation")) or "?"
    facts.target(name)
    facts.flag("writes")
    clauses = [c.get("MergeWhenClause", {}) for c in body.get("mergeWhenClauses", [])]
    changes = [c for c in clauses if c.get("commandType") in ("CMD_UPDATE", "CMD_DELETE")]
    problem = condition_problem(body.get("joinCondition"))
    if changes and problem is not None:
        facts.flag("unconditional", f"MERGE {problem} on {name}")
    if any(c.get("matchKind") == "MERGE_WHEN_NOT_MATCHED_BY_SOURCE" for c in changes):
        facts.flag("unconditional", f"MERGE changes every row of {name} missing from the source")
    return body


def _on_select(body: dict[str, Any], facts: Facts) -> Node | None:
    if body.get("lockingClause"):
        facts.flag("row_lock", "SELECT ... FOR UPDATE/SHARE locks rows")
    into = body.get("intoClause")
    if isinstance(into, dict):
        facts.target(relation_name(into.get("rel")))
    return body


def _on_explain(body: dict[str, Any], facts: Facts) -> Node | None:
    if explains_with_analyze(body):
        return body
    walk_seen_through(body.get("query"), facts)
    return body.get("options")


def explains_with_analyze(body: dict[str, Any]) -> bool:
    """True if any ANALYZE option is not literally false: PostgreSQL takes the last one
    given, and failing closed on ``(ANALYZE on, ANALYZE off)`` costs only a question."""
    for option in body.get("options") or []:
        elem = option.get("DefElem", {})
        if elem.get("defname") == "analyze" and not _literally_false(elem.get("arg")):
            return True
    return False


def _literally_false(arg: Node) -> bool:
    if not isinstance(arg, dict):
        return False  # a bare ANALYZE
    if "Integer" in arg:
        return not arg["Integer"].get("ival", 0)
    text = const_string(arg) or string_of(arg) or ""
    return text.strip().lower() in _FALSE_WORDS


def _on_function_body(body: dict[str, Any], facts: Facts) -> Node | None:
    walk_seen_through(body.get("sql_body"), facts)
    return {k: v for k, v in body.items() if k != "sql_body"}


_HANDLERS: dict[str, Handler] = {
    "VariableSetStmt": _on_variable_set,
    "FuncCall": _on_func_call,
    "DeleteStmt": _on_modify("DELETE"),
    "UpdateStmt": _on_modify("UPDATE"),
    "InsertStmt": _on_modify("INSERT"),
    "MergeStmt": _on_merge,
    "SelectStmt": _on_select,
    "ExplainStmt": _on_explain,
    "CreateFunctionStmt": _on_function_body,
}
