"""The one statement path: classify, decide, confirm, trail the intent, tag, send,
trail the outcome. Every entry point (``-c``, ``-f``, the shell, ``\\i``) goes through
:meth:`AuditedSession.run_statement`; nothing reaches the server any other way."""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any, Protocol

from prodsql._signals import Terminated
from prodsql.errors import (
    PolicyRefusal,
    PostureError,
    ServerDiagnostics,
    StatementError,
    TrailError,
)
from prodsql.policy import (
    Action,
    Classification,
    Decision,
    Mode,
    PolicyConfig,
    Statement,
    evaluate,
    make_tag,
    tag_statement,
)
from prodsql.policy.redact import Redaction, pgaudit_logged, redact
from prodsql.result import Result
from prodsql.session import errpos
from prodsql.session.connect import ConnectParams, connect
from prodsql.session.identity import Identity
from prodsql.session.posture import POSTURE_SQL, Posture, Verdict, judge, session_fix_sql

if TYPE_CHECKING:
    import psycopg

    from prodsql.trail import TrailWriter

# Decides whether a statement that needs confirmation may run: returns who
# confirmed and how (recorded in the trail), or None to decline.
Confirmer = Callable[[Statement, Classification, Decision], str | None]
# Called after the decision and before the intent is written: the shell opens its
# explicit write transaction here (with an internal, trailed BEGIN).
BeforeSend = Callable[[Classification], None]
_STREAM_BATCH = 1000


class RowSink(Protocol):
    """Receives a result while it streams, so the whole result is never held."""

    def start(self, columns: Sequence[str], type_oids: Sequence[int]) -> None: ...

    def rows(self, batch: Sequence[tuple[Any, ...]]) -> None: ...


_TXN = {0: "idle", 1: "active", 2: "in_transaction", 3: "failed", 4: "unknown"}
_NOTICE_KEEP = 5
_CANCEL_TIMEOUT = 5.0  # seconds to reach the server with a cancel request on SIGTERM


def decline_all(_s: Statement, _c: Classification, _d: Decision) -> str | None:
    return None


def allow_all(_s: Statement, _c: Classification, _d: Decision) -> str | None:
    return "--allow-destructive"


