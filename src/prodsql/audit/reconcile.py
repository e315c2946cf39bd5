"""Matching trails with the server's pgAudit log, streaming.

1. Each trail is scanned once for what the server should show: one byte per statement
   (must appear / may be absent) and, later, the server STATEMENT_ID that matched it.
   With add_trails, worker processes verify the hash chains and scan each trail from the
   same parse; a share of the trails is only scanned here first and verified by a worker
   while the log is read (the hashing is most of the work, and the log needs nothing
   from it).
2. The server log is streamed once. A line whose text starts with a prodsql tag is
   matched by (session id, sequence). Untagged lines are grouped by STATEMENT_ID within
   their server session: a group that holds a tagged line is that statement's
   substatements (DO bodies, functions, ``MISC,???`` of views); any other group in a
   session prodsql opened is kept as a candidate.
3. Candidates are matched by text and time against the statements the tags left
   unmatched; what remains is ``missing_in_trail``. Each trail is then streamed again to
   emit its findings, so memory holds counters, not statement texts.

See docs/reviewing.md for the categories.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from prodsql.audit.encodings import printable, python_codec, recode
from prodsql.audit.logs import AuditEntry, LogEvent, LogProblems, SessionEvent, parse_log_time
from prodsql.audit.trails import (
    DIGEST_SIZE,
    EXPECT_MUST,
    EXPECT_NEVER_SENT,
    Expectations,
    TrailInfo,
    TrailStatement,
    from_reading,
    iso_seconds,
    read_expectations,
    scan_trail,
    text_digest,
)
from prodsql.errors import TrailFormatError
from prodsql.trail import VerifyResult, verify_file
from prodsql.trail.verify import BackgroundVerify

_TAG_RE = re.compile(r"\s*/\* prodsql:([A-Za-z0-9._-]+):seq=(\d+) \*/")
_APP_RE = re.compile(r"prodsql:[^:]*:[^:]*:([A-Za-z0-9._-]+)$")
_READER = "prodsql.audit.trails:read_expected"
# Seconds of slack when matching an untagged line by time: %t logs whole seconds.
_TIME_SLACK = 2.0
# Expect codes of statement numbers that were never sent: none recorded, or refused.
_NOT_SENT = (0, EXPECT_NEVER_SENT)
_UNTRACKED_TEXT = 200


class Category(StrEnum):
    MATCHED = "matched"
    MISSING_ON_SERVER = "missing_on_server"
    MISSING_IN_TRAIL = "missing_in_trail"
    EXPECTED_ABSENT = "expected_absent"
    TEXT_MISMATCH = "text_mismatch"


@dataclass(frozen=True, slots=True)
class Finding:
    """One statement's verdict. ``stmt`` is the trail's number, ``statement_id`` pgAudit's."""

    category: Category
    session: str | None
    stmt: int | None
    statement_id: int | None
    server_session: str | None
    text: str
    why: str
    where: str | None = None
    # TEXT_MISMATCH only: what the trail says was sent, and what pgAudit logged.
    trail_text: str | None = None
    server_text: str | None = None

    def as_json(self) -> dict[str, object]:
        found: dict[str, object] = {
            "session": self.session,
            "stmt": self.stmt,
            "statement_id": self.statement_id,
            "server_session": self.server_session,
            "text": self.text,
            "why": self.why,
            "where": self.where,
        }
        if self.server_text is not None:
            found["trail_text"] = self.trail_text
            found["server_text"] = self.server_text
        return found


@dataclass(frozen=True, slots=True)
class UntrackedSession:
    server_session: str
    pid: int | None
    application_name: str | None
    user: str | None
    first_seen: str
    audit_lines: int
    where: str
    session: str | None = None  # the prodsql session id its application_name or tags name
    text: str = ""  # its first AUDIT line's statement, cut short

    def as_json(self) -> dict[str, object]:
        return {
            "session": self.session,
            "stmt": None,
            "text": self.text,
            "server_session": self.server_session,
            "pid": self.pid,
            "application_name": self.application_name,
            "user": self.user,
            "first_seen": self.first_seen,
            "audit_lines": self.audit_lines,
            "where": self.where,
            "why": "carries a prodsql application_name but no given trail covers it",
        }


