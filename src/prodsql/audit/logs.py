"""pgAudit entries from PostgreSQL server logs: stderr, csvlog and jsonlog, streaming.

Every reader yields :class:`AuditEntry` (one per ``AUDIT:`` message) and
:class:`SessionEvent` (connections authorized and ended), in log order, holding only the
current record in memory. A line that cannot be parsed is counted in
:class:`LogProblems` and skipped; a file that cannot be read at all (missing, bad gzip) is a
:class:`LogReadError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Literal

from prodsql.errors import Error

# Aurora PostgreSQL's default, and the sandbox's: no application name, no session id.
DEFAULT_PREFIX = "%t:%r:%u@%d:[%p]:"
_AUDIT = "AUDIT: "
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_EXAMPLES = 20
# How many lines format detection reads, at most, looking for one of a known format.
_SNIFF_LINES = 1000


class LogReadError(Error):
    """A server log could not be read at all (missing, permission, corrupt gzip)."""


class LogFormat(StrEnum):
    AUTO = "auto"
    STDERR = "stderr"
    CSVLOG = "csvlog"
    JSONLOG = "jsonlog"


# The per-line records below are not frozen: a frozen dataclass pays a call for every
# field it sets, several times the cost of building a plain one, and a server log has
# millions of lines. Nothing changes them once built; treat them as values.


@dataclass(slots=True)
class LineContext:
    """Where a log record came from and the connection it belongs to.

    ``session_id`` is the server's ``%c``; for stderr logs, whose prefix rarely has it,
    it is derived from the connection's first line (``hex(epoch).hex(pid)``, as the
    server computes it) or None when the log does not show the connection start.
    """

    source: str
    line: int
    timestamp: str
    pid: int | None
    session_id: str | None
    user: str | None
    database: str | None
    application_name: str | None


@dataclass(slots=True)
class AuditEntry:
    """One pgAudit line: ``AUDIT: type,statement id,substatement id,class,command,...``."""

    ctx: LineContext
    audit_type: str
    statement_id: int
    substatement_id: int
    audit_class: str
    command: str
    object_type: str
    object_name: str
    statement: str
    parameter: str


@dataclass(slots=True)
class SessionEvent:
    """A connection was authorized, or ended."""

    ctx: LineContext
    event: Literal["authorized", "disconnected"]


LogEvent = AuditEntry | SessionEvent


@dataclass
class LogProblems:
    """Malformed records seen while reading, and per source how many records could be
    read and in which format; an accumulator, so not frozen."""

    count: int = 0
    examples: list[str] = field(default_factory=list)
    malformed: dict[str, int] = field(default_factory=dict)
    readable: dict[str, int] = field(default_factory=dict)
    formats: dict[str, LogFormat] = field(default_factory=dict)

    def add(self, source: str, line: int, why: str) -> None:
        self.count += 1
        self.malformed[source] = self.malformed.get(source, 0) + 1
        if len(self.examples) < _MAX_EXAMPLES:
            self.examples.append(f"{source}:{line}: {why}")

    def read(self, source: str, records: int) -> None:
        """``records`` more records of ``source`` were read (parsed in its format)."""
        self.readable[source] = self.readable.get(source, 0) + records


# -- entry points ----------------------------------------------------------------------


def read_log_file(
    path: Path,
    problems: LogProblems,
    *,
    fmt: LogFormat = LogFormat.AUTO,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[LogEvent]:
    """The events of one log file, plain or gzip-compressed, format detected by default."""
    try:
        raw: IO[bytes] = path.open("rb")
    except OSError as exc:
        raise LogReadError(f"cannot read the server log {path}: {exc.strerror or exc}") from None
    with raw:
        # Lines end at LF only: a CR inside a statement stays in it (stderr logs). Bytes
        # that are not UTF-8 (a database in another encoding) are kept as surrogates:
        # audit/encodings.py decodes them with the session's server encoding.
        text = io.TextIOWrapper(
            _maybe_gunzip(raw), encoding="utf-8", errors="surrogateescape", newline="\n"
        )
        try:
            yield from parse_lines(text, str(path), problems, fmt=fmt, prefix=prefix)
        except (OSError, EOFError, zlib.error) as exc:
            raise LogReadError(
                f"cannot read the server log {path}: {exc}",
                hint="a .gz file must be complete; re-download it",
            ) from None


def parse_lines(
    lines: Iterable[str],
    source: str,
    problems: LogProblems,
    *,
    fmt: LogFormat = LogFormat.AUTO,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[LogEvent]:
    """The events in ``lines`` (each may keep its line ending).

    The format, unless given, is that of the first line that is a record of a known
    format (stderr under ``prefix``), among the first few hundred; stderr if none is.
    """
    it: Iterator[str] = iter(lines)
    if fmt is LogFormat.AUTO:
        fmt, head = sniff_format(it, prefix)
        it = itertools.chain(head, it)
    problems.formats[source] = fmt
    problems.read(source, 0)
    if fmt is LogFormat.CSVLOG:
        return _csv_events(it, source, problems)
    if fmt is LogFormat.JSONLOG:
        return _json_events(it, source, problems)
    return StderrParser(prefix, source, problems).events(it)


_CSV_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z0-9+:-]+)?,")


def sniff_format(lines: Iterator[str], prefix: str) -> tuple[LogFormat, list[str]]:
    """The format of the first line of ``lines`` that has one, and the lines read to find
    it (to be read again); at most _SNIFF_LINES are read."""
    regex = prefix_regex(prefix)
    head: list[str] = []
    for line in lines:
        head.append(line)
        found = line_format(line, regex)
        if found is not None:
            return found, head
        if len(head) >= _SNIFF_LINES:
            break
    return LogFormat.STDERR, head


def line_format(line: str, stderr: re.Pattern[str]) -> LogFormat | None:
    """The format ``line`` is a record of, or None (blank, garbage, a continuation)."""
    text = line.strip()
    if text.startswith("{"):
        return LogFormat.JSONLOG if _json_record(text) is not None else None
    if _CSV_START.match(text):
        return LogFormat.CSVLOG
    if text and stderr.fullmatch(line.rstrip("\r\n")):
        return LogFormat.STDERR
    return None


def detect_format(first_line: str) -> LogFormat:
    """jsonlog lines are objects; csvlog lines start with a timestamp and a comma."""
    if first_line.lstrip().startswith("{"):
        return LogFormat.JSONLOG
    if _CSV_START.match(first_line):
        return LogFormat.CSVLOG
    return LogFormat.STDERR


def _maybe_gunzip(raw: IO[bytes]) -> IO[bytes] | gzip.GzipFile:
    head = raw.read(2)
    raw.seek(0)
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


# -- the AUDIT message -----------------------------------------------------------------


def audit_fields(message: str) -> list[str] | None:
    """The CSV fields after ``AUDIT: ``, or None when the message is not an audit line."""
    if not message.startswith(_AUDIT):
        return None
    return _audit_csv(message[len(_AUDIT) :])


def _audit_csv(rest: str) -> list[str]:
    # pgAudit quotes a field only when it holds , " CR or LF: without a quote, split is exact.
    if '"' not in rest:
        return rest.split(",")
    try:
        return next(csv.reader((rest,)))
    except (csv.Error, StopIteration):
        return []


def make_entry(ctx: LineContext, message: str, problems: LogProblems) -> AuditEntry | None:
    if not message.startswith(_AUDIT):
        return None
    return _entry(ctx, message[len(_AUDIT) :], problems)


def _entry(ctx: LineContext, rest: str, problems: LogProblems) -> AuditEntry | None:
    """The entry of an AUDIT message, given what follows ``AUDIT: ``."""
    fields = rest.split(",") if '"' not in rest else _audit_csv(rest)
    if len(fields) < 8 or not fields[1].isdigit() or not fields[2].isdigit():
        problems.add(ctx.source, ctx.line, "an AUDIT message that is not pgAudit's CSV")
        return None
    # Positional: a call with keywords costs more, once per line of the log.
    return AuditEntry(
        ctx,
        fields[0],
        int(fields[1]),
        int(fields[2]),
        fields[3],
        fields[4],
        fields[5],
        fields[6],
        fields[7],
        fields[8] if len(fields) > 8 else "",
    )


def _session_event(ctx: LineContext, message: str) -> SessionEvent | None:
    if message.startswith("connection authorized:"):
        # csvlog and jsonlog fill application_name only from the next line on.
        if ctx.application_name is None:
            ctx = replace(ctx, application_name=_authorized_app(message))
        return SessionEvent(ctx, "authorized")
    if message.startswith("disconnection:"):
        return SessionEvent(ctx, "disconnected")
    return None


_SESSION_MESSAGES = ("connection authorized:", "disconnection:")


def _event(ctx: LineContext, message: str, problems: LogProblems) -> LogEvent | None:
    if message.startswith(_AUDIT):
        return make_entry(ctx, message, problems)
    if message.startswith(_SESSION_MESSAGES):
        return _session_event(ctx, message)
    return None


# -- csvlog ----------------------------------------------------------------------------

# PostgreSQL 13+ csvlog columns (0-based) that reconcile needs.
_CSV_TIME, _CSV_USER, _CSV_DB, _CSV_PID, _CSV_SESSION = 0, 1, 2, 3, 5
_CSV_MESSAGE, _CSV_APP = 13, 22


def _csv_events(lines: Iterator[str], source: str, problems: LogProblems) -> Iterator[LogEvent]:
    reader = csv.reader(lines)
    start = 1
    rows = 0  # non-empty rows, malformed ones included
    errors = 0
    before = problems.malformed.get(source, 0)
    while True:
        try:
            # One loop for the whole file, left only when a record is not CSV.
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row:
                    continue
                rows += 1
                event = _csv_event(row, source, line, problems)
                if event is not None:
                    yield event
            break
        except csv.Error as exc:
            problems.add(source, start, f"not a csvlog record ({exc})")
            errors += 1
            start = reader.line_num + 1
    bad_rows = problems.malformed.get(source, 0) - before - errors
    problems.read(source, rows - bad_rows)


def _csv_event(row: list[str], source: str, line: int, problems: LogProblems) -> LogEvent | None:
    if len(row) <= _CSV_APP or not row[_CSV_PID].isdigit():
        if row:
            problems.add(source, line, f"not a csvlog record ({len(row)} fields)")
        return None
    message = row[_CSV_MESSAGE]
    if message.startswith(_AUDIT):
        return _entry(_csv_context(row, source, line), message[len(_AUDIT) :], problems)
    if message.startswith(_SESSION_MESSAGES):
        return _session_event(_csv_context(row, source, line), message)
    return None


def _csv_context(row: list[str], source: str, line: int) -> LineContext:
    return LineContext(
        source,
        line,
        row[_CSV_TIME],
        int(row[_CSV_PID]),
        row[_CSV_SESSION] or None,
        row[_CSV_USER] or None,
        row[_CSV_DB] or None,
        row[_CSV_APP] or None,
    )


# -- jsonlog ---------------------------------------------------------------------------


def _json_events(lines: Iterator[str], source: str, problems: LogProblems) -> Iterator[LogEvent]:
    records = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        record = _json_record(text)
        message = record.get("message") if record is not None else None
        if record is None or not isinstance(message, str):
            problems.add(source, number, "not a jsonlog record")
            continue
        records += 1
        if message.startswith(_AUDIT) or message.startswith(("connection authorized:", "disco")):
            event = _event(_json_context(record, source, number), message, problems)
            if event is not None:
                yield event
    problems.read(source, records)


def _json_record(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _json_context(record: dict[str, object], source: str, line: int) -> LineContext:
    pid = record.get("pid")
    return LineContext(
        source=source,
        line=line,
        timestamp=_str_or_none(record.get("timestamp")) or "",
        pid=pid if isinstance(pid, int) else None,
        session_id=_str_or_none(record.get("session_id")),
        user=_str_or_none(record.get("user")),
        database=_str_or_none(record.get("dbname")),
        application_name=_str_or_none(record.get("application_name")),
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# -- stderr ----------------------------------------------------------------------------

_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: ?[A-Za-z0-9+:-]+)?"
_ESCAPES = {
    "a": ("app", r".*?"),
    "u": ("user", r".*?"),
    "d": ("db", r".*?"),
    "r": ("remote", r".*?"),
    "h": ("host", r".*?"),
    "b": ("btype", r".*?"),
    "p": ("pid", r"\d+"),
    "P": ("ppid", r"\d*"),
    "t": ("time", _TIME),
    "m": ("mtime", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+(?: ?[A-Za-z0-9+:-]+)?"),
    "n": ("epoch", r"\d+\.\d+"),
    "s": ("start", _TIME),
    "c": ("sid", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("lnum", r"\d+"),
    "v": ("vxid", r"\S*"),
    "x": ("xid", r"\d+"),
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "i": ("ctag", r".*?"),
    "Q": ("qid", r"-?\d+"),
}
_SEVERITY = r"(?P<severity>[A-Z][A-Z0-9]*):  (?P<message>.*)"


def prefix_regex(prefix: str) -> re.Pattern[str]:
    """A regex for one stderr line under ``log_line_prefix``; ``%q`` makes the rest optional."""
    parts: list[str] = []
    seen: set[str] = set()
    optional = False
    i = 0
    while i < len(prefix):
        ch = prefix[i]
        if ch != "%" or i + 1 >= len(prefix):
            parts.append(re.escape(ch))
            i += 1
            continue
        code = prefix[i + 1]
        i += 2
        if code == "q":
            parts.append("(?:")
            optional = True
        elif code in _ESCAPES:
            parts.append(_escape_group(code, seen))
        else:
            parts.append(re.escape("%" if code == "%" else "%" + code))
    body = "".join(parts) + (")?" if optional else "")
    return re.compile(body + _SEVERITY, re.DOTALL)


def _escape_group(code: str, seen: set[str]) -> str:
    name, pattern = _ESCAPES[code]
    if name in seen:
        return f"(?:{pattern})"
    seen.add(name)
    return f"(?P<{name}>{pattern})"


class StderrParser:
    """Joins TAB continuation lines and tracks each backend's connection by pid."""

    def __init__(self, prefix: str, source: str, problems: LogProblems) -> None:
        self._regex = prefix_regex(prefix)
        self._source = source
        self._problems = problems
        # pid -> (derived session id, application_name) of the connection now using it.
        self._live: dict[int, tuple[str | None, str | None]] = {}

    def events(self, lines: Iterable[str]) -> Iterator[LogEvent]:
        current: re.Match[str] | None = None
        start = 0
        extra: list[str] = []
        records = 0
        for number, raw in enumerate(lines, start=1):
            text = raw.rstrip("\r\n")
            if text.startswith("\t") and current is not None:
                extra.append(text[1:])
                continue
            if current is not None:
                event = self._record(current, start, extra)
                if event is not None:
                    yield event
            current, start, extra = self._regex.fullmatch(text), number, []
            if current is not None:
                records += 1
            elif text:
                self._problems.add(self._source, number, "does not match log_line_prefix")
        if current is not None:
            event = self._record(current, start, extra)
            if event is not None:
                yield event
        self._problems.read(self._source, records)

    def _record(self, match: re.Match[str], line: int, extra: list[str]) -> LogEvent | None:
        message = match["message"]
        if not message.startswith(("AUDIT: ", "connection ", "disconnection:")):
            return None
        if extra:
            message = "\n".join([message, *extra])
        ctx = self._context(match, line, message)
        if message.startswith("disconnection:") and ctx.pid is not None:
            self._live.pop(ctx.pid, None)
        return _event(ctx, message, self._problems)

    def _context(self, match: re.Match[str], line: int, message: str) -> LineContext:
        groups = match.groupdict()
        stamp = groups.get("mtime") or groups.get("time") or ""
        pid = int(groups["pid"]) if groups.get("pid") else None
        known_sid, known_app = self._connection(pid, stamp, message)
        return LineContext(
            source=self._source,
            line=line,
            timestamp=stamp,
            pid=pid,
            session_id=groups.get("sid") or known_sid,
            user=_unknown_is_none(groups.get("user")),
            database=_unknown_is_none(groups.get("db")),
            application_name=groups.get("app") or known_app,
        )

    def _connection(
        self, pid: int | None, stamp: str, message: str
    ) -> tuple[str | None, str | None]:
        if pid is None:
            return None, None
        if message.startswith("connection received:"):
            moment = parse_log_time(stamp)
            sid = f"{int(moment):x}.{pid:x}" if moment is not None else None
            self._live[pid] = (sid, None)
        elif message.startswith("connection authorized:"):
            sid, _ = self._live.get(pid, (None, None))
            self._live[pid] = (sid, _authorized_app(message))
        return self._live.get(pid, (None, None))