class AuditedSession:
    """A connection whose every statement is classified, decided and trailed."""

    def __init__(
        self,
        identity: Identity,
        params: ConnectParams,
        trail: TrailWriter,
        *,
        mode: Mode,
        policy: PolicyConfig | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.identity, self.params, self.trail, self.mode = identity, params, trail, mode
        self.policy = policy or PolicyConfig()
        self.stderr = stderr or sys.stderr
        self.conn: psycopg.Connection[Any] | None = None
        self.posture: Posture | None = None
        self.stmt_no = 0
        self.required: tuple[str, ...] = ()
        # Break-glass sessions also need parameter values logged (see posture.judge).
        self.require_log_parameter = False
        # The session_start record's fields: a reconnect restates them for the new
        # server session (see reconnect()).
        self.start_fields: dict[str, object] = {}
        self._notices: list[dict[str, str]] = []
        self._stream_cancelled = False  # the running query's stream cancelled it
        # The statement being sent, as the trail records it: notices are scrubbed with it.
        self._hidden = Redaction("")
        # Where the last failed statement's error points, as shown (see _failure_fields).
        self._error_place = errpos.ErrorPlace()
        # The transaction status when the last statement was sent (see close()).
        self._txn_at_send = 0
        # The reason for the current write mode (--reason, break-glass, \write REASON).
        self.mode_reason: str | None = None

    # -- opening -------------------------------------------------------------
    def open(self, *, required: Sequence[str]) -> Posture:
        """Connect, then confirm the audit posture; a session that would not be
        audited as required does not start."""
        self.conn = connect(self.params, on_notice=self._on_notice)
        self.required = tuple(required)
        posture = self._read_posture()
        verdict = self._judge(posture, required)
        if not verdict.ok and posture.superuser and posture.loaded and verdict.missing:
            self._internal(
                session_fix_sql(posture, required), "raise the session's pgAudit posture"
            )
            posture = self._read_posture()
            verdict = self._judge(posture, required)
        self.posture = posture
        fields = _connected_fields(posture, verdict.ok, verdict.problems)
        # The encoding pgAudit logs this session's statements in (reconcile needs it).
        fields["server_encoding"] = self.conn.info.parameter_status("server_encoding")
        self.trail.append("connected", fields)
        if posture.superuser:
            self._warn("connected as a superuser: pgAudit cannot reliably audit superusers")
        if not verdict.ok:
            raise PostureError(
                "the server would not audit this session as required: "
                + "; ".join(verdict.problems),
                hint="an administrator can fix it with:\n  " + "\n  ".join(verdict.fix_sql),
            )
        return posture

    def _judge(self, posture: Posture, required: Sequence[str]) -> Verdict:
        return judge(
            posture,
            required,
            require_log_parameter=self.require_log_parameter,
            expect_read_only=self.mode is Mode.READ_ONLY,
            expect_application_name=self.identity.application_name,
        )

    def _check_tag(self) -> None:
        """The server reports application_name whenever it changes (GUC_REPORT). If it is
        no longer prodsql's tag, something blinded the audit: end the session."""
        assert self.conn is not None
        if self.conn.closed:
            return
        current = self.conn.info.parameter_status("application_name")
        expected = self.identity.application_name
        if current is not None and current != expected:
            self.trail.append(
                "meta",
                {
                    "command": "audit_tamper_detected",
                    "args": "",
                    "application_name": str(current),
                    "expected": expected,
                },
            )
            raise PostureError(
                f"application_name changed to {current!r} during the session; prodsql ends it",
                hint="a statement (a function, a trigger) changed the session's tag; "
                "this is recorded in the trail",
            )

    def _read_posture(self) -> Posture:
        row = self.internal_row(POSTURE_SQL, "read the audit posture")
        return Posture.from_row(row)

    def _internal(self, sql: str, purpose: str) -> Result:
        """A statement prodsql itself sends: tagged and trailed like any other."""
        self.stmt_no += 1
        tag = make_tag(self.identity.session_id, self.stmt_no)
        sent = tag_statement(sql, tag)
        hidden = redact(sql)  # EXPLAIN of a statement typed with a secret, for instance
        self.trail.append(
            "statement",
            {
                "stmt": self.stmt_no,
                "source": "internal",
                "purpose": purpose,
                **_recorded_texts(sql, tag, hidden),
                "tag": tag,
                # What it is, for the reviewer tools (the posture query is a READ).
                "classification": _classification_fields(_scrubbed_class(sql, hidden)),
            },
        )
        result, fields = self._send(sent, None, hidden=hidden)
        self.trail.append("outcome", {"stmt": self.stmt_no, **fields}, sync=False)
        if fields["status"] != "ok":
            if fields["status"] == "connection_lost":
                raise _statement_error(fields)
            raise StatementError(
                f"internal query failed ({purpose}): {fields.get('message')}",
                sqlstate=str(fields.get("sqlstate") or ""),
                status=str(fields["status"]),
            )
        return result

    def internal_row(self, sql: str, purpose: str) -> Sequence[Any]:
        """The first row of an internal query (empty when it returned none)."""
        result = self._internal(sql, purpose)
        return result.rows[0] if result.rows else ()

    def internal_query(self, sql: str, purpose: str) -> Result:
        """A whole internal query result (catalog lookups, EXPLAIN, BEGIN)."""
        return self._internal(sql, purpose)

    # -- the statement path --------------------------------------------------
    def run_statement(
        self,
        stmt: Statement,
        source: str,
        confirm: Confirmer,
        *,
        before_send: BeforeSend | None = None,
        sink: RowSink | None = None,
    ) -> Result:
        """Classify, decide, confirm, trail, tag, send, trail. Raises PolicyRefusal
        (nothing sent) or StatementError (sent, failed). With a ``sink`` the rows
        stream to it in batches instead of being collected in the Result."""
        hidden = redact(stmt.text)  # what the trail, and any message, may show of it
        classification, decision = _scrubbed(*evaluate(stmt.text, self.mode, self.policy), hidden)
        # The confirmer and before_send may send internal statements (EXPLAIN, BEGIN),
        # which take their own numbers: this statement's number is taken after them.
        confirmed_by = self._decide(stmt, source, classification, decision, confirm, hidden=hidden)
        if before_send is not None:
            before_send(classification)
        self.stmt_no += 1
        tag = make_tag(self.identity.session_id, self.stmt_no)
        sent = tag_statement(stmt.text, tag)
        self.trail.append(
            "statement",
            {
                "stmt": self.stmt_no,
                "source": source,
                **_recorded_texts(stmt.text, tag, hidden),
                "tag": tag,
                "classification": _classification_fields(classification),
                "decision": _decision_fields(decision),
                "confirmed_by": confirmed_by,
            },
        )
        result, fields = self._send(sent, stmt, classification, sink, hidden=hidden)
        self.trail.append("outcome", {"stmt": self.stmt_no, **fields}, sync=False)
        self._check_tag()
        if fields["status"] != "ok":
            raise _statement_error(fields, self._error_place)
        return result

    def _decide(
        self,
        stmt: Statement,
        source: str,
        c: Classification,
        d: Decision,
        confirm: Confirmer,
        *,
        hidden: Redaction,
    ) -> str | None:
        if d.action is Action.RUN:
            return None
        if d.action is Action.CONFIRM:
            who = confirm(stmt, c, d)
            if who:
                return who
            self._refuse(source, c, d, "not confirmed", hidden)
            raise PolicyRefusal(
                "statement needs confirmation and was not confirmed: " + "; ".join(d.reasons),
                hint="re-run with --allow-destructive to pre-confirm it (recorded in the trail)",
            )
        self._refuse(source, c, d, "refused by policy", hidden)
        raise PolicyRefusal("statement refused: " + "; ".join(d.reasons))

    def _refuse(
        self, source: str, c: Classification, d: Decision, why: str, hidden: Redaction
    ) -> None:
        self.stmt_no += 1  # a refused statement keeps its number: gaps would look like loss
        self.trail.append(
            "refused",
            {
                "stmt": self.stmt_no,
                "source": source,
                "text": hidden.text,
                **({"redacted": True} if hidden.redacted else {}),
                "why": why,
                "classification": _classification_fields(c),
                "decision": _decision_fields(d),
            },
        )

    def record_meta(self, command: str, args: str, fields: dict[str, object] | None = None) -> None:
        self.trail.append("meta", {"command": command, "args": args, **(fields or {})})

    # -- sending -------------------------------------------------------------
    def _send(
        self,
        sent: str,
        stmt: Statement | None,
        c: Classification | None = None,
        sink: RowSink | None = None,
        *,
        hidden: Redaction,
    ) -> tuple[Result, dict[str, object]]:
        import psycopg

        assert self.conn is not None
        self._notices = []
        self._stream_cancelled = False
        self._hidden = hidden
        self._txn_at_send = int(self.conn.info.transaction_status)
        started = time.perf_counter()
        result = Result()
        fields: dict[str, object]
        copied: dict[str, object] = {}  # what a COPY FROM STDIN sent: its size and digest
        try:
            with self.conn.cursor() as cur:
                if c is not None and _is_client_copy(c):
                    _run_copy(cur, sent, stmt, result, copied)
                elif sink is not None and c is not None and _streamable(c):
                    _stream(cur, sent, result, sink, self._note_stream_cancel)
                else:
                    cur.execute(sent)
                    _collect(cur, result)
            fields = {"status": "ok", "command_status": result.status, "rows": result.rowcount}
        except psycopg.errors.QueryCanceled as exc:
            fields = self._failure_fields(exc, "cancelled", sent)
        except psycopg.OperationalError as exc:
            fields = self._failure_fields(
                exc, "connection_lost" if self.conn.closed else "error", sent
            )
        except psycopg.Error as exc:
            fields = self._failure_fields(exc, "error", sent)
        except KeyboardInterrupt:
            fields = {"status": "cancelled", "message": "interrupted by the user (Ctrl-C)"}
            self._finish_fields(fields, started, copied)
            self.trail.append("outcome", {"stmt": self.stmt_no, **fields}, sync=True)
            raise
        except Terminated:
            # psycopg cancels on Ctrl-C only; a statement left running after we exit would
            # go on (and commit) on the server with nobody watching: cancel it first.
            fields = {"status": "unknown", "message": self._cancel_on_signal()}
            self._finish_fields(fields, started, copied)
            self.trail.append("outcome", {"stmt": self.stmt_no, **fields}, sync=True)
            raise
        self._finish_fields(fields, started, copied)
        return result, fields

    def _note_stream_cancel(self) -> None:
        self._stream_cancelled = True

    def _cancel_on_signal(self) -> str:
        why = "terminated by a signal while the statement ran"
        sent = f"{why}; a cancel request was sent: it may or may not have completed"
        conn = self.conn
        if conn is None or conn.closed or int(conn.info.transaction_status) != 1:  # ACTIVE
            # A query's stream, abandoned on the way out, cancels the query itself.
            return sent if self._stream_cancelled else why
        try:
            conn.cancel_safe(timeout=_CANCEL_TIMEOUT)
        except Exception as exc:  # reported in the trail: the signal still ends the session
            return f"{why}; the cancel request failed ({type(exc).__name__}): it may still run"
        return sent

    def _failure_fields(self, exc: Any, status: str, sent: str) -> dict[str, object]:
        """The outcome fields of a failed statement, ``position`` (1-based, in the recorded
        text) among them; what psql would print beside the message goes to _error_place,
        taken off the tag and scrubbed of the statement's secrets."""
        fields = _error_fields(exc, status)
        self._error_place = errpos.locate(getattr(exc, "diag", None), sent, self._hidden)
        if self._error_place.position is not None:
            fields["position"] = self._error_place.position
        return fields

    def _finish_fields(
        self, fields: dict[str, object], started: float, copied: dict[str, object]
    ) -> None:
        assert self.conn is not None
        fields.update(copied)
        for name in ("message", "detail", "hint"):  # a syntax error may quote a secret
            if isinstance(fields.get(name), str):
                fields[name] = self._hidden.scrub(str(fields[name]))
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        status = 4 if self.conn.closed else int(self.conn.info.transaction_status)
        fields["txn_status"] = _TXN.get(status, "unknown")
        if self._notices:
            fields["notices"] = self._notices[:_NOTICE_KEEP]

    def _on_notice(self, diag: Any) -> None:
        severity = str(diag.severity or "NOTICE")
        message = self._hidden.scrub(str(diag.message_primary or ""))
        self._notices.append({"severity": severity, "message": message[:500]})
        print(f"{severity}:  {message}", file=self.stderr)

    def _warn(self, text: str) -> None:
        print(f"prodsql: warning: {text}", file=self.stderr)

    # -- closing -------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return (
            self.conn is not None
            and not self.conn.closed
            and int(self.conn.info.transaction_status) in (2, 3)
        )

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.closed

    @property
    def txn_state(self) -> str:
        """``idle``, ``in_transaction``, ``failed`` or ``disconnected`` (psql's %x)."""
        if not self.connected:
            return "disconnected"
        assert self.conn is not None
        return _TXN.get(int(self.conn.info.transaction_status), "unknown")

    def reconnect(self) -> Posture:
        """A new connection with fresh credentials (a new IAM token) after one was lost;
        the posture is read and judged again. Never re-runs anything.

        The ``reconnect`` record is the start record of the new server session: it
        restates the session_start fields (with the current mode) and names the
        connection it replaces; the ``connected`` record that follows carries the new
        backend pid, server session id and posture."""
        old = self.posture
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.trail.append(
            "reconnect",
            {
                **self.start_fields,
                "mode": str(self.mode),
                "reason": self.mode_reason,
                "credentials": _FRESH_CREDENTIALS.get(self.params.auth, "libpq"),
                "previous_backend_pid": old.backend_pid if old else None,
                "previous_server_session_id": old.server_session_id if old else None,
            },
        )
        return self.open(required=self.required)

    def close(self, how: str) -> None:
        """End the session: roll back what is open, close the connection, close the trail.

        A transaction still open (a SIGHUP in the middle of one, input that ended without
        COMMIT) is rolled back by the server when the connection closes: session_end says
        so (``open_transaction``), so that a replay cannot read its statements as committed.
        """
        fields: dict[str, object] = {"statements": self.stmt_no}
        if self._open_transaction():
            fields["open_transaction"] = OPEN_TRANSACTION_ROLLED_BACK
        if self.conn is not None and not self.conn.closed:
            # Not even Ctrl-C here may keep the trail from being closed.
            with contextlib.suppress(Exception, KeyboardInterrupt, Terminated):
                self.conn.close()
        if not self.trail.closed:
            try:
                self.trail.close(how, fields)
            except TrailError as exc:
                print(exc.diagnostics(), file=self.stderr)

    def _open_transaction(self) -> bool:
        """Whether a transaction block is open on a connection that is still up; while a
        statement runs (ACTIVE), whether one was open when it was sent."""
        if self.conn is None or self.conn.closed:
            return False
        status = int(self.conn.info.transaction_status)
        if status == 1:  # ACTIVE: a statement a signal interrupted
            status = self._txn_at_send
        return status in (2, 3)  # INTRANS, INERROR


