"""The REPL: read a buffer, split it, run meta-commands and statements in order.

Every statement goes through ``AuditedSession.run_statement``; every meta-command is
recorded in the trail. The shell adds what a human needs around that path: confirmations
typed from what was shown, write mode inside explicit transactions, Ctrl-C as a real
server-side cancel, reconnect with fresh credentials, an idle timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from prompt_toolkit.formatted_text import FormattedText

from prodsql import _signals, _terminal
from prodsql.config import DEFAULT_IDLE_TIMEOUT, IDLE_EXPECTED, idle_timeout_seconds
from prodsql.errors import ConfigError, Error, PolicyRefusal, PostureError, StatementError
from prodsql.policy import (
    Action,
    Classification,
    Decision,
    MetaCommand,
    Mode,
    Statement,
    evaluate,
    split,
)
from prodsql.shell import confirm as confirming
from prodsql.shell.completion import CATALOG_SQL, Catalog, SqlCompleter
from prodsql.shell.input import PROMPT_STYLE, is_complete, prompt_parts
from prodsql.shell.render import Display, Output, ResultPrinter

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from prodsql.result import Result
    from prodsql.session.runner import AuditedSession

# Statements PostgreSQL refuses inside a transaction block: no BEGIN is sent for them.
_NO_TRANSACTION = frozenset(
    {"VACUUM", "CREATE DATABASE", "DROP DATABASE", "CREATE TABLESPACE", "DROP TABLESPACE"}
)
_OPENS_TRANSACTION = frozenset({"write", "ddl", "privilege", "lock"})
_MAX_INCLUDE_DEPTH = 16
_IN_TXN = ("in_transaction", "failed")
# psql's words, so a paste made for psql reads the same.
COPY_PROMPT = (
    "Enter data to be copied followed by a newline.\n"
    "End with a backslash and a period on a line by itself, or an EOF signal.\n"
)
_END_OF_DATA = re.compile(r"^\\\.\r?$", re.MULTILINE)
# How the input-stopped message says what happened to the statement (its outcome).
_STOPPED_BY = {
    "refused": "was refused",
    "not confirmed": "was not confirmed",
    "error": "failed",
    "cancelled": "was cancelled",
    "connection_lost": "lost the connection",
    "unknown": "was interrupted",
    "not connected": "could not be sent (no connection)",
}


class IdleTimeout(Exception):
    """No keystroke for the configured time: the session ends."""


class DeadlineReached(Exception):
    """A break-glass session's hard maximum duration is over: the session ends."""


@dataclass(frozen=True, slots=True)
class ShellOptions:
    label: str
    ticket: str | None
    history: Path | None = None
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT  # seconds; 0 switches it off
    vi_mode: bool = False
    fmt: str = "aligned"
    # Break-glass: seconds left before the hard deadline (None: no deadline).
    remaining: Callable[[], float] | None = None


@dataclass(slots=True)
class InputStop:
    """The first statement (or ``\\i``) that was refused, not confirmed or failed: the
    rest of the input is not run, here and in every ``\\i`` around it."""

    outcome: str  # the statement's outcome: refused, not confirmed, error, cancelled ...
    stmt: int | None  # its number in the trail (None: it never got one)
    where: str  # its source: "shell", "\\i FILE:LINE"
    said: str  # what happened, for the message
    counts_itself: bool = False  # the statement itself was not run either
    not_run: list[tuple[str, int, int]] = field(default_factory=list)  # input, stmts, metas

    @classmethod
    def after(cls, shell: Shell, where: str) -> InputStop:
        """For the statement ``shell`` has just tried to run."""
        outcome = shell.last_outcome
        if outcome == "transaction lost":
            said = "the transaction open when the connection was lost is gone"
            return cls(outcome, None, where, said, counts_itself=True)
        said = "the statement " + _STOPPED_BY.get(outcome, f"ended: {outcome}")
        return cls(outcome, shell.last_stmt_no, where, said)


