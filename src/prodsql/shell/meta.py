"""Meta-commands (``\\d``, ``\\x``, ``\\write`` ...). Each one is recorded in the trail as a
``meta`` record: the command, its arguments and what happened. Shell escapes (``\\!``,
``\\o |cmd``) are refused: prodsql runs on bastion hosts, where an unaudited shell is
exactly what it must not hand out."""

from __future__ import annotations

import math
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from prodsql.errors import Error, StatementError
from prodsql.policy import MetaCommand, Mode, Statement
from prodsql.shell import describe, describe_format
from prodsql.shell.app import InputStop
from prodsql.shell.render import Output, ResultPrinter, text_cells

if TYPE_CHECKING:
    from prodsql.shell.app import Shell

Fields = dict[str, object]
Handler = Callable[["Shell", str], Fields | None]
WATCH_MIN_SECONDS = 0.1
_PIPES = frozenset({"o", "out", "g", "gx", "w"})  # \o |cmd: a shell escape
_BOOLEANS = {"on": True, "true": True, "yes": True, "1": True}
_BOOLEANS |= {"off": False, "false": False, "no": False, "0": False}  # psql's booleans

HELP = """\
General
  \\q                 quit (asks about an open transaction; the default is rollback)
  \\? | \\h [COMMAND]  this help | an SQL command's syntax (\\h alone: the list)
  \\conninfo          the connection
  \\ticket            the ticket, session id and trail
Modes (recorded in the trail)
  \\write REASON      switch to write mode; writes run in a transaction you COMMIT
  \\readonly          switch back to read-only
Catalog (optional psql pattern: * ? schema.name)
  \\d [NAME]  \\dt  \\dv  \\dm  \\di  \\ds  \\dn  \\df  \\du  \\dx  \\dp  \\l
Display
  \\x [on|off|auto]   expanded display
  \\timing [on|off]   show how long each statement took
  \\pset null TEXT | format aligned|csv|json | pager on|off
Input and output
  \\i FILE            run FILE's statements, each through the audited path
  \\o [FILE]          send results to FILE (recorded); no FILE: back to the terminal
  \\echo [-n] TEXT    print TEXT (-n: without a newline)
  \\e                 edit the buffer (or the last statement) in $EDITOR
  \\g | \\gx [FILE]    run the buffer (\\gx: expanded), its result to FILE if given;
                     alone: run the last statement again
  \\watch [SECONDS]   run the last statement every SECONDS (default 2) until Ctrl-C
Refused: \\! and every other shell escape (\\o |cmd, \\g |cmd).
A statement that is refused, not confirmed or fails stops the rest of the input.
"""


def dispatch(shell: Shell, cmd: MetaCommand) -> None:
    name = cmd.name
    if name.startswith("!") or (name in _PIPES and cmd.args.startswith("|")):
        _refuse_escape(shell, cmd)
        return
    handler = HANDLERS.get(name.rstrip("+S") if name.startswith("d") else name)
    if handler is None:
        shell.err.write(f"invalid command \\{name}\nTry \\? for help.\n")
        shell.session.record_meta(name, cmd.args, {"result": "unknown command"})
        return
    try:
        fields = handler(shell, cmd.args) or {}
    except StatementError as exc:
        shell.err.write(exc.diagnostics() + "\n")
        fields = {"result": "failed", "message": exc.message}
    except Error as exc:
        shell.err.write(exc.diagnostics() + "\n")
        fields = {"result": "error", "message": exc.message}
    if not shell.session.trail.closed:
        shell.session.record_meta(name, cmd.args, {"result": "ok", **fields})


def _refuse_escape(shell: Shell, cmd: MetaCommand) -> None:
    shell.err.write(
        f"\\{cmd.name}: shell escapes are refused (prodsql runs on bastion hosts); "
        "nothing was run\n"
    )
    shell.session.record_meta(cmd.name, cmd.args, {"result": "refused: shell escape"})


# -- general -----------------------------------------------------------------
def _quit(shell: Shell, args: str) -> Fields:
    if not shell.request_quit():  # Ctrl-C at the open transaction's question
        return {"result": "cancelled: back to the prompt"}
    return {"result": "session ends"}


def _help(shell: Shell, args: str) -> None:
    shell.out.write(HELP)


def _sql_help(shell: Shell, args: str) -> Fields:
    from prodsql.shell import sqlhelp  # the syntax of ~180 commands: loaded on first \h

    text, found = sqlhelp.render(args, shell.output.size()[0])
    shell.out.write(text)
    return {"topic": sqlhelp.topic(args), "found": found}


