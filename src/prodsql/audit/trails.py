"""Trail files seen as a list of statements and what the server should show for each.

A trail is streamed, never held: :func:`scan_trail` yields one :class:`TrailStatement`
per statement (joined with its outcome) and fills a :class:`TrailInfo` with the session's
header as it goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b
from pathlib import Path

from prodsql.errors import TrailFormatError
from prodsql.trail import read_records

# What the trail's classification kind is to pgAudit's classes (for explanations only).
_KIND_CLASS = {
    "read": "read",
    "write": "write",
    "ddl": "ddl",
    "privilege": "role",
    "opaque": "function",
    "set": "misc_set",
    "transaction": "misc",
    "maintenance": "misc",
    "utility": "misc",
}
_ENDS_TRANSACTION = frozenset({"ROLLBACK", "COMMIT", "END", "ABORT"})


@dataclass
class TrailInfo:
    """The session's header, filled while its trail is scanned (so not frozen)."""

    path: Path
    sid: str | None = None
    ticket: str | None = None
    application_name: str | None = None
    os_user: str | None = None
    db_user: str | None = None
    target: str | None = None
    server_encoding: str | None = None  # the database encoding pgAudit logged text in
    server_ids: set[str] = field(default_factory=set)
    backend_pids: set[int] = field(default_factory=set)
    classes: frozenset[str] | None = None
    required: tuple[str, ...] = ()
    how_ended: str | None = None
    statements: int = 0

    def take(self, record: dict[str, object]) -> None:
        kind = record.get("kind")
        if kind == "session_start":
            self._start(record)
        elif kind in ("connected", "reconnect"):
            self._connected(record)
        elif kind == "session_end":
            self.how_ended = _text(record.get("how"))

    def _start(self, record: dict[str, object]) -> None:
        self.sid = _text(record.get("sid"))
        self.ticket = _text(record.get("ticket"))
        self.application_name = _text(record.get("application_name"))
        self.os_user = _text(record.get("os_user"))
        self.target = _text(record.get("target"))
        required = record.get("required_audit")
        if isinstance(required, list):
            self.required = tuple(str(x) for x in required)

    def _connected(self, record: dict[str, object]) -> None:
        server_id = _text(record.get("server_session_id"))
        if server_id:
            self.server_ids.add(server_id)
        pid = record.get("backend_pid")
        if isinstance(pid, int) and pid > 0:
            self.backend_pids.add(pid)
        self.db_user = _text(record.get("db_user")) or self.db_user
        self.server_encoding = _text(record.get("server_encoding")) or self.server_encoding
        posture = record.get("posture")
        if isinstance(posture, dict) and isinstance(posture.get("classes"), list):
            self.classes = frozenset(str(x) for x in posture["classes"])


@dataclass(frozen=True, slots=True)
class TrailStatement:
    """One numbered statement and, when it was sent, its outcome."""

    stmt: int
    text: str
    kind: str
    command: str
    status: str  # an outcome status, "refused", or "no outcome"
    sqlstate: str | None
    message: str | None
    started: str
    ended: str | None
    # None when pgAudit must have logged it; otherwise why a missing line is expected.
    may_be_absent: str | None
    sent: str | None = None  # the text as sent, with its tag (None for a refusal)
    tag: str | None = None
    logged_as: str | None = None  # what pgAudit logs instead, when it redacts it itself

    @property
    def sent_agrees(self) -> bool:
        """Whether ``sent`` is ``text`` under its own tag, as prodsql builds it (and
        ``logged_as``, when present, pgAudit's redaction of it)."""
        return (
            self.sent is not None
            and self.sent == _tagged(self.tag, self.text)
            and (self.logged_as is None or self.logged_as == _pgaudit_cut(self.sent))
        )

    @property
    def audit_class(self) -> str:
        return _KIND_CLASS.get(self.kind, "misc")