def opens_transaction(c: Classification, text: str) -> bool:
    """Does this write need prodsql's explicit BEGIN first (write mode, idle)?"""
    if c.command in _NO_TRANSACTION or "CONCURRENTLY" in text.upper():
        return False
    return c.kind in _OPENS_TRANSACTION or "writes" in c.flags


class Shell:
    def __init__(
        self,
        session: AuditedSession,
        options: ShellOptions,
        *,
        stdout: IO[str],
        stderr: IO[str],
        pt_input: Any = None,
        pt_output: Any = None,
    ) -> None:
        self.session, self.options = session, options
        self.out, self.err = stdout, stderr
        self.display = Display(fmt=options.fmt)
        self.output = Output(stdout)
        self.lock = threading.Lock()  # the connection: statements vs. the catalog loader
        self.catalog = Catalog(self._load_catalog, self.lock)
        self.pending = ""
        self.last_statement: Statement | None = None
        self.quit = False
        self.idle_pending = False
        self.last_outcome = ""
        self.how = "completed"
        self.include_depth = 0
        self.inflight_xid: str | None = None
        self.stopped: InputStop | None = None  # set until the outermost input has seen it
        self.last_stmt_no: int | None = None  # the trail number of the last statement tried
        # The open transaction's statements (trail number, first line), from its BEGIN: if
        # the connection is lost with it, the server rolled them back (see _report_lost).
        self.txn_stmts: list[tuple[int, str]] = []
        self.lost_txn: list[tuple[int, str]] | None = None  # lost, not yet reported
        self._began = False  # prodsql sent BEGIN for the statement being run
        self._current: Statement | None = None
        self._last_class: Classification | None = None
        self._pt_input, self._pt_output = pt_input, pt_output
        self.last_activity = time.monotonic()
        self.prompt = self._build_prompt()

    # -- the loop ------------------------------------------------------------
    def run(self) -> str:
        """Read and run until \\q, Ctrl-D or the idle timeout; returns how it ended."""
        while not self.quit:
            if self.expired():
                self._deadline()
                break
            try:
                text = self._read()
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                result = "session ends" if self.request_quit() else "cancelled: back to the prompt"
                self.session.record_meta("q", "", {"via": "Ctrl-D", "result": result})
                continue
            except IdleTimeout:
                self._idle_timeout()
                break
            except DeadlineReached:
                self._deadline()
                break
            if self.expired():
                self._deadline()
                break
            self.run_text(text, "shell")
            if self.idle_pending:  # a \watch ran unattended until the idle timeout
                self._idle_timeout()
                break
        self._report_lost(reconnected=False)  # the session ends before any reconnect
        return self.how

    def expired(self) -> bool:
        """A break-glass session's deadline has passed."""
        return self.options.remaining is not None and self.options.remaining() <= 0

    def idle_expired(self) -> bool:
        """No keystroke for the idle timeout (outside the prompt: during ``\\watch``)."""
        limit = self.options.idle_timeout
        return limit > 0 and time.monotonic() - self.last_activity >= limit

    def _deadline(self) -> None:
        self.err.write("\nThe break-glass session reached its maximum duration: it ends now.\n")
        if self.session.connected and self.session.txn_state in ("in_transaction", "failed"):
            self.run_sql(Statement("ROLLBACK", 0, True), "shell (break-glass deadline)")
        self.how = "expired"

    def _read(self) -> str:
        default, self.pending = self.pending, ""
        self.last_activity = time.monotonic()
        with _PromptSignals() as signals:

            def started() -> None:
                signals.started()
                self._start_idle_watch()

            text: str = self.prompt.prompt(default=default, pre_run=started)
        return text

    def run_text(self, text: str, source: str) -> None:
        """Run the pieces of ``text`` in order; an unterminated statement typed at the
        prompt stays in the buffer, one at the end of a file runs (as in psql).

        The first statement that is refused, not confirmed or fails stops the rest of
        ``text`` and of every ``\\i`` around it (psql's ``ON_ERROR_STOP``, as ``-c``/``-f``
        do): what comes after it was typed expecting it to have run."""
        from prodsql.shell import meta

        pieces = split(text)
        consumed: set[int] = set()  # a \g or \gx that sent the statement before it
        for i, piece in enumerate(pieces):
            if self.quit:
                return
            if isinstance(piece, MetaCommand):
                if i not in consumed:
                    meta.dispatch(self, piece)
            else:
                self._run_piece(pieces, i, text, source, consumed)
            if self.stopped is not None:
                self._stop_here(pieces, i, consumed, source)
                return

    def _run_piece(
        self,
        pieces: Sequence[Statement | MetaCommand],
        i: int,
        text: str,
        source: str,
        consumed: set[int],
    ) -> None:
        from prodsql.shell import meta

        piece = pieces[i]
        assert isinstance(piece, Statement)
        if not piece.terminated and source == "shell":
            self.pending = piece.text
            return
        nxt = pieces[i + 1] if i + 1 < len(pieces) else None
        sender = nxt if isinstance(nxt, MetaCommand) and nxt.name in ("g", "gx") else None
        if isinstance(nxt, MetaCommand) and nxt.name == "watch":
            self.last_statement = piece  # `SELECT ... \watch 2`: the watch runs it, at once
            return
        label = source if source == "shell" else f"{source}:{piece.line}"
        if sender is not None:
            consumed.add(i + 1)
        stmt = self._with_copy_data(piece, text) if source == "shell" else piece
        if stmt is None:
            ok = False
        elif sender is not None:
            ok = meta.send_query(self, stmt, label, sender)
        else:
            ok = self.run_sql(stmt, label)
        if not ok and self.stopped is None:
            self.stopped = InputStop.after(self, label)

    def _stop_here(
        self, pieces: Sequence[Statement | MetaCommand], i: int, consumed: set[int], source: str
    ) -> None:
        """Count what this input will not run; the outermost one reports and records it."""
        stop = self.stopped
        assert stop is not None
        rest = [p for k, p in enumerate(pieces) if k > i and k not in consumed]
        statements = sum(isinstance(p, Statement) for p in rest)
        stop.not_run.append((source, statements, len(rest) - statements))
        if self.include_depth == 0:
            self.stopped = None
            self._report_stop(stop)

    def _report_stop(self, stop: InputStop) -> None:
        if stop.counts_itself:
            source, statements, metas = stop.not_run[0]
            stop.not_run[0] = (source, statements + 1, metas)
        statements = sum(n for _s, n, _m in stop.not_run)
        metas = sum(m for _s, _n, m in stop.not_run)
        if not statements and not metas:
            return
        what = _count(statements, "statement")
        if metas:
            what = (what + " and " if statements else "") + _count(metas, "meta-command")
        were = "was" if statements + metas == 1 else "were"
        after = "" if stop.counts_itself else " after it"
        parts = [f"{n + m} in {_input_words(s)}" for s, n, m in stop.not_run if n or m]
        detail = f" ({', '.join(parts)})" if len(parts) > 1 else ""
        self.err.write(f"Stopped: {stop.said}; {what}{after} {were} not run{detail}.\n")
        self.session.record_meta(
            "input_stopped",
            stop.where,
            {
                "stmt": stop.stmt,
                "outcome": stop.outcome,
                "statements_not_run": statements,
                "meta_commands_not_run": metas,
                "not_run": [
                    {"input": s, "statements": n, "meta_commands": m} for s, n, m in stop.not_run
                ],
            },
        )

    # -- COPY ... FROM STDIN -------------------------------------------------
    def _with_copy_data(self, stmt: Statement, text: str) -> Statement | None:
        """A COPY ... FROM STDIN typed without its data gets it from a ``>>`` prompt, as in
        psql (data pasted after the statement is used as it is). None: not to be run."""
        if stmt.copy_data != "" or _END_OF_DATA.search(text, _line_start(text, stmt.line)):
            return stmt
        c, d = evaluate(stmt.text, self.session.mode, self.session.policy)
        if d.action is Action.REFUSE or "copy_from" not in c.flags:
            return stmt  # refused on the statement path, before anything is asked
        if not self._ready():
            return None
        data, lines = self._read_copy_data()
        if data is None:
            self.err.write("COPY cancelled: nothing was sent.\n")
            self.session.record_meta(
                "copy_cancelled", "", {"text": stmt.text, "lines": lines, "result": "Ctrl-C"}
            )
            self.last_outcome, self.last_stmt_no = "cancelled", None
            self.stopped = InputStop("cancelled", None, "shell", "the COPY was cancelled")
            return None
        return dataclasses.replace(stmt, copy_data=data)

    def _read_copy_data(self) -> tuple[str | None, int]:
        """Lines up to ``\\.`` or Ctrl-D; (None, lines typed) when Ctrl-C cancels."""
        from prompt_toolkit import PromptSession

        self.out.write(COPY_PROMPT)
        self.out.flush()
        asker: PromptSession[str] = PromptSession(
            input=self._pt_input, output=self._pt_output, key_bindings=_data_bindings()
        )
        lines: list[str] = []
        try:
            while not self._data_line(asker, lines):
                pass
        except KeyboardInterrupt:  # at the prompt, or between two lines
            return None, len(lines)
        return "".join(f"{x}\n" for x in lines), len(lines)

    def _data_line(self, asker: PromptSession[str], lines: list[str]) -> bool:
        """Read one answer into ``lines``; True at the end of the data."""
        try:
            answer = self.ask(">> ", asker)
        except EOFError:
            return True
        for line in answer.split("\n"):  # a bracketed paste arrives as one answer
            if line.rstrip("\r") == "\\.":
                return True
            lines.append(line)
        return False

    # -- statements ----------------------------------------------------------
    def run_sql(
        self,
        stmt: Statement,
        source: str,
        *,
        expanded: str | None = None,
        output: Output | None = None,
    ) -> bool:
        """One statement through the audited path; ``last_outcome`` says how it went.
        ``output``: where its result goes (``\\g FILE``), else the shell's output."""
        self.last_outcome, self.last_stmt_no = "not connected", None
        if not self._ready():
            return False
        printer = ResultPrinter(self.display, output or self.output, expanded=expanded)
        self.last_statement, self._current, self._last_class = stmt, stmt, None
        before, self._began = self.session.txn_state, False
        started = time.perf_counter()
        try:
            with self.lock:  # released before the failure is handled: that may reconnect
                result = self.session.run_statement(
                    stmt, source, self._confirm, before_send=self._before_send, sink=printer
                )
        except PolicyRefusal as exc:
            printer.abort()
            self.last_outcome = "not confirmed" if "not confirmed" in exc.message else "refused"
            self.last_stmt_no = self.session.stmt_no
            self._refused(exc)
            return False
        except StatementError as exc:
            printer.abort()
            self.last_outcome = exc.status or "error"
            self._track(stmt, before)
            self._failed(exc, stmt)
            return False
        except KeyboardInterrupt:
            printer.abort()
            self.last_outcome = "cancelled"
            self._track(stmt, before)
            self.err.write(
                "Cancel sent to the server; the statement is recorded as cancelled. "
                "The session is still usable.\n"
            )
            return False
        self.last_outcome = "ok"
        self._track(stmt, before)
        printer.finish(result)
        self._after(started)
        return True

    def _ready(self) -> bool:
        """Connected (reconnecting when needed). What was typed after a transaction was
        lost with the connection is not run: it was typed for that transaction."""
        self._note_lost()
        lost = self.lost_txn is not None
        if not self.ensure_connected():
            self.last_outcome = "not connected"
            return False
        if lost and self.lost_txn is None:  # reported by the reconnect just now
            self.last_outcome = "transaction lost"
            return False
        return True

    def _track(self, stmt: Statement, before: str) -> None:
        """Keep the trail numbers of the open transaction's statements."""
        self.last_stmt_no = self.session.stmt_no
        state = self.session.txn_state
        opened = before in _IN_TXN or self._began
        if state == "idle" or (state == "disconnected" and not opened):
            self.txn_stmts = []
            return
        if not opened:
            self.txn_stmts = []  # this statement opened it (BEGIN)
        self.txn_stmts.append((self.session.stmt_no, _first_line(stmt.text)))

    def _after(self, started: float) -> None:
        if self.display.timing:
            self.output.target.write(f"Time: {(time.perf_counter() - started) * 1000:.3f} ms\n")
        c = self._last_class
        if c is not None and c.kind in ("ddl", "transaction"):
            self.catalog.invalidate()
        if c is not None and c.command == "COMMIT":
            self.inflight_xid = None

    def _before_send(self, c: Classification) -> None:
        self._last_class = c
        text = self._current.text if self._current else ""
        state = self.session.txn_state
        if self.session.mode is Mode.WRITE and state == "idle" and opens_transaction(c, text):
            self.session.internal_query("BEGIN", "open the write transaction the user commits")
            self._began, self.txn_stmts = True, [(self.session.stmt_no, "BEGIN (prodsql)")]
            self.err.write("BEGIN (prodsql opened a transaction: COMMIT keeps, ROLLBACK undoes)\n")
        if c.command == "COMMIT" and state == "in_transaction":
            row = self.session.internal_row(
                "SELECT txid_current_if_assigned()", "know whether a lost COMMIT landed"
            )
            self.inflight_xid = str(row[0]) if row and row[0] is not None else None

    def _confirm(self, stmt: Statement, c: Classification, d: Decision) -> str | None:
        return confirming.confirm_interactively(
            self.session, stmt, c, d, ticket=self.options.ticket, ask=self.ask, out=self.out
        )

    def ask(self, question: str, asker: PromptSession[str] | None = None) -> str:
        from prompt_toolkit import PromptSession

        if asker is None:
            asker = PromptSession(input=self._pt_input, output=self._pt_output)
        with _PromptSignals() as signals:
            answer: str = asker.prompt(question, pre_run=signals.started)
        return answer

    def _refused(self, exc: PolicyRefusal) -> None:
        message = exc.message.replace("run prodsql with --write", "use \\write REASON")
        if "not confirmed" in message:
            return  # the confirmation already said so
        self.err.write(f"prodsql: refused: {message}\n(nothing was sent)\n")

    def _failed(self, exc: StatementError, stmt: Statement) -> None:
        self.err.write(exc.diagnostics() + "\n")
        if exc.status != "connection_lost":
            return
        self.err.write(
            "The connection to the server was lost. Nothing is re-run automatically; "
            "the next statement reconnects with fresh credentials.\n"
        )
        if self.inflight_xid is not None or stmt.text.strip().upper() in ("COMMIT", "END"):
            self.txn_stmts = []  # commit_status tells what became of it
            self.ensure_connected()  # tell now whether the COMMIT landed
        elif _rolls_back(stmt.text):
            self.txn_stmts = []  # lost as asked
        elif self.txn_stmts:
            self._note_lost()
            self.err.write(
                "A transaction was open: the server rolls it back, so nothing of it took effect.\n"
            )

    # -- connection ----------------------------------------------------------
    def ensure_connected(self) -> bool:
        if self.session.connected:
            return True
        self._note_lost()  # also when an internal query (\d, completion) saw the loss
        self.err.write("Reconnecting with fresh credentials...\n")
        try:
            with self.lock:
                self.session.reconnect()
                self._reapply_mode()
        except PostureError as exc:
            self.err.write(exc.diagnostics() + "\nThe session ends: it would not be audited.\n")
            self.quit, self.how = True, "posture_lost"
            return False
        except Error as exc:
            self.err.write(exc.diagnostics() + "\n")
            return False
        self.err.write("Reconnected (a new server session; see the trail).\n")
        self.catalog.invalidate()
        self._report_commit()
        self._report_lost(reconnected=True)
        return True

    def _reapply_mode(self) -> None:
        started_read_only = "default_transaction_read_only=on" in self.session.params.params.get(
            "options", ""
        )
        if self.session.mode is Mode.WRITE and started_read_only:
            self.session.internal_query(
                "SET default_transaction_read_only = off", "restore write mode after reconnect"
            )
        elif self.session.mode is Mode.READ_ONLY and not started_read_only:
            self.session.internal_query(
                "SET default_transaction_read_only = on", "restore read-only mode after reconnect"
            )

    def _report_commit(self) -> None:
        xid, self.inflight_xid = self.inflight_xid, None
        if xid is None or not xid.isdigit():
            return
        with self.lock:
            row = self.session.internal_row(
                f"SELECT txid_status({xid})", "did the COMMIT in flight land?"
            )
        status = str(row[0]) if row and row[0] is not None else "unknown"
        self.session.record_meta("commit_status", xid, {"txid_status": status})
        self.err.write(f"The COMMIT in flight when the connection dropped: {status}.\n")

    def _note_lost(self) -> None:
        """The connection is gone: the transaction open on it is lost (the server rolls it
        back), and is reported after the reconnect."""
        if self.txn_stmts and not self.session.connected:
            self.lost_txn, self.txn_stmts = self.txn_stmts, []

    def _report_lost(self, *, reconnected: bool) -> None:
        """The transaction open when the connection was lost: the server rolled it back.
        Said after the reconnect (and recorded as ``transaction_lost``), or only recorded
        when the session ends before one."""
        self._note_lost()
        lost, self.lost_txn = self.lost_txn, None
        if lost is None or self.session.trail.closed:
            return
        result = "rolled back by the server" + ("" if reconnected else "; the session ended")
        stmts = [n for n, _text in lost]
        self.session.record_meta("transaction_lost", "", {"stmts": stmts, "result": result})
        if reconnected:
            listed = "".join(f"  #{n} {text}\n" for n, text in lost)
            self.err.write(
                "The transaction that was open when the connection was lost was rolled back "
                "by the server. None of these statements took effect (trail numbers); run "
                f"again what is still needed:\n{listed}"
            )

    def _load_catalog(self) -> Result | None:
        if not self.session.connected or self.session.txn_state == "failed":
            return None
        try:
            return self.session.internal_query(CATALOG_SQL, "completion catalog")
        except Error:
            return None

    # -- leaving -------------------------------------------------------------
    def request_quit(self) -> bool:
        """End the session after the open transaction; False when Ctrl-C at the question
        about it goes back to the prompt instead (Ctrl-D there means the default)."""
        state = self.session.txn_state
        if state == "in_transaction":
            try:
                answer = self.ask(
                    "A transaction is open. Type commit to commit it, Ctrl-C to go back; "
                    "anything else rolls it back [rollback]: "
                )
            except KeyboardInterrupt:
                self.err.write("Back to the prompt; the transaction is still open.\n")
                return False
            except EOFError:
                answer = ""
            word = "COMMIT" if answer.strip().lower() == "commit" else "ROLLBACK"
            self.run_sql(Statement(word, 0, True), "shell (on exit)")
        elif state == "failed":
            self.err.write("The open transaction failed; rolling it back.\n")
            self.run_sql(Statement("ROLLBACK", 0, True), "shell (on exit)")
        self.quit = True
        return True

    def _idle_timeout(self) -> None:
        limit = self.options.idle_timeout
        self.err.write(f"\nNo input for {duration_words(limit)}: the session ends.\n")
        if self.session.txn_state in ("in_transaction", "failed"):
            self.err.write("The open transaction is rolled back.\n")
            self.run_sql(Statement("ROLLBACK", 0, True), "shell (idle timeout)")
        self.session.record_meta(
            "idle_timeout", f"{limit:g}s", {"seconds": limit, "result": "session ended"}
        )
        self.how = "idle_timeout"

    # -- prompt_toolkit ------------------------------------------------------
    def _build_prompt(self) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.enums import EditingMode
        from prompt_toolkit.styles import Style

        from prodsql.shell.highlight import HIGHLIGHT_STYLE, SqlLexer
        from prodsql.shell.history import open_history

        session: PromptSession[str] = PromptSession(
            message=self._message,
            multiline=True,
            key_bindings=_key_bindings(),
            lexer=SqlLexer(),
            completer=SqlCompleter(self.catalog),
            complete_while_typing=False,
            history=open_history(self.options.history),
            style=Style.from_dict({**PROMPT_STYLE, **HIGHLIGHT_STYLE}),
            editing_mode=EditingMode.VI if self.options.vi_mode else EditingMode.EMACS,
            prompt_continuation=_continuation,
            search_ignore_case=True,
            input=self._pt_input,
            output=self._pt_output,
        )
        session.app.key_processor.before_key_press += self._touch
        return session

    def _touch(self, _sender: object) -> None:
        self.last_activity = time.monotonic()

    def _message(self) -> FormattedText:
        return FormattedText(
            prompt_parts(
                self.options.label,
                self.options.ticket,
                str(self.session.mode),
                self.session.txn_state,
            )
        )

    def _start_idle_watch(self) -> None:
        from prompt_toolkit.application import get_app

        if self.options.idle_timeout > 0 or self.options.remaining is not None:
            get_app().create_background_task(self._watch_idle())

    async def _watch_idle(self) -> None:
        from prompt_toolkit.application import get_app

        limit = self.options.idle_timeout
        while True:
            await asyncio.sleep(min(1.0, limit) if limit > 0 else 0.5)
            if self.expired():
                get_app().exit(exception=DeadlineReached())
                return
            if self.idle_expired():
                get_app().exit(exception=IdleTimeout())
                return