def _conninfo(shell: Shell, args: str) -> None:
    p = shell.session.params.params
    posture = shell.session.posture
    host = p.get("host") or "the default socket"
    who = posture.db_user if posture else p.get("user", "")
    db = posture.dbname if posture else p.get("dbname", "")
    shell.out.write(
        f'You are connected to database "{db}" as user "{who}" on host "{host}" '
        f'at port "{p.get("port", "5432")}"'
    )
    if posture is not None:
        shell.out.write(
            f" (backend pid {posture.backend_pid}, server session {posture.server_session_id})"
        )
    shell.out.write(".\n" if shell.session.connected else " -- disconnected.\n")


def _ticket(shell: Shell, args: str) -> None:
    ident = shell.session.identity
    shell.out.write(
        f"Ticket {ident.ticket or '(break-glass)'}, session {ident.session_id}, "
        f"mode {shell.session.mode}\nTrail: {shell.session.trail.path}\n"
    )


# -- modes -------------------------------------------------------------------
def _write(shell: Shell, args: str) -> Fields:
    reason = args.strip()
    if not reason:
        shell.err.write("\\write needs a reason: \\write REASON (it goes to the trail)\n")
        return {"result": "refused: no reason"}
    if shell.session.mode is Mode.WRITE:
        shell.out.write("Already in write mode.\n")
        return {"result": "already write", "reason": reason}
    if shell.session.txn_state in ("in_transaction", "failed"):
        # SET inside the transaction would be undone by its ROLLBACK, the prompt still WRITE
        shell.err.write("A transaction is open: COMMIT or ROLLBACK it first.\n")
        return {"result": "refused: transaction open", "reason": reason}
    if not shell.ensure_connected():
        return {"result": "not connected"}
    with shell.lock:
        shell.session.internal_query("SET default_transaction_read_only = off", "write mode")
    shell.session.mode = Mode.WRITE
    shell.session.mode_reason = reason
    shell.out.write(
        "Write mode. Writes run inside a transaction that you end with COMMIT or ROLLBACK.\n"
    )
    return {"mode": "write", "reason": reason}


def _readonly(shell: Shell, args: str) -> Fields:
    if shell.session.mode is Mode.READ_ONLY:
        shell.out.write("Already read-only.\n")
        return {"result": "already read-only"}
    if shell.session.txn_state in ("in_transaction", "failed"):
        shell.err.write("A transaction is open: COMMIT or ROLLBACK it first.\n")
        return {"result": "refused: transaction open"}
    if not shell.ensure_connected():
        return {"result": "not connected"}
    with shell.lock:
        shell.session.internal_query("SET default_transaction_read_only = on", "read-only mode")
    shell.session.mode = Mode.READ_ONLY
    shell.session.mode_reason = None
    shell.out.write("Read-only mode.\n")
    return {"mode": "read-only"}


# -- catalog -----------------------------------------------------------------
def _show(
    shell: Shell, sql: str, purpose: str, title: str, empty: str, *, count: bool = True
) -> int:
    """A catalog list as psql shows it: the title centred over the table, then the row
    count (``count``; psql's ``\\du`` has none). Other formats get the table alone."""
    if not shell.ensure_connected():
        return 0
    with shell.lock:
        result = shell.session.internal_query(sql, purpose)
    if not result.rows:
        shell.err.write(empty + "\n")
        return 0
    printer = ResultPrinter(shell.display, shell.output)
    if shell.display.fmt != "aligned" or shell.display.expanded == "on":
        shell.output.target.write(f"{title}\n")
        printer.finish(result)
        return len(result.rows)
    n = len(result.rows)
    cells = [text_cells(row, shell.display.null) for row in result.rows]
    footers = [f"({n} row{'' if n == 1 else 's'})"] if count else []
    aligns = describe_format.alignments(result.type_oids)
    printer.write_text(describe_format.render(title, result.columns, aligns, cells, footers))
    return n


def _relations(kind: str) -> Handler:
    title = "List of relations"  # psql's title for \d, \dt, \dv and \di alike

    def handler(shell: Shell, args: str) -> Fields:
        pattern = args.split(maxsplit=1)[0] if args.split() else None
        if kind == "d" and pattern and not describe.has_wildcard(pattern):
            return _describe_one(shell, args)
        empty = (
            f'Did not find any relation named "{pattern}".'
            if pattern
            else "Did not find any relations."
        )
        n = _show(shell, describe.list_relations(kind, pattern), f"\\{kind}", title, empty)
        return {"rows": n}

    return handler