@dataclass(slots=True)
class TrailState:
    """Per-trail counters; mutable while the log streams."""

    info: TrailInfo
    integrity: str  # a VerifyStatus name in lower case, or "not checked"
    integrity_problem: str | None
    expect: bytearray = field(default_factory=bytearray)
    found: array[int] = field(default_factory=lambda: array("q"))
    candidates: list[AuditEntry] = field(default_factory=list)
    digests: bytearray = field(default_factory=bytearray)
    # stmt -> (the text pgAudit logged under its tag, where) when it is not what was sent
    mismatches: dict[int, tuple[str, str]] = field(default_factory=dict)
    # The server wrote this session's statements in an encoding other than UTF-8: every
    # tagged line is compared through compare(), which decodes with it.
    recodes: bool = False
    # stmt -> the digest of the other form the server may log it in (Expectations).
    alternates: dict[int, bytes] = field(default_factory=dict)

    def mark(self, stmt: int, statement_id: int) -> bool:
        """Record a tagged line for ``stmt``; False when the trail says it was not sent."""
        if stmt >= len(self.expect) or self.expect[stmt] in _NOT_SENT:
            return False
        if not self.found[stmt]:
            self.found[stmt] = statement_id
        return True

    def compare(self, stmt: int, entry: AuditEntry) -> None:
        """Note the line's text when it is not the text the trail says ``stmt`` was sent as.
        A server whose database is not UTF-8 logged it in its own encoding: compared so.
        The trail records secrets redacted: a line that logged one matches once the same
        redaction is applied to it (docs/trail-format.md)."""
        at = stmt * DIGEST_SIZE
        wanted = {bytes(self.digests[at : at + DIGEST_SIZE])}
        if stmt in self.alternates:
            wanted.add(self.alternates[stmt])
        recoded = recode(entry.statement, self.info.server_encoding)
        logged = entry.statement if recoded is None else recoded
        if text_digest(logged) in wanted:
            return  # with a known encoding, only the text decoded with it counts
        if _redacted_digest(logged) in wanted:
            return
        where = f"{entry.ctx.source}:{entry.ctx.line}"
        self.mismatches.setdefault(stmt, (printable(logged), where))

    def logged_text(self, logged: str) -> str:
        """A log line's statement as the server meant it (decoded with this session's
        server encoding), printable."""
        return printable(recode(logged, self.info.server_encoding) or logged)

    def owns(self, key: str, pid: int | None) -> bool:
        """Whether a server session is a connection this trail records as its own."""
        info = self.info
        if not info.server_ids and not info.backend_pids:
            return True
        # A stderr log derives the session id from the connection line, which can fall a
        # second off the server's; the pid is the fallback.
        return key in info.server_ids or (pid is not None and pid in info.backend_pids)


@dataclass(slots=True)
class _ServerSession:
    key: str
    pid: int | None
    application_name: str | None
    user: str | None
    first_seen: str
    where: str
    first_text: str = ""
    trail: TrailState | None = None
    own: bool = False
    foreign_sid: str | None = None
    audit_lines: int = 0
    group_id: int = -1
    group_tagged: bool = False
    group_untagged: list[AuditEntry] = field(default_factory=list)