class _PromptSignals:
    """While a prompt runs, SIGTERM/SIGHUP end the prompt with Terminated (the session
    then ends with a trail record). Raised from the handler instead, the exception could
    land in one of prompt_toolkit's callbacks, which would print it and wait for Enter."""

    def __init__(self) -> None:
        self.app: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.context: contextvars.Context | None = None
        self.previous: _signals.Deferral | None = None
        self.previous_say: _terminal.Hook | None = None
        self.signum: int | None = None

    def __enter__(self) -> _PromptSignals:
        self.previous = _signals.defer_to(self)
        self.previous_say = _terminal.say_through(self.say)
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        _signals.defer_to(self.previous)
        _terminal.say_through(self.previous_say)
        if kind is None and self.signum is not None:
            # The signal came as the prompt was returning (Enter already pressed): what
            # was typed must not run.
            raise _signals.Terminated(self.signum)

    def started(self) -> None:
        """The prompt's pre_run: its application and event loop are running."""
        from prompt_toolkit.application import get_app

        self.app, self.loop = get_app(), asyncio.get_running_loop()
        self.context = contextvars.copy_context()  # the prompt's: run_in_terminal needs it

    def say(self, line: str) -> bool:
        """A warning from another thread (the break-glass watchdog): printed above the
        prompt, which is then drawn again. False when no prompt runs."""
        app, loop = self.app, self.loop
        if app is None or loop is None or loop.is_closed() or not app.is_running:
            return False
        loop.call_soon_threadsafe(_print_above, line, context=self.context)
        return True

    def __call__(self, signum: int) -> bool:
        app, loop = self.app, self.loop
        if app is None or loop is None or loop.is_closed() or not app.is_running:
            return False  # not (or no longer) in the prompt: raise where we are
        self.signum = signum  # __exit__ raises it if the prompt returns all the same
        loop.call_soon_threadsafe(_end_prompt, app, signum)
        return True