def _describe_one(shell: Shell, args: str) -> Fields:
    """``\\d NAME [NAME ...]``: each relation a name matches, as psql 15 shows it."""
    rows, described = 0, []
    for pattern in describe.split_args(args):
        try:
            sql = describe.find_relations(pattern)
        except ValueError as exc:  # psql's "too many dotted names"; a NUL byte
            shell.err.write(f"{exc}\n")
            continue
        if not shell.ensure_connected():
            break
        with shell.lock:
            found = shell.session.internal_query(sql, "\\d")
        if not found.rows:
            shell.err.write(f'Did not find any relation named "{pattern}".\n')
        for row in found.rows:
            rel = describe.Relation.from_row(row)
            rows += _describe_relation(shell, rel)
            described.append(f"{rel.schema}.{rel.name}")
    return {"rows": rows, "relations": described}


def _describe_relation(shell: Shell, rel: describe.Relation) -> int:
    footer_sql = describe.relation_footers(rel)
    with shell.lock:
        table = shell.session.internal_query(describe.relation_columns(rel), "\\d columns")
        extra = shell.session.internal_query(footer_sql, "\\d footers") if footer_sql else None
    footer_json = str(extra.rows[0][0]) if extra is not None and extra.rows else None
    description = describe_format.describe(rel, table, footer_json)
    printer = ResultPrinter(shell.display, shell.output)
    if shell.display.fmt == "aligned":
        expanded = rel.kind == "S" and shell.display.expanded == "on"
        printer.write_text(description.aligned(expanded=expanded))
    else:  # psql's csv shows the table alone, without title and footers
        printer.finish(description.as_result())
    return len(description.cells)


def _simple(
    build: Callable[[str | None], str], title: str, empty: str, *, count: bool = True
) -> Handler:
    def handler(shell: Shell, args: str) -> Fields:
        pattern = args.split(maxsplit=1)[0] if args.split() else None
        return {"rows": _show(shell, build(pattern), title, title, empty, count=count)}

    return handler


# -- display -----------------------------------------------------------------
def _expanded(shell: Shell, args: str) -> Fields:
    value = args.strip().lower()
    if value not in ("", "on", "off", "auto"):
        shell.err.write("\\x: use on, off or auto\n")
        return {"result": "bad argument"}
    if not value:
        value = "off" if shell.display.expanded == "on" else "on"
    shell.display.expanded = value
    shell.out.write(f"Expanded display is {value}.\n")
    return {"expanded": value}


def _timing(shell: Shell, args: str) -> Fields:
    value = args.strip().lower()
    if value and value not in _BOOLEANS:
        shell.err.write(f'unrecognized value "{args.strip()}" for "\\timing": Boolean expected\n')
        return {"result": "bad argument"}
    shell.display.timing = (not shell.display.timing) if not value else _BOOLEANS[value]
    shell.out.write(f"Timing is {'on' if shell.display.timing else 'off'}.\n")
    return {"timing": shell.display.timing}


def _pset(shell: Shell, args: str) -> Fields:
    parts = shlex.split(args) if args else []
    if not parts:
        d = shell.display
        shell.out.write(f"format {d.fmt}\nnull '{d.null}'\npager {'on' if d.pager else 'off'}\n")
        return {}
    option, value = parts[0], (parts[1] if len(parts) > 1 else "")
    if option == "null":
        shell.display.null = value
        shell.out.write(f'Null display is "{value}".\n')
    elif option == "format" and value in ("aligned", "csv", "json"):
        shell.display.fmt = value
        shell.out.write(f"Output format is {value}.\n")
    elif option == "pager" and value in ("on", "off", ""):
        shell.display.pager = value != "off"
        shell.out.write(f"Pager usage is {'on' if shell.display.pager else 'off'}.\n")
    elif option == "expanded":
        return _expanded(shell, value)
    else:
        shell.err.write(f"\\pset: unknown option or value: {args}\n")
        return {"result": "bad argument"}
    return {"option": option, "value": value}


# -- input and output --------------------------------------------------------
def _include(shell: Shell, args: str) -> Fields:
    name = args.strip()
    if not name:
        shell.err.write("\\i: missing the file name\n")
        return {"result": "bad argument"}
    if shell.include_depth >= 16:
        shell.err.write("\\i: nested too deeply\n")
        shell.stopped = InputStop("error", None, f"\\i {name}", f"\\i {name} was nested too deeply")
        return {"result": "too deep"}
    from prodsql._run import _read_file

    path = _user_path(name)
    try:
        text = _read_file(os.path.expanduser(name))
    except Error:  # what follows the \i may need what the file would have done
        shell.stopped = InputStop("error", None, f"\\i {name}", f"\\i {name} could not be read")
        raise
    shell.include_depth += 1
    try:
        shell.run_text(text, f"\\i {name}")
    finally:
        shell.include_depth -= 1
    if shell.stopped is not None:
        return {"file": str(path), "stopped": True}
    return {"file": str(path)}


