"""Parsing pgAudit lines from real server logs in all three formats, plain and gzip."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from prodsql.audit.logs import (
    AuditEntry,
    LogFormat,
    LogProblems,
    LogReadError,
    SessionEvent,
    detect_format,
    parse_lines,
    parse_log_time,
    prefix_regex,
    read_log_file,
)
from unit.audit.trailkit import CAPTURED_PID, CAPTURED_SERVER_ID, DATA

FILES = ("session.log", "session.csv", "session.json")
APP = "prodsql:OPS-9:root:cafe0001"


def audits(path: Path, problems: LogProblems | None = None) -> list[AuditEntry]:
    events = read_log_file(path, problems or LogProblems())
    return [e for e in events if isinstance(e, AuditEntry)]


@pytest.mark.parametrize("name", FILES)
def test_every_format_yields_the_same_audit_entries(name: str) -> None:
    problems = LogProblems()
    entries = audits(DATA / name, problems)
    assert problems.count == 0
    assert [(e.statement_id, e.substatement_id) for e in entries] == [
        (1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (5, 1), (6, 1),
    ]  # fmt: skip
    assert (
        entries[1].statement
        == "/* prodsql:cafe0001:seq=2 */ SELECT id,\n  v\nFROM items -- trailing"
    )
    assert entries[5].statement == "/* prodsql:cafe0001:seq=7 */ SELECT 'a,\"b\"'"
    assert entries[4].statement == "SELECT count(*) FROM items"
    assert entries[3].audit_class == "FUNCTION"
    assert entries[3].command == "DO"
    assert entries[0].parameter == "<not logged>"
    for e in entries:
        assert e.ctx.session_id == CAPTURED_SERVER_ID
        assert e.ctx.pid == CAPTURED_PID
        assert e.ctx.application_name == APP
        assert e.ctx.user == "dev"


@pytest.mark.parametrize("name", FILES)
def test_connections_are_reported_with_their_application_name(name: str) -> None:
    events = [e for e in read_log_file(DATA / name, LogProblems()) if isinstance(e, SessionEvent)]
    assert [(e.event, e.ctx.application_name) for e in events] == [
        ("authorized", APP),
        ("disconnected", APP),
    ]


@pytest.mark.parametrize("name", FILES)
def test_gzip_is_read_transparently(name: str, tmp_path: Path) -> None:
    packed = tmp_path / f"{name}.gz"
    packed.write_bytes(gzip.compress((DATA / name).read_bytes()))
    assert audits(packed) == [_resourced(e, str(packed)) for e in audits(DATA / name)]


def _resourced(entry: AuditEntry, source: str) -> AuditEntry:
    from dataclasses import replace

    return replace(entry, ctx=replace(entry.ctx, source=source))


def test_a_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    packed = tmp_path / "cut.log.gz"
    packed.write_bytes(gzip.compress((DATA / "session.log").read_bytes())[:-30])
    with pytest.raises(LogReadError, match="cannot read the server log"):
        audits(packed)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LogReadError, match="No such file"):
        audits(tmp_path / "absent.log")


def test_formats_are_detected_from_the_first_line() -> None:
    for name, fmt in zip(
        FILES, (LogFormat.STDERR, LogFormat.CSVLOG, LogFormat.JSONLOG), strict=True
    ):
        first = (DATA / name).read_text(encoding="utf-8").splitlines()[0]
        assert detect_format(first) is fmt


@pytest.mark.parametrize("name", FILES)
def test_malformed_lines_are_counted_not_fatal(name: str) -> None:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines(keepends=True)
    garbage = {"session.log": "garbage without a prefix\n", "session.json": "{not json\n"}
    broken = [*lines[:6], garbage.get(name, "1,2,3\n"), *lines[6:]]
    problems = LogProblems()
    events = list(parse_lines(broken, name, problems))
    assert problems.count == 1
    assert problems.examples[0].startswith(f"{name}:7: ")
    assert sum(isinstance(e, AuditEntry) for e in events) == 7


def test_an_audit_message_that_is_not_pgaudit_csv_is_counted() -> None:
    line = "2026-11-26 18:29:28 UTC:127.0.0.1(1):dev@postgres:[7]:LOG:  AUDIT: nonsense\n"
    problems = LogProblems()
    assert list(parse_lines([line], "x", problems, fmt=LogFormat.STDERR)) == []
    assert problems.count == 1


def test_custom_prefix_with_session_id_and_application_name() -> None:
    prefix = "%m [%p] %c %l %u@%d app=%a "
    line = (
        "2025-01-02 03:04:05.123 UTC [4242] 6776001d.1092 7 dev@postgres app=prodsql:T-1:al:ab12 "
        "LOG:  AUDIT: SESSION,4,1,WRITE,INSERT,TABLE,public.t,"
        '"INSERT INTO t (v, n) VALUES ($1, $2)",'
        '"""alice, """"quoted"""""",42"\n'
    )
    (entry,) = parse_lines([line], "x", LogProblems(), fmt=LogFormat.STDERR, prefix=prefix)
    assert isinstance(entry, AuditEntry)
    assert entry.ctx.session_id == "6776001d.1092"
    assert entry.ctx.application_name == "prodsql:T-1:al:ab12"
    assert entry.ctx.timestamp == "2025-01-02 03:04:05.123 UTC"
    assert entry.statement == "INSERT INTO t (v, n) VALUES ($1, $2)"
    assert entry.parameter == '"alice, ""quoted""",42'
    assert entry.object_name == "public.t"