OPEN_TRANSACTION_ROLLED_BACK = "rolled back by the server as the connection closed"

_FRESH_CREDENTIALS = {
    "iam": "a new IAM token",
    "keyring": "the keyring password, read again",
}


def _is_client_copy(c: Classification) -> bool:
    return c.command == "COPY" and not ({"server_file", "program"} & c.flags)


def _run_copy(
    cur: Any, sent: str, stmt: Statement | None, result: Result, copied: dict[str, object]
) -> None:
    """Run a COPY to or from the client. For COPY FROM STDIN, ``copied`` gets the size and
    SHA-256 of the bytes sent (the trail never holds the data itself), before they go."""
    with cur.copy(sent) as copy:
        if "copy_to" in _copy_direction(sent):
            for chunk in copy:
                sys.stdout.buffer.write(bytes(chunk))
            sys.stdout.buffer.flush()
            result.quiet = True  # the data went to stdout: no "COPY n" after it (psql)
        else:
            data = stmt.copy_data if stmt is not None and stmt.copy_data is not None else None
            if data is None:
                data = sys.stdin.read()
            if data and not data.endswith("\n"):
                data += "\n"
            payload = data.encode(cur.connection.info.encoding)
            copied["copy_bytes"] = len(payload)
            copied["copy_sha256"] = hashlib.sha256(payload).hexdigest()
            if payload:
                copy.write(payload)
    # After a COPY TO, psycopg (3.3) keeps the row count but not the command tag.
    result.rowcount = cur.rowcount
    result.status = cur.statusmessage or ("COPY" if cur.rowcount < 0 else f"COPY {cur.rowcount}")