def _print_above(line: str) -> None:
    import sys

    from prompt_toolkit.application import run_in_terminal

    run_in_terminal(lambda: print(line, file=sys.stderr, flush=True))


def _end_prompt(app: Any, signum: int) -> None:
    if app.is_running and app.future is not None and not app.future.done():
        app.exit(exception=_signals.Terminated(signum))


def _continuation(width: int, _line: int, _soft: int) -> str:
    return "-> ".rjust(width)


def _key_bindings() -> Any:
    from prompt_toolkit.filters import is_searching
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    kb = KeyBindings()

    @kb.add("enter", filter=~is_searching)
    def _enter(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        state = buf.complete_state
        if state is not None and state.current_completion is not None:
            buf.apply_completion(state.current_completion)
            return
        if is_complete(buf.document.text):
            buf.validate_and_handle()
        else:
            buf.insert_text("\n")

    return kb


def _data_bindings() -> Any:
    """Tab types a tab (COPY's column separator), not a completion."""
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    kb = KeyBindings()

    @kb.add("c-i")
    def _tab(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\t")

    return kb


def _first_line(text: str, width: int = 72) -> str:
    """A statement in one line of the lost-transaction report."""
    first, *more = text.strip().split("\n", 1)
    if len(first) > width:
        return first[: width - 3] + "..."
    return first + (" ..." if more else "")


def _line_start(text: str, line: int) -> int:
    """The offset where 1-based ``line`` of ``text`` starts."""
    pos = 0
    for _ in range(line - 1):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return len(text)
    return pos


def _rolls_back(text: str) -> bool:
    """ROLLBACK or ABORT (not ROLLBACK TO SAVEPOINT): losing it loses nothing wanted."""
    return (
        re.match(r"\s*(rollback|abort)\b(?!.*\bto\b)", text, re.IGNORECASE | re.DOTALL) is not None
    )


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _input_words(source: str) -> str:
    return "what was typed" if source == "shell" else source


def run_shell(
    session: AuditedSession,
    options: ShellOptions,
    *,
    stdout: IO[str],
    stderr: IO[str],
    banner: Callable[[], str] | None = None,
) -> str:
    """Open the shell on an opened session; returns how the session ended."""
    shell = Shell(session, options, stdout=stdout, stderr=stderr)
    if banner is not None:
        stderr.write(banner())
        stderr.flush()
    return shell.run()


def shell_body(
    env: dict[str, str] | Any,
    target_name: str,
    dsn_redacted: str,
    fmt: str,
    remaining: Callable[[], float] | None = None,
    *,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> Callable[[AuditedSession], str]:
    """What ``prodsql`` without ``-c``/``-f`` runs on an opened session (``_run._drive``).
    ``idle_timeout`` is the configured one (``Config.idle_timeout_for``), in seconds."""
    from prodsql.shell.history import history_path

    def body(session: AuditedSession) -> str:
        import sys

        options = ShellOptions(
            label=_label(session, target_name),
            ticket=session.identity.ticket,
            history=history_path(env, target_name, dsn_redacted),
            idle_timeout=resolve_idle_timeout(env, idle_timeout),
            vi_mode=env.get("PRODSQL_EDITING_MODE", "").lower() == "vi",
            fmt=fmt,
            remaining=remaining,
        )
        return run_shell(
            session,
            options,
            stdout=sys.stdout,
            stderr=sys.stderr,
            banner=lambda: _banner(session, options.idle_timeout),
        )

    return body


def resolve_idle_timeout(env: Mapping[str, str], configured: float) -> float:
    """``PRODSQL_IDLE_TIMEOUT`` overrides the configuration: ``15min``, ``900s``, ``1h``,
    ``off``, or a bare number of seconds (``900``). A bad value is an error, not the default."""
    raw = env.get("PRODSQL_IDLE_TIMEOUT", "").strip()
    if not raw:
        return configured
    seconds = float(raw) if raw.isdigit() else idle_timeout_seconds(raw)
    if seconds is None:
        raise ConfigError(f"PRODSQL_IDLE_TIMEOUT: expected {IDLE_EXPECTED}, got {raw!r}")
    return seconds


def duration_words(seconds: float) -> str:
    """900 -> '15 minutes', 3600 -> '1 hour', 45 -> '45 seconds'."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def _label(session: AuditedSession, target_name: str) -> str:
    if target_name not in ("dsn", "libpq-defaults"):
        return target_name
    p = session.posture
    return f"{p.db_user}@{p.dbname}" if p else target_name


def _banner(session: AuditedSession, idle_timeout: float) -> str:
    from prodsql import __version__

    ident = session.identity
    mode = "WRITE mode" if session.mode is Mode.WRITE else "read-only (\\write REASON to write)"
    idle = (
        f"The session ends after {duration_words(idle_timeout)} without input.\n"
        if idle_timeout > 0
        else ""
    )
    return (
        f"prodsql {__version__}: ticket {ident.ticket or '(break-glass)'}, {mode}. "
        "\\? for help, \\q to quit.\n"
        f"Every statement and meta-command is recorded in {session.trail.path}\n" + idle
    )