def test_percent_q_makes_the_rest_of_the_prefix_optional() -> None:
    regex = prefix_regex("%m [%p] %q%u@%d ")
    assert regex.fullmatch("2025-01-02 03:04:05.123 UTC [1] LOG:  ready")
    assert regex.fullmatch("2025-01-02 03:04:05.123 UTC [1] dev@db LOG:  x")


def test_log_times_with_zone_names_offsets_and_milliseconds() -> None:
    assert parse_log_time("2025-01-02 03:04:05 UTC") == 1735787045.0
    assert parse_log_time("2025-01-02 03:04:05.500 UTC") == 1735787045.5
    assert parse_log_time("2025-01-02 05:04:05 +02") == 1735787045.0
    assert parse_log_time("yesterday") is None


def test_a_csvlog_record_the_csv_module_refuses_is_counted_and_reading_goes_on() -> None:
    import csv

    lines = (DATA / "session.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    huge = "x" * (csv.field_size_limit() + 1)
    broken = [*lines[:6], f"a,{huge}\n", *lines[6:]]
    problems = LogProblems()
    events = list(parse_lines(broken, "c.csv", problems, fmt=LogFormat.CSVLOG))
    assert problems.count == 1
    assert problems.examples[0].startswith("c.csv:7: not a csvlog record (field larger")
    clean = list(parse_lines(lines, "c.csv", LogProblems(), fmt=LogFormat.CSVLOG))
    assert [e.ctx.line for e in events] == [e.ctx.line + (e.ctx.line > 6) for e in clean]
    assert [e for e in events if isinstance(e, AuditEntry)] != []


@pytest.mark.parametrize(
    "message",
    [
        'SESSION,1,1,READ,SELECT,,,"SELECT 1, 2",<none>',
        'SESSION,1,1,READ,SELECT,,,"SELECT \'a,""b""\'\nFROM t",<none>',
        'SESSION,4,1,WRITE,INSERT,TABLE,public.t,"INSERT INTO t VALUES ($1)","""x"",42"',
        "SESSION,2,1,READ,SELECT,,,SELECT 1,<none>",
        'SESSION,2,1,READ,SELECT,,,"unterminated',
    ],
)
def test_audit_fields_are_the_csv_modules(message: str) -> None:
    import csv

    from prodsql.audit.logs import audit_fields

    assert audit_fields("AUDIT: " + message) == next(csv.reader([message]))