def _copy_direction(sent: str) -> str:
    from pglast import parser

    try:
        stmt = parser.parse_sql_json(sent)
    except Exception:
        return ""
    return "copy_from" if '"is_from":true' in stmt else "copy_to"


def _streamable(c: Classification) -> bool:
    # Queries only: stream() uses the extended protocol (one statement per message, no
    # COPY) and fails on commands that return no rows, such as a ROLLBACK.
    return c.kind == "read" and "multi_statement" not in c.flags


def _stream(
    cur: Any, sent: str, result: Result, sink: RowSink, on_cancel: Callable[[], None]
) -> None:
    from prodsql.session.fetch import batches

    count = 0
    started = False
    for batch in batches(cur, sent, _STREAM_BATCH, on_cancel):
        if not started:
            sink.start(*_description(cur))
            started = True
        sink.rows(batch)
        count += len(batch)
    result.has_rows = cur.description is not None
    if result.has_rows:
        result.columns, result.type_oids = _description(cur)
        if not started:
            sink.start(result.columns, result.type_oids)
    # psycopg (3.3) leaves statusmessage empty for results read through session.fetch:
    # the command tag (DO, DECLARE CURSOR, MOVE 1, FETCH 2 ...) comes from the result.
    tag = cur.pgresult.command_status if cur.pgresult is not None else None
    status = cur.statusmessage or (tag.decode() if tag else "")
    result.status = status or (f"SELECT {count}" if result.has_rows else "")
    result.rowcount = count if result.has_rows else cur.rowcount


