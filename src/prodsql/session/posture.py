"""The session's audit posture: what pgAudit will log for it, read from the server."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

ALL_CLASSES = frozenset({"read", "write", "function", "role", "ddl", "misc", "misc_set"})

# One round trip reads everything prodsql needs to know about the session.
# A pgaudit.* placeholder (set without the library loaded) is not in pg_settings,
# so the pg_settings lookup proves the module is really loaded.
POSTURE_SQL = """SELECT
  (SELECT setting FROM pg_settings WHERE name = 'pgaudit.log'),
  current_setting('pgaudit.log_client', true),
  current_setting('pgaudit.log_level', true),
  current_setting('pgaudit.log_parameter', true),
  current_setting('pgaudit.log_relation', true),
  current_setting('pgaudit.log_statement', true),
  current_setting('pgaudit.log_statement_once', true),
  current_setting('pgaudit.role', true),
  (SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'),
  pg_backend_pid(),
  (SELECT to_hex(trunc(extract(epoch FROM a.backend_start))::bigint) || '.' || to_hex(a.pid)
     FROM pg_stat_get_activity(pg_backend_pid()) AS a),
  current_user,
  session_user,
  current_database(),
  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
  current_setting('server_version'),
  current_setting('application_name'),
  current_setting('default_transaction_read_only'),
  current_setting('log_min_messages')"""


@dataclass(frozen=True, slots=True)
class Posture:
    """What the server said about this session."""

    pgaudit_log: str | None
    log_client: str | None
    log_level: str | None
    log_parameter: str | None
    log_relation: str | None
    log_statement: str | None
    log_statement_once: str | None
    audit_role: str | None
    extension_version: str | None
    backend_pid: int
    server_session_id: str
    db_user: str
    session_user: str
    dbname: str
    superuser: bool
    server_version: str
    application_name: str
    read_only: bool
    log_min_messages: str = "warning"

    @classmethod
    def from_row(cls, row: Sequence[str | None]) -> Posture:
        r = list(row)
        return cls(
            pgaudit_log=r[0],
            log_client=r[1],
            log_level=r[2],
            log_parameter=r[3],
            log_relation=r[4],
            log_statement=r[5],
            log_statement_once=r[6],
            audit_role=r[7],
            extension_version=r[8],
            backend_pid=int(r[9] or 0),
            server_session_id=r[10] or "",
            db_user=r[11] or "",
            session_user=r[12] or "",
            dbname=r[13] or "",
            superuser=r[14] == "t",
            server_version=r[15] or "",
            application_name=r[16] or "",
            read_only=r[17] == "on",
            log_min_messages=(r[18] if len(r) > 18 else None) or "warning",
        )

    @property
    def loaded(self) -> bool:
        return self.pgaudit_log is not None

    @property
    def classes(self) -> frozenset[str]:
        return effective_classes(self.pgaudit_log or "none")

    def as_record(self) -> dict[str, object]:
        record = asdict(self)
        record["classes"] = sorted(self.classes)
        return record


def effective_classes(setting: str) -> frozenset[str]:
    """pgAudit's class list, evaluated left to right: ``all, -misc`` etc."""
    result: set[str] = set()
    for raw in setting.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        minus = item.startswith("-")
        name = item.lstrip("-").strip()
        names = ALL_CLASSES if name == "all" else (set() if name == "none" else {name})
        if name == "none" and not minus:
            result.clear()
        elif minus:
            result -= names
        else:
            result |= names
    return frozenset(result & ALL_CLASSES)


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    problems: tuple[str, ...]
    missing: frozenset[str]
    fix_sql: tuple[str, ...]


def judge(
    p: Posture,
    required: Iterable[str],
    *,
    require_log_parameter: bool = False,
    expect_read_only: bool = False,
    expect_application_name: str | None = None,
) -> Verdict:
    """Compare the session's posture with what the target requires. Break-glass sessions
    also require ``pgaudit.log_parameter = on``: their statements' values must be logged."""
    need = frozenset(required)
    problems: list[str] = []
    fixes: list[str] = []
    _judge_identity(p, problems, fixes, expect_read_only, expect_application_name)
    if not p.loaded:
        problems.append("pgAudit is not loaded on the server (not in shared_preload_libraries)")
        fixes.append(
            "-- add pgaudit to shared_preload_libraries "
            "(Aurora: the DB cluster parameter group), then restart"
        )
    if p.extension_version is None:
        problems.append("the pgaudit extension is not created in this database")
        fixes.append("CREATE EXTENSION pgaudit;")
    missing = need - p.classes
    if missing:
        problems.append(
            f"pgaudit.log = {p.pgaudit_log!r} for role {p.db_user} does not cover "
            f"{', '.join(sorted(missing))}"
        )
        fixes.append(f"ALTER ROLE {_ident(p.db_user)} SET pgaudit.log = '{_wanted(p, need)}';")
    if require_log_parameter and p.log_parameter != "on":
        problems.append(
            f"pgaudit.log_parameter is {p.log_parameter or 'unset'!r} for role {p.db_user}: "
            "statement parameters would not be logged"
        )
        fixes.append(f"ALTER ROLE {_ident(p.db_user)} SET pgaudit.log_parameter = on;")
    if p.log_statement == "off":
        problems.append("pgaudit.log_statement is off: audit lines would not carry the statement")
        fixes.append(f"ALTER ROLE {_ident(p.db_user)} RESET pgaudit.log_statement;")
    if p.log_client == "on" and (p.log_level or "log") != "log":
        problems.append(
            f"pgaudit.log_level = {p.log_level!r} with log_client on: the server log may not "
            "receive the audit lines"
        )
        fixes.append(f"ALTER ROLE {_ident(p.db_user)} SET pgaudit.log_level = 'log';")
    if p.log_min_messages.lower() in ("fatal", "panic"):
        problems.append(
            f"log_min_messages = {p.log_min_messages!r}: the server log would drop the audit lines"
        )
        fixes.append(f"ALTER ROLE {_ident(p.db_user)} RESET log_min_messages;")
    return Verdict(not problems, tuple(problems), frozenset(missing), tuple(fixes))


def _judge_identity(
    p: Posture,
    problems: list[str],
    fixes: list[str],
    expect_read_only: bool,
    expect_application_name: str | None,
) -> None:
    """The session must be who and what prodsql asked for: a role switched in the startup
    options, a changed tag or a writable "read-only" session would all blind the review."""
    if p.db_user != p.session_user:
        problems.append(
            f"the session runs as role {p.db_user!r}, not as its login role {p.session_user!r}"
        )
        fixes.append(f"ALTER ROLE {_ident(p.session_user)} RESET role;")
    if expect_application_name is not None and p.application_name != expect_application_name:
        problems.append(
            f"application_name is {p.application_name!r}, not prodsql's tag "
            f"{expect_application_name!r}"
        )
        fixes.append(f"ALTER ROLE {_ident(p.session_user)} RESET application_name;")
    if expect_read_only and not p.read_only:
        problems.append("default_transaction_read_only is off in a read-only session")
        fixes.append(f"ALTER ROLE {_ident(p.session_user)} RESET default_transaction_read_only;")


def _wanted(p: Posture, need: frozenset[str]) -> str:
    union = p.classes | need
    return "all" if union == ALL_CLASSES else ", ".join(sorted(union))


def session_fix_sql(p: Posture, required: Iterable[str]) -> str:
    """The SET a superuser session runs to raise its own posture."""
    wanted = ", ".join(sorted(p.classes | frozenset(required)))
    return f"SET pgaudit.log = '{wanted}'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