@dataclass
class Reconciler:
    """Feed it trails, then log events; then read its findings."""

    problems: LogProblems = field(default_factory=LogProblems)
    trails: dict[str, TrailState] = field(default_factory=dict)
    extras: list[Finding] = field(default_factory=list)
    untracked: dict[str, UntrackedSession] = field(default_factory=dict)
    audit_lines: int = 0
    _sessions: dict[str, _ServerSession] = field(default_factory=dict)
    _pids: dict[int, TrailState] = field(default_factory=dict)
    _verifying: list[tuple[list[TrailState], BackgroundVerify]] = field(default_factory=list)

    # -- trails

    def add_trail(
        self, path: Path, *, hmac_key: bytes | None = None, verify: bool = True
    ) -> TrailInfo:
        state = self._scan(path)
        if verify:
            _set_integrity(state, verify_file(path, hmac_key=hmac_key))
        return state.info

    def add_trails(
        self,
        paths: Sequence[Path],
        *,
        hmac_key: bytes | None = None,
        verify: bool = True,
        log_bytes: int = 0,
    ) -> None:
        """add_trail for each path, the hash chains verified in worker processes, which
        also scan each trail from the records they verify (one parse for both); a trail a
        worker did not scan is scanned here.

        ``log_bytes``, the size of the server log about to be fed, lets the reading of
        the log overlap verification: a share of the trails that takes about as long to
        verify as the log to read is only scanned here now, and verified by one worker
        while the log is fed (:meth:`finish` collects the verdicts).
        """
        if not verify:
            self._read_in_background(paths)
            return
        later = _verify_later(paths, log_bytes)
        now = [path for i, path in enumerate(paths) if i not in later]
        background = BackgroundVerify(now, hmac_key=hmac_key, reader=_READER)
        try:
            early = {i: _try_read(paths[i]) for i in later}
            verdicts = iter(background.results())
        except BaseException:
            background.close()
            raise
        readings = iter(background.readings())
        deferred: list[TrailState] = []
        for i, path in enumerate(paths):
            scanned = early[i] if i in later else from_reading(path, next(readings))
            state = self._scan(path) if scanned is None else self._add(*scanned)
            if i in later:
                deferred.append(state)
            else:
                _set_integrity(state, next(verdicts))
        if deferred:
            verifying = BackgroundVerify(
                [st.info.path for st in deferred], hmac_key=hmac_key, workers=1
            )
            self._verifying.append((deferred, verifying))

    def _read_in_background(self, paths: Sequence[Path]) -> None:
        """Scan the trails in worker processes, unverified; in order, as _scan would."""
        background = BackgroundVerify(paths, reader=_READER, verify=False)
        try:
            readings = background.readings()
        except BaseException:
            background.close()
            raise
        for path, reading in zip(paths, readings, strict=True):
            scanned = from_reading(path, reading)
            self._add(*(_read(path) if scanned is None else scanned))

    def expects_lines(self) -> bool:
        """Whether any trail records a statement the server must have logged."""
        return any(EXPECT_MUST in trail.expect for trail in self.trails.values())

    def abandon(self) -> None:
        """Stop the verification add_trails started: reading failed, no report follows."""
        for _, background in self._verifying:
            background.close()
        self._verifying.clear()

    def _scan(self, path: Path) -> TrailState:
        return self._add(*_read(path))

    def _add(self, info: TrailInfo, found: Expectations) -> TrailState:
        expect = found.expect
        state = TrailState(info, "not checked", None, expect, array("q", bytes(8 * len(expect))))
        state.digests = found.digests
        state.alternates = found.alternates
        state.recodes = python_codec(info.server_encoding) is not None
        sid = info.sid or info.path.name
        self.trails[sid] = state
        for pid in info.backend_pids:
            self._pids[pid] = state
        return state

    # -- the server log

    def feed(self, events: Iterable[LogEvent]) -> None:
        audit = self._audit
        for event in events:
            if isinstance(event, AuditEntry):
                audit(event)
            elif event.event == "authorized":
                self._session(event.ctx.session_id, event, create=False)
            else:
                self._disconnected(event)

    def finish(self) -> None:
        """Close every open server session and collect the verdicts of add_trails;
        call once the logs are read."""
        for session in list(self._sessions.values()):
            self._close(session)
        self._sessions.clear()
        while self._verifying:
            states, background = self._verifying.pop(0)
            for state, result in zip(states, background.results(), strict=True):
                _set_integrity(state, result)

    def _audit(self, entry: AuditEntry) -> None:
        # Once per AUDIT line: kept to the few steps most lines need.
        self.audit_lines += 1
        statement = entry.statement
        tag = _TAG_RE.match(statement) if statement.startswith(("/", " ")) else None
        ctx = entry.ctx
        session = self._sessions.get(ctx.session_id or f"pid:{ctx.pid}")
        if session is None:
            session = self._session(ctx.session_id, entry, create=tag is not None)
            if session is None:
                return
        session.audit_lines += 1
        if session.trail is None and not session.first_text:
            session.first_text = statement
        if tag is None:
            self._untagged(session, entry)
            return
        sid, seq = tag.groups()
        if session.trail is None:
            self._link_by_tag(session, sid)
        if session.group_untagged:
            if entry.statement_id != session.group_id:
                self._flush_group(session)
            else:  # the group's untagged lines were this statement's substatements
                session.group_untagged.clear()
        session.group_id = entry.statement_id
        session.group_tagged = True
        self._tagged(session, entry, sid, int(seq))

    def _untagged(self, session: _ServerSession, entry: AuditEntry) -> None:
        if entry.statement_id != session.group_id:
            self._flush_group(session)
            session.group_id = entry.statement_id
        if not session.group_tagged:
            session.group_untagged.append(entry)

    def _tagged(self, session: _ServerSession, entry: AuditEntry, sid: str, seq: int) -> None:
        trail = self.trails.get(sid)
        if trail is None:
            return
        if session.trail is trail and not session.own:
            why = "carries this session's tag but ran on a connection the trail does not show"
            self.extras.append(_extra(session, sid, seq, entry, why))
        elif not trail.mark(seq, entry.statement_id):
            self.extras.append(_extra(session, sid, seq, entry, _not_sent(trail, seq)))
        elif trail.recodes or trail.digests[
            seq * DIGEST_SIZE : (seq + 1) * DIGEST_SIZE
        ] != text_digest(entry.statement):  # once per tagged line: TrailState.compare, inlined
            trail.compare(seq, entry)

    def _session(
        self, key_id: str | None, event: AuditEntry | SessionEvent, *, create: bool
    ) -> _ServerSession | None:
        ctx = event.ctx
        key = key_id or f"pid:{ctx.pid}"
        session = self._sessions.get(key)
        if session is not None:
            return session
        app_sid = _app_sid(ctx.application_name)
        pid_trail = self._pids.get(ctx.pid) if ctx.pid is not None else None
        if not (create or app_sid or pid_trail):
            return None
        where = f"{ctx.source}:{ctx.line}"
        session = _ServerSession(key, ctx.pid, ctx.application_name, ctx.user, ctx.timestamp, where)
        self._sessions[key] = session
        self._link(session, self.trails.get(app_sid) if app_sid else pid_trail, app_sid)
        return session

    def _link(self, session: _ServerSession, trail: TrailState | None, app_sid: str | None) -> None:
        if trail is None:
            session.foreign_sid = app_sid
            return
        session.trail = trail
        session.own = trail.owns(session.key, session.pid)

    def _link_by_tag(self, session: _ServerSession, sid: str) -> None:
        if session.trail is None and sid in self.trails:
            self._link(session, self.trails[sid], sid)
        elif session.trail is None:
            session.foreign_sid = session.foreign_sid or sid

    def _disconnected(self, event: SessionEvent) -> None:
        key = event.ctx.session_id or f"pid:{event.ctx.pid}"
        session = self._sessions.pop(key, None)
        if session is not None:
            self._close(session)

    def _close(self, session: _ServerSession) -> None:
        self._flush_group(session)
        if session.trail is None and session.foreign_sid is not None:
            self.untracked[session.key] = UntrackedSession(
                server_session=session.key,
                pid=session.pid,
                application_name=session.application_name,
                user=session.user,
                first_seen=session.first_seen,
                audit_lines=session.audit_lines,
                where=session.where,
                session=session.foreign_sid,
                text=_short(printable(session.first_text), _UNTRACKED_TEXT),
            )

    def _flush_group(self, session: _ServerSession) -> None:
        untagged = session.group_untagged
        session.group_tagged = False
        if not untagged:
            return
        session.group_untagged = []
        if session.trail is None:
            return
        if session.own:
            session.trail.candidates.append(untagged[0])
            return
        sid = session.trail.info.sid
        why = (
            f"ran on another connection ({session.key}) that used this session's "
            "application_name; prodsql did not send it"
        )
        self.extras.append(_extra(session, sid, None, untagged[0], why))

    # -- results

    def findings(self, *, matched_text: bool = True) -> Iterator[Finding]:
        """Every verdict: trail by trail (streamed again), then the server's extras.

        Without ``matched_text``, a trail whose every statement matched is not read again:
        its findings come from the counters, without the statements' text.
        """
        for sid, trail in self.trails.items():
            if not matched_text and _all_matched(trail):
                yield from _matched_only(sid, trail)
            else:
                yield from self._trail_findings(sid, trail)
        yield from self.extras

    def matched_count(self, sid: str) -> int | None:
        """How many statements matched in the trail of session ``sid`` when every one it
        expects did (its findings are then all MATCHED, and need no reading); else None."""
        trail = self.trails[sid]
        if not _all_matched(trail):
            return None
        return len(trail.expect) - trail.expect.count(0)

    def trail_findings(self, sid: str) -> Iterator[Finding]:
        """The findings of one trail, streamed again (what :meth:`findings` yields for it)."""
        return self._trail_findings(sid, self.trails[sid])

    def _trail_findings(self, sid: str, trail: TrailState) -> Iterator[Finding]:
        leftover = _match_candidates(trail) if trail.candidates else []
        server = ", ".join(sorted(trail.info.server_ids)) or None
        for st in scan_trail(trail.info.path, TrailInfo(path=trail.info.path)):
            yield _verdict(sid, server, trail, st)
        for entry in leftover:
            why = "pgAudit logged it in the session prodsql opened, but no trail record explains it"
            yield Finding(
                Category.MISSING_IN_TRAIL,
                sid,
                None,
                entry.statement_id,
                entry.ctx.session_id or server,
                trail.logged_text(entry.statement),
                why,
                f"{entry.ctx.source}:{entry.ctx.line}",
            )