_APP_RE = re.compile(r"application_name=(\S+)")


def _authorized_app(message: str) -> str | None:
    found = _APP_RE.search(message)
    return found.group(1) if found else None


def _unknown_is_none(value: str | None) -> str | None:
    return None if not value or value == "[unknown]" else value


# -- time ------------------------------------------------------------------------------

_OFFSET_RE = re.compile(r"([+-])(\d\d):?(\d\d)?$")


def parse_log_time(stamp: str) -> float | None:
    """Seconds since the epoch of a log timestamp (``%t``/``%m``), or None.

    Zone names other than UTC/GMT are not resolved (RDS and Aurora log in UTC); a
    numeric offset is honoured.
    """
    text = stamp.strip()
    zone = ""
    if " " in text[11:]:
        text, zone = text.rsplit(" ", 1)
    try:
        moment = datetime.strptime(
            text, "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
        )
    except ValueError:
        return None
    offset = _OFFSET_RE.match(zone)
    moment = moment.replace(tzinfo=UTC)
    if offset:
        sign = -1 if offset.group(1) == "+" else 1
        moment += sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
    return moment.timestamp()


# -- a time window ---------------------------------------------------------------------

_FRACTION = re.compile(r"\.\d+")
_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class TimeWindow:
    """``--since``/``--until`` in seconds since the epoch; either may be open (None)."""

    since: float | None = None
    until: float | None = None

    def keeps(self, whole: float) -> bool:
        """Whether a record stamped in the second starting at ``whole`` may fall inside
        (a log stamp is cut to the second here: a record is kept when any part of its
        second is in the window)."""
        if self.since is not None and whole + 1 <= self.since:
            return False
        return self.until is None or whole <= self.until


def within(events: Iterable[LogEvent], window: TimeWindow) -> Iterator[LogEvent]:
    """The events whose log timestamp is in ``window``; those without a readable
    timestamp are kept (better reported than silently dropped)."""
    seconds: dict[str, float | None] = {}
    for event in events:
        stamp = event.ctx.timestamp
        if stamp[19:20] == ".":
            stamp = _FRACTION.sub("", stamp, count=1)
        if stamp not in seconds:
            if len(seconds) >= _CACHE_LIMIT:
                seconds.clear()
            seconds[stamp] = parse_log_time(stamp)
        whole = seconds[stamp]
        if whole is None or window.keeps(whole):
            yield event