def _description(cur: Any) -> tuple[list[str], list[int]]:
    return [col.name for col in cur.description], [col.type_code for col in cur.description]


def _collect(cur: Any, result: Result) -> None:
    result.status = cur.statusmessage or ""
    result.rowcount = cur.rowcount
    if cur.description is not None:
        result.has_rows = True
        result.columns = [col.name for col in cur.description]
        result.type_oids = [col.type_code for col in cur.description]
        result.rows = cur.fetchall()


def _error_fields(exc: Any, status: str) -> dict[str, object]:
    diag = getattr(exc, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    fields: dict[str, object] = {
        "status": status,
        "sqlstate": getattr(exc, "sqlstate", None),
        "message": message,
    }
    detail = getattr(diag, "message_detail", None)
    hint = getattr(diag, "message_hint", None)
    if detail:
        fields["detail"] = detail
    if hint:
        fields["hint"] = hint
    return fields


def _statement_error(
    fields: dict[str, object], place: errpos.ErrorPlace | None = None
) -> StatementError:
    place = place or errpos.ErrorPlace()
    server = ServerDiagnostics(
        position=place.lines,
        detail=_field(fields, "detail"),
        hint=_field(fields, "hint"),
        query=place.query,
        context=place.context,
    )
    hint = None
    if fields["status"] == "connection_lost":
        hint = (
            "the connection was lost; the statement may or may not have run: check before retrying"
        )
    return StatementError(
        str(fields.get("message") or "statement failed"),
        sqlstate=_field(fields, "sqlstate"),
        hint=hint,
        status=str(fields["status"]),
        server=server,
    )


def _field(fields: dict[str, object], name: str) -> str | None:
    value = fields.get(name)
    return str(value) if value else None


def _recorded_texts(text: str, tag: str, hidden: Redaction) -> dict[str, object]:
    """The statement's ``text`` and ``sent`` as the trail records them: with any secret
    redacted (``redacted``), and ``logged_as``, what pgAudit logs in their place when it
    redacts the statement itself (docs/trail-format.md)."""
    sent = tag_statement(hidden.text, tag)
    fields: dict[str, object] = {"text": hidden.text, "sent": sent}
    if hidden.redacted:
        fields["redacted"] = True
    logged_as = pgaudit_logged(text, sent)
    if logged_as is not None:
        fields["logged_as"] = logged_as
    return fields


def _scrubbed(c: Classification, d: Decision, hidden: Redaction) -> tuple[Classification, Decision]:
    """The classification and decision without the statement's secrets in their reasons
    (a parse error quotes the text where it failed)."""
    if not hidden.redacted:
        return c, d
    return (
        replace(c, reasons=tuple(hidden.scrub(r) for r in c.reasons)),
        replace(d, reasons=tuple(hidden.scrub(r) for r in d.reasons)),
    )


def _scrubbed_class(sql: str, hidden: Redaction) -> Classification:
    from prodsql.policy.classify import classify

    c = classify(sql)
    return replace(c, reasons=tuple(hidden.scrub(r) for r in c.reasons)) if hidden.redacted else c


def _classification_fields(c: Classification) -> dict[str, object]:
    return {
        "kind": c.kind,
        "command": c.command,
        "objects": list(c.objects),
        "flags": sorted(c.flags),
        "reasons": list(c.reasons),
    }


def _decision_fields(d: Decision) -> dict[str, object]:
    return {"action": str(d.action), "reasons": list(d.reasons)}


def _connected_fields(p: Posture, ok: bool, problems: Sequence[str]) -> dict[str, object]:
    return {
        "backend_pid": p.backend_pid,
        "server_session_id": p.server_session_id,
        "server_version": p.server_version,
        "db_user": p.db_user,
        "session_user": p.session_user,
        "dbname": p.dbname,
        "superuser": p.superuser,
        "application_name": p.application_name,
        "posture": p.as_record(),
        "posture_ok": ok,
        "posture_problems": list(problems),
    }