def _redacted_digest(logged: str) -> bytes | None:
    """text_digest of a logged statement with its secrets redacted as the trail records
    them; None when it has none (it then matched, or did not, as it is)."""
    from prodsql.policy.redact import mentions_secret, redact_text  # pglast: rare path

    if not mentions_secret(logged):
        return None
    hidden = redact_text(logged)
    return None if hidden == logged else text_digest(hidden)


def _read(path: Path) -> tuple[TrailInfo, Expectations]:
    info = TrailInfo(path=path)
    return info, read_expectations(path, info)


def _try_read(path: Path) -> tuple[TrailInfo, Expectations] | None:
    """_read, or None for a trail that cannot be read (add_trails reads it again in its
    turn, so the error raised is the first trail's in order)."""
    try:
        return _read(path)
    except TrailFormatError:
        return None


# Verifying a byte of trail costs about this many bytes of server log read: measured
# with benchmarks/reconcile_bench.py (csvlog), where verifying a trail record and
# reading an AUDIT line are about 14 and 7 us for about 400 and 300 bytes.
_LOG_BYTES_PER_TRAIL_BYTE = 1.5


def _verify_later(paths: Sequence[Path], log_bytes: int) -> set[int]:
    """The trails (by index, from the last) to verify while the log is read: about as
    much verifying as reading ``log_bytes`` of log, and never more than half."""
    sizes = [_size(path) for path in paths]
    budget = min(log_bytes / _LOG_BYTES_PER_TRAIL_BYTE, sum(sizes) / 2)
    later: set[int] = set()
    for i in range(len(paths) - 1, -1, -1):
        if sizes[i] > budget:
            break
        budget -= sizes[i]
        later.add(i)
    return later


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _all_matched(trail: TrailState) -> bool:
    # found[i] is set only where expect[i] is, so equal zero counts mean all found.
    return (
        not trail.candidates
        and not trail.mismatches
        and trail.found.count(0) == trail.expect.count(0)
    )