def _out(shell: Shell, args: str) -> Fields:
    name = args.strip() or None
    path = _user_path(name) if name else None
    try:
        shell.output.redirect(str(path) if path else None)
    except OSError as exc:
        shell.err.write(f"\\o: {name}: {exc.strerror}\n")
        return {"result": "error"}
    return {"file": str(path) if path else None}


def _user_path(name: str) -> Path:
    """A file name as psql takes it: ``~`` and ``~user`` expanded; recorded absolute."""
    return Path(os.path.expanduser(name)).absolute()


def _edit(shell: Shell, args: str) -> Fields:
    """psql's ``\\e``: the buffer (or the last statement) in ``$EDITOR``; what comes back
    waits at the next prompt. A failed editor or an unchanged file runs nothing."""
    buffer = shell.pending
    text = buffer or (shell.last_statement.text + ";" if shell.last_statement else "")
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError as exc:
        raise Error(f"\\e: cannot read EDITOR={editor!r}: {exc}") from None
    if not argv:
        raise Error("\\e: EDITOR is empty")
    with tempfile.NamedTemporaryFile("w+", suffix=".sql", delete=False) as fh:
        fh.write(text)
    try:
        status = _run_editor(argv, fh.name)
        edited = Path(fh.name).read_text(encoding="utf-8", errors="replace").rstrip("\n")
    finally:
        os.unlink(fh.name)
    fields: Fields = {"editor": argv[0], "exit_status": status}
    if status != 0:
        shell.err.write(f"\\e: the editor exited with status {status}; nothing changed\n")
        return {**fields, "result": "editor failed"}
    if edited == text.rstrip("\n") and not buffer:
        shell.out.write("\\e: no change; nothing to run\n")  # psql 14+: never a re-run
        return {**fields, "chars": 0, "unchanged": True}
    shell.pending = edited  # shown at the next prompt: Enter runs it
    return {**fields, "chars": len(edited)}


def _run_editor(argv: list[str], path: str) -> int:
    try:
        return subprocess.run([*argv, path], check=False).returncode
    except OSError as exc:
        raise Error(
            f"\\e: cannot start the editor {argv[0]!r}: {exc.strerror or exc}",
            hint="set EDITOR (or VISUAL) to an editor on this host",
        ) from None


def send_query(shell: Shell, stmt: Statement, source: str, cmd: MetaCommand) -> bool:
    """``SELECT ... \\g [FILE]`` (or ``\\gx``): ``\\g FILE`` writes this one result to FILE, as
    psql does (recorded with its absolute path); ``\\g |cmd`` is a shell escape, refused,
    and the statement is not run. Returns whether the statement ran."""
    expanded = "on" if cmd.name == "gx" else None
    target = cmd.args.strip()
    if not target:
        return shell.run_sql(stmt, source, expanded=expanded)
    if target.startswith("|"):
        _refuse_escape(shell, cmd)
        shell.last_outcome, shell.last_stmt_no = "refused", None
        shell.stopped = InputStop("refused", None, source, f"\\{cmd.name} |... was refused")
        return False
    fields = _send_to_file(shell, stmt, source, cmd, expanded)
    shell.session.record_meta(cmd.name, cmd.args, fields)
    return fields["result"] == "ok"


def _send_to_file(
    shell: Shell, stmt: Statement, source: str, cmd: MetaCommand, expanded: str | None
) -> Fields:
    target = cmd.args.strip()
    said = f"\\{cmd.name} {target}"
    if target.startswith("("):  # psql 15's \g (format=csv ...): not supported
        shell.err.write(f"\\{cmd.name}: (options) are not supported; use \\pset; nothing was run\n")
        shell.stopped = InputStop("error", None, source, f"{said} is not supported")
        return {"result": "bad argument"}
    path = _user_path(target)
    try:
        fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below, after the run
    except OSError as exc:
        shell.err.write(f"\\{cmd.name}: {target}: {exc.strerror}; nothing was run\n")
        shell.stopped = InputStop("error", None, source, f"{said} could not be opened")
        return {"result": "error", "file": str(path), "message": exc.strerror}
    with fh:
        ran = shell.run_sql(stmt, source, expanded=expanded, output=Output(fh))
    result = "ok" if ran else f"statement {shell.last_outcome}"
    return {"result": result, "file": str(path), "stmt": shell.last_stmt_no}