def scan_trail(path: Path, info: TrailInfo) -> Iterator[TrailStatement]:
    """The statements of a trail in order; raises TrailFormatError for an unreadable file."""
    for stmt, record, outcome, aborted in _statements(path, info):
        if outcome is _REFUSED:
            yield _refused(stmt, record)
        else:
            yield _sent(stmt, record, outcome, aborted)


def scan_expected(path: Path, info: TrailInfo) -> Iterator[tuple[int, bool]]:
    """What :func:`scan_trail` yields as ``(stmt, may_be_absent is not None)``, cheaper:
    without the texts, for the pass that only needs to know what the server must show."""
    for stmt, code, _, _ in _expected(read_records(path), info):
        yield stmt, code != EXPECT_MUST


def read_expectations(path: Path, info: TrailInfo) -> Expectations:
    """What the server must show for each statement of a trail, and the digest of the
    text each was sent with."""
    return Expectations.of(_expected(read_records(path), info))


def _expected(
    records: Iterable[dict[str, object]], info: TrailInfo
) -> Iterator[tuple[int, int, bytes, bytes | None]]:
    for stmt, record, outcome, aborted in _pairs(records, info):
        if outcome is _REFUSED:
            yield stmt, EXPECT_NEVER_SENT, NO_DIGEST, None
        elif outcome and not aborted and outcome.get("status") == "ok":
            # the usual case, without _absence
            yield stmt, EXPECT_MUST, sent_digest(record), alternate_digest(record)
        else:
            absent = _absence(record, outcome, aborted) is not None
            code = EXPECT_MAYBE if absent else EXPECT_MUST
            yield stmt, code, sent_digest(record), alternate_digest(record)


# One byte per statement number: 0 no statement, 1 the server must show it, 2 it was sent
# but may be absent (it failed, ...), 3 never sent (refused or not confirmed).
EXPECT_MUST, EXPECT_MAYBE, EXPECT_NEVER_SENT = 1, 2, 3
DIGEST_SIZE = 16
NO_DIGEST = bytes(DIGEST_SIZE)
# Stands for a statement whose ``sent`` is not its ``text`` under its tag: it matches
# no server text (a digest of all ones is as unlikely as any other).
_DISAGREES = b"\xff" * DIGEST_SIZE


def text_digest(text: str) -> bytes:
    """The digest that compares a statement's text as sent with the text pgAudit logged.

    Line ends are normalised (CR LF and CR to LF): a stderr log cannot tell them apart.
    128 bits, so that nobody can make two statements with the same digest.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate, from a trail's JSON escapes
        data = text.encode("utf-8", "surrogatepass")
    return blake2b(data, digest_size=DIGEST_SIZE).digest()


def sent_digest(record: dict[str, object]) -> bytes:
    """text_digest of a statement record's ``sent``, when it is its ``text`` under its tag;
    of its ``logged_as`` instead when it has one (a statement pgAudit redacts itself, and
    logs as its redaction of ``sent``: docs/trail-format.md)."""
    sent = record.get("sent")
    if not isinstance(sent, str) or sent != _tagged(record.get("tag"), record.get("text")):
        return _DISAGREES
    logged_as = record.get("logged_as")
    if logged_as is None:
        return text_digest(sent)
    if isinstance(logged_as, str) and logged_as == _pgaudit_cut(sent):
        return text_digest(logged_as)
    return _DISAGREES


def alternate_digest(record: dict[str, object]) -> bytes | None:
    """For a statement with ``logged_as``: text_digest of its ``sent``, which a pgAudit
    that does not redact it logs (with the secret, which reconcile redacts to compare)."""
    if record.get("logged_as") is None or sent_digest(record) == _DISAGREES:
        return None
    return text_digest(str(record["sent"]))


def _pgaudit_cut(sent: str) -> str | None:
    from prodsql.policy.redact import pgaudit_cut  # pglast: only for the rare record

    return pgaudit_cut(sent)


def _tagged(tag: object, text: object) -> str | None:
    if not isinstance(tag, str) or not isinstance(text, str):
        return None
    return f"/* {tag} */ {text}"


@dataclass(slots=True)
class Expectations:
    """Per statement number: the expect code and the digest of the text as sent; for the
    few statements the server may log in either of two forms, the other one's digest."""

    expect: bytearray = field(default_factory=bytearray)
    digests: bytearray = field(default_factory=bytearray)
    alternates: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, stmts: Iterable[tuple[int, int, bytes, bytes | None]]) -> Expectations:
        result = cls()
        expect, digests = result.expect, result.digests
        for stmt, code, digest, alternate in stmts:
            if stmt >= len(expect):
                grow = stmt + 1 - len(expect)
                expect.extend(bytes(grow))
                digests.extend(bytes(grow * DIGEST_SIZE))
            expect[stmt] = code
            digests[stmt * DIGEST_SIZE : (stmt + 1) * DIGEST_SIZE] = digest
            if alternate is not None:
                result.alternates[stmt] = alternate
        return result

    def digest(self, stmt: int) -> bytes:
        return bytes(self.digests[stmt * DIGEST_SIZE : (stmt + 1) * DIGEST_SIZE])