def _matched_only(sid: str, trail: TrailState) -> Iterator[Finding]:
    server = ", ".join(sorted(trail.info.server_ids)) or None
    for stmt, want in enumerate(trail.expect):
        if want:
            found = abs(trail.found[stmt])
            yield Finding(Category.MATCHED, sid, stmt, found, server, "", "matched")


def _verdict(sid: str, server: str | None, trail: TrailState, st: TrailStatement) -> Finding:
    found = trail.found[st.stmt] if st.stmt < len(trail.found) else 0
    if found and st.stmt in trail.mismatches:
        return _mismatch(sid, server, st, abs(found), trail.mismatches[st.stmt])
    if found:
        why = "matched" if found > 0 else "matched by text and time (no tag on the server line)"
        return Finding(Category.MATCHED, sid, st.stmt, abs(found), server, st.text, why)
    if st.may_be_absent:
        return Finding(
            Category.EXPECTED_ABSENT, sid, st.stmt, None, server, st.text, st.may_be_absent
        )
    return Finding(Category.MISSING_ON_SERVER, sid, st.stmt, None, server, st.text, _gap(trail, st))


def _mismatch(
    sid: str, server: str | None, st: TrailStatement, found: int, logged: tuple[str, str]
) -> Finding:
    server_text, where = logged
    if not st.sent_agrees:
        why = (
            "the trail's text is not the text it records as sent under this tag "
            "(the trail was edited); pgAudit logged server_text"
        )
    else:
        why = (
            "pgAudit logged other text under this statement's tag than the trail says was "
            "sent: the trail does not show what ran"
        )
    return Finding(
        Category.TEXT_MISMATCH,
        sid,
        st.stmt,
        found,
        server,
        st.text,
        why,
        where,
        trail_text=st.logged_as or (st.sent if st.sent is not None else st.text),
        server_text=server_text,
    )