def _send_again(name: str) -> Handler:
    def handler(shell: Shell, args: str) -> Fields:
        stmt = shell.last_statement
        if stmt is None:
            shell.err.write("No statement to send.\n")
            return {"result": "nothing to send"}
        expanded = "on" if name == "gx" else None
        fields: Fields = {}
        if args.strip():  # \g FILE: the last statement again, its result to FILE
            fields = _send_to_file(shell, stmt, "shell (\\g)", MetaCommand(name, args, 0), expanded)
            ran = fields["result"] == "ok"
        else:
            ran = shell.run_sql(stmt, "shell (\\g)", expanded=expanded)
        if not ran and shell.stopped is None:
            shell.stopped = InputStop.after(shell, "shell (\\g)")
        return fields

    return handler


def watch_interval(args: str) -> float | None:
    """``\\watch``'s seconds: default 2, at least 0.1 (the server is production)."""
    text = args.strip() or "2"
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= WATCH_MIN_SECONDS else None


def _watch(shell: Shell, args: str) -> Fields:
    interval = watch_interval(args)
    if interval is None:
        shell.err.write(
            f"\\watch: the interval must be a number of seconds, at least "
            f"{WATCH_MIN_SECONDS:g}: got {args.strip()!r}\n"
        )
        return {"result": "bad argument"}
    stmt: Statement | None = shell.last_statement
    if stmt is None:
        shell.err.write("\\watch cannot be used with an empty query\n")
        return {"result": "nothing to watch"}
    runs, stopped = 0, None
    pager, shell.display.pager = shell.display.pager, False  # psql's \watch pages nothing
    try:
        while (stopped := _watch_stop(shell)) is None:
            shell.output.target.write(f"{time.strftime('%c')} (every {interval:g}s)\n\n")
            runs += 1
            if not shell.run_sql(stmt, "shell (\\watch)"):
                stopped = f"statement {shell.last_outcome}"
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        stopped = "Ctrl-C"
        shell.out.write("\n")
    finally:
        shell.display.pager = pager
    return {"runs": runs, "interval": interval, "stopped": stopped}


def _watch_stop(shell: Shell) -> str | None:
    """Why a \\watch ends before its next run: None while it goes on. Left alone, a watch
    stops at the idle timeout (no keystroke) and the session ends, as at the prompt."""
    if shell.quit:
        return "session ends"
    if shell.expired():
        return "break-glass deadline"
    if shell.idle_expired():
        shell.idle_pending = True
        return "idle timeout"
    return None


def _echo(shell: Shell, args: str) -> Fields:
    """psql's ``\\echo [-n] TEXT``: quotes are read as psql's (single quotes group)."""
    try:
        words = shlex.split(args, posix=True) if args else []
    except ValueError:
        words = args.split()
    end = "\n"
    if words and words[0] == "-n":
        words, end = words[1:], ""
    shell.output.target.write(" ".join(words) + end)
    return {}


def _reset(shell: Shell, args: str) -> None:
    shell.pending = ""
    shell.out.write("Query buffer reset (cleared).\n")


HANDLERS: dict[str, Handler] = {
    "q": _quit,
    "quit": _quit,
    "?": _help,
    "h": _sql_help,
    "help": _sql_help,
    "conninfo": _conninfo,
    "ticket": _ticket,
    "write": _write,
    "readonly": _readonly,
    "d": _relations("d"),
    "dt": _relations("dt"),
    "dv": _relations("dv"),
    "di": _relations("di"),
    "dm": _relations("dm"),
    "ds": _relations("ds"),
    "dn": _simple(describe.list_schemas, "List of schemas", "No schemas."),
    "df": _simple(describe.list_functions, "List of functions", "No functions."),
    "du": _simple(describe.list_roles, "List of roles", "No roles.", count=False),
    "dg": _simple(describe.list_roles, "List of roles", "No roles.", count=False),
    "l": _simple(describe.list_databases, "List of databases", "No databases."),
    "dx": _simple(
        describe.list_extensions,
        "List of installed extensions",
        "Did not find any extension.",
    ),
    "echo": _echo,
    "dp": _simple(describe.list_privileges, "Access privileges", "No relations."),
    "z": _simple(describe.list_privileges, "Access privileges", "No relations."),
    "x": _expanded,
    "timing": _timing,
    "pset": _pset,
    "i": _include,
    "include": _include,
    "o": _out,
    "out": _out,
    "e": _edit,
    "edit": _edit,
    "g": _send_again("g"),
    "gx": _send_again("gx"),
    "watch": _watch,
    "r": _reset,
    "reset": _reset,
}