def read_expected(path: Path, records: Iterator[dict[str, object]] | None) -> object:
    """scan_expected and the header it fills, as JSON (for a verify worker, which passes
    the records it parsed); None when the trail cannot be read (the caller scans it
    again, to raise the error)."""
    info = TrailInfo(path=path)
    try:
        found = Expectations.of(_expected(read_records(path) if records is None else records, info))
    except TrailFormatError:
        return None
    return {
        "expect": found.expect.hex(),
        "digests": found.digests.hex(),
        "alternates": {str(stmt): d.hex() for stmt, d in found.alternates.items()},
        "sid": info.sid,
        "ticket": info.ticket,
        "application_name": info.application_name,
        "os_user": info.os_user,
        "db_user": info.db_user,
        "target": info.target,
        "server_encoding": info.server_encoding,
        "server_ids": sorted(info.server_ids),
        "backend_pids": sorted(info.backend_pids),
        "classes": sorted(info.classes) if info.classes is not None else None,
        "required": list(info.required),
        "how_ended": info.how_ended,
        "statements": info.statements,
    }


def from_reading(path: Path, reading: object) -> tuple[TrailInfo, Expectations] | None:
    """What :func:`read_expected` returned, back as a header and expectations; None for
    anything else."""
    if not isinstance(reading, dict):
        return None
    try:
        classes = reading["classes"]
        info = TrailInfo(
            path=path,
            sid=reading["sid"],
            ticket=reading["ticket"],
            application_name=reading["application_name"],
            os_user=reading["os_user"],
            db_user=reading["db_user"],
            target=reading["target"],
            server_encoding=reading["server_encoding"],
            server_ids={str(x) for x in reading["server_ids"]},
            backend_pids={int(x) for x in reading["backend_pids"]},
            classes=frozenset(str(x) for x in classes) if classes is not None else None,
            required=tuple(str(x) for x in reading["required"]),
            how_ended=reading["how_ended"],
            statements=int(reading["statements"]),
        )
        found = Expectations(
            bytearray.fromhex(reading["expect"]),
            bytearray.fromhex(reading["digests"]),
            {int(k): bytes.fromhex(v) for k, v in reading["alternates"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if len(found.digests) != len(found.expect) * DIGEST_SIZE:
        return None
    return info, found


# The kinds TrailInfo.take reads; a tuple, as a kind read from a file may be unhashable.
_HEADER_KINDS = ("session_start", "connected", "reconnect", "session_end")
# Stands in for the outcome of a refused statement, which was never sent.
_REFUSED: dict[str, object] = {}


def _statements(
    path: Path, info: TrailInfo
) -> Iterator[tuple[int, dict[str, object], dict[str, object] | None, bool]]:
    return _pairs(read_records(path), info)


def _pairs(
    records: Iterable[dict[str, object]], info: TrailInfo
) -> Iterator[tuple[int, dict[str, object], dict[str, object] | None, bool]]:
    """Each statement record with its outcome (None: none recorded; _REFUSED: refused)
    and whether the transaction had failed before it."""
    pending: dict[int, dict[str, object]] = {}
    aborted = False
    for record in records:
        kind = record.get("kind")
        if kind in _HEADER_KINDS:
            info.take(record)
        stmt = record.get("stmt")
        if not isinstance(stmt, int):
            continue
        info.statements = max(info.statements, stmt)
        if kind == "statement":
            pending[stmt] = record
        elif kind == "refused":
            yield stmt, record, _REFUSED, aborted
        elif kind == "outcome" and stmt in pending:
            yield stmt, pending.pop(stmt), record, aborted
            aborted = record.get("txn_status") == "failed"
    for stmt, record in pending.items():
        yield stmt, record, None, aborted


def _refused(stmt: int, record: dict[str, object]) -> TrailStatement:
    why = _text(record.get("why")) or "refused"
    kind, command = _classification(record)
    return TrailStatement(
        stmt=stmt,
        text=_text(record.get("text")) or "",
        kind=kind,
        command=command,
        status="refused",
        sqlstate=None,
        message=why,
        started=_text(record.get("ts")) or "",
        ended=None,
        may_be_absent=f"{why}: never sent to the server",
    )


def _sent(
    stmt: int, record: dict[str, object], outcome: dict[str, object] | None, aborted: bool
) -> TrailStatement:
    kind, command = _classification(record)
    status = _text(outcome.get("status")) if outcome else None
    sqlstate = _text(outcome.get("sqlstate")) if outcome else None
    message = _text(outcome.get("message")) if outcome else None
    return TrailStatement(
        stmt=stmt,
        text=_text(record.get("text")) or "",
        kind=kind,
        command=command,
        status=status or "no outcome",
        sqlstate=sqlstate,
        message=message,
        started=_text(record.get("ts")) or "",
        ended=_text(outcome.get("ts")) if outcome else None,
        may_be_absent=_absence_reason(status, sqlstate, message, command, aborted),
        sent=_text(record.get("sent")),
        tag=_text(record.get("tag")),
        logged_as=_text(record.get("logged_as")),
    )


def _absence(
    record: dict[str, object], outcome: dict[str, object] | None, aborted: bool
) -> str | None:
    """``_sent(...).may_be_absent`` without building the statement."""
    status = _text(outcome.get("status")) if outcome else None
    if status == "ok" and not aborted:
        return None
    sqlstate = _text(outcome.get("sqlstate")) if outcome else None
    message = _text(outcome.get("message")) if outcome else None
    return _absence_reason(status, sqlstate, message, _classification(record)[1], aborted)


def _absence_reason(
    status: str | None, sqlstate: str | None, message: str | None, command: str, aborted: bool
) -> str | None:
    if status == "ok":
        if aborted and command.upper() in _ENDS_TRANSACTION:
            return "ended an aborted transaction: pgAudit logs no line for it"
        return None
    if status == "error":
        code = f"SQLSTATE {sqlstate}" if sqlstate else "an error"
        return (
            f"failed with {code} ({message or 'no message'}): pgAudit logs a statement only "
            "once execution starts, not one that fails in parsing, analysis, planning, "
            "permission checks, a failed utility command or an aborted transaction"
        )
    if status is None:
        return "no outcome recorded (crash or kill): it may never have reached the server"
    return f"{status}: it may not have reached execution on the server"


def _classification(record: dict[str, object]) -> tuple[str, str]:
    c = record.get("classification")
    if not isinstance(c, dict):
        return "unknown", "UNKNOWN"
    return str(c.get("kind") or "unknown"), str(c.get("command") or "UNKNOWN")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def iso_seconds(stamp: str | None) -> float | None:
    """Seconds since the epoch of a trail ``ts`` (ISO-8601 UTC with ``Z``)."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