def _not_sent(trail: TrailState, seq: int) -> str:
    if seq < len(trail.expect) and trail.expect[seq] == EXPECT_NEVER_SENT:
        return f"carries the tag of seq={seq}, which the trail records as refused (never sent)"
    return f"carries the tag of seq={seq}, which the trail does not record as sent"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _gap(trail: TrailState, st: TrailStatement) -> str:
    why = f"the trail says it ran ({st.status}); pgAudit has no line for it"
    classes = trail.info.classes
    if classes is not None and st.audit_class not in classes:
        logged = ", ".join(sorted(classes)) or "none"
        why += (
            f": pgaudit.log for this session ({logged}) does not include {st.audit_class.upper()}"
        )
    return why


def _match_candidates(trail: TrailState) -> list[AuditEntry]:
    """Untagged lines in prodsql's own connection, matched by text within the statement's time."""
    wanted: dict[str, list[TrailStatement]] = {}
    for st in scan_trail(trail.info.path, TrailInfo(path=trail.info.path)):
        if st.stmt < len(trail.found) and not trail.found[st.stmt] and st.status != "refused":
            wanted.setdefault(_normal(st.text), []).append(st)
    leftover: list[AuditEntry] = []
    for entry in trail.candidates:
        text = recode(entry.statement, trail.info.server_encoding) or entry.statement
        hit = _take(wanted.get(_normal(text), []), parse_log_time(entry.ctx.timestamp))
        if hit is None:
            leftover.append(entry)
        else:
            trail.found[hit.stmt] = -entry.statement_id
    return leftover


def _take(options: list[TrailStatement], moment: float | None) -> TrailStatement | None:
    for i, st in enumerate(options):
        start = iso_seconds(st.started)
        end = iso_seconds(st.ended) or start
        if moment is None or start is None or end is None:
            return options.pop(i)
        if start - _TIME_SLACK <= moment <= end + _TIME_SLACK:
            return options.pop(i)
    return None


def _normal(text: str) -> str:
    return " ".join(text.split()).rstrip(";").strip()


def _set_integrity(state: TrailState, verdict: VerifyResult) -> None:
    state.integrity = verdict.status.name.lower()
    state.integrity_problem = verdict.problem


def _app_sid(application_name: str | None) -> str | None:
    if not application_name or not application_name.startswith("prodsql:"):
        return None
    found = _APP_RE.search(application_name)
    return found.group(1) if found else None


def _extra(
    session: _ServerSession, sid: str | None, seq: int | None, entry: AuditEntry, why: str
) -> Finding:
    return Finding(
        Category.MISSING_IN_TRAIL,
        sid,
        seq,
        entry.statement_id,
        session.key,
        session.trail.logged_text(entry.statement) if session.trail else printable(entry.statement),
        why,
        f"{entry.ctx.source}:{entry.ctx.line}",
    )
