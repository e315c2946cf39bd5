"""The reviewer's side: pgAudit log parsing, reconcile against trails, replay of a trail.

pgAudit writes on the server; prodsql's trail is written on the client. This package reads
the first (stderr, csvlog, jsonlog, plain or gzip, files, CloudWatch Logs or RDS) and
matches it statement by statement against the second through the tags prodsql puts in
every statement it sends. See docs/reviewing.md.
"""

from prodsql.audit.logs import (
    AuditEntry,
    LogFormat,
    LogProblems,
    SessionEvent,
    parse_lines,
    read_log_file,
)

__all__ = [
    "AuditEntry",
    "LogFormat",
    "LogProblems",
    "SessionEvent",
    "parse_lines",
    "read_log_file",
]
