"""Run ``-c``/``-f`` input through an audited session (the non-interactive main job)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from prodsql import __version__, _log, _signals
from prodsql._signals import Terminated
from prodsql.config import Config, Target, default_trail_dir, load_config
from prodsql.errors import Error, ExitCode, PolicyRefusal, StatementError, UsageError
from prodsql.output import StreamPrinter
from prodsql.policy import MetaCommand, Mode, Statement, split
from prodsql.session.connect import build_params
from prodsql.session.identity import Identity, check_ticket, new_session_id, os_user
from prodsql.session.runner import AuditedSession, Confirmer, allow_all, decline_all

if TYPE_CHECKING:
    from prodsql.breakglass import BreakGlassRun
    from prodsql.trail import TrailWriter
    from prodsql.trail.ship import Shipper


@dataclass(frozen=True, slots=True)
class Source:
    """One piece of input: ``-c`` text or a file's contents."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class RunOptions:
    ticket: str | None
    target: str | None = None
    dsn: str | None = None
    commands: Sequence[str] = ()
    file: str | None = None
    write: bool = False
    allow_destructive: bool = False
    trail_dir: str | None = None
    config: str | None = None
    fmt: str = "aligned"
    reason: str | None = None
    break_glass: bool = False
    incident: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def run(opts: RunOptions, stdout: IO[str], stderr: IO[str]) -> int:
    config = load_config(Path(opts.config) if opts.config else None, opts.env)
    pattern = opts.env.get("PRODSQL_TICKET_PATTERN") or config.ticket_pattern
    ticket = None if opts.break_glass else check_ticket(opts.ticket, pattern)
    target = resolve_target(opts, config)
    bg = _begin_break_glass(opts, config, target, stderr) if opts.break_glass else None
    target = bg.target if bg is not None else target
    interactive = not opts.commands and not opts.file and sys.stdin.isatty()
    if interactive and opts.write and not opts.reason:
        opts = replace(opts, reason=_ask_reason())
    sources = [] if interactive else read_sources(opts)
    pieces = [(src.label, piece) for src in sources for piece in split(src.text)]
    _reject_meta(pieces)
    identity = Identity(
        session_id=new_session_id(), ticket=ticket, os_user=os_user(), break_glass=bg is not None
    )
    mode = Mode.WRITE if opts.write or bg is not None else Mode.READ_ONLY
    params = build_params(target, identity.application_name, read_only=mode is Mode.READ_ONLY)
    trail = _open_trail(opts, config, identity)
    start = _start_fields(identity, target, mode, opts, params.redacted())
    start = {**start, **(bg.bg.start_fields() if bg else {})}
    trail.append("session_start", start)
    _log.log("trail.opened", path=str(trail.path), target=target.name, dsn=params.redacted())
    session = AuditedSession(identity, params, trail, mode=mode, stderr=stderr)
    session.start_fields = start
    session.mode_reason = opts.reason if mode is Mode.WRITE else None
    session.require_log_parameter = bg is not None
    confirm: Confirmer = allow_all if opts.allow_destructive else decline_all
    remaining = bg.bg.remaining if bg is not None else None
    shell = None
    if interactive:
        idle = config.idle_timeout_for(target)
        shell = _shell(opts, target.name, params.redacted(), remaining, idle)
    shipper = _start_shipping(config, trail.path, stderr)
    try:
        return _drive(
            session,
            target,
            pieces,
            confirm=confirm,
            fmt=opts.fmt,
            stdout=stdout,
            stderr=stderr,
            shell=shell,
            break_glass=bg,
        )
    finally:
        copies = shipper.finish() if shipper is not None else []
        if bg is not None:
            bg.finish(trail.path, copies)


def _start_shipping(config: Config, trail: Path, stderr: IO[str]) -> Shipper | None:
    if not config.sinks.configured:
        return None  # the shipper (threads, boto3) costs nothing when no sink is set
    from prodsql.trail.ship import start_shipping

    return start_shipping(config.sinks, trail, stderr)


def _begin_break_glass(
    opts: RunOptions, config: Config, target: Target, stderr: IO[str]
) -> BreakGlassRun:
    from prodsql.breakglass import BreakGlassRun

    return BreakGlassRun.begin(
        target,
        reason=opts.reason,
        incident=opts.incident,
        ticket=opts.ticket,
        notify=config.notify,
        stderr=stderr,
    )


def _shell(
    opts: RunOptions,
    target: str,
    dsn: str,
    remaining: Callable[[], float] | None,
    idle_timeout: float,
) -> Callable[[AuditedSession], str]:
    from prodsql.shell.app import shell_body  # prompt_toolkit only on this path

    return shell_body(opts.env, target, dsn, opts.fmt, remaining, idle_timeout=idle_timeout)


def _ask_reason(attempts: int = 3) -> str:
    """The reason for --write, asked in the terminal until one is given (a few times)."""
    for _ in range(attempts):
        try:
            reason = input("Write mode: why (recorded in the trail)? ").strip()
        except EOFError:
            break
        if reason:
            return reason
        print("A reason is required: it is recorded in the trail with what you do.")
    raise UsageError("write mode needs a reason", hint="give --reason TEXT, or answer it")


def _drive(
    session: AuditedSession,
    target: Target,
    pieces: Sequence[tuple[str, Statement | MetaCommand]],
    *,
    confirm: Confirmer,
    fmt: str,
    stdout: IO[str],
    stderr: IO[str],
    shell: Callable[[AuditedSession], str] | None = None,
    break_glass: BreakGlassRun | None = None,
) -> int:
    how, code = "completed", int(ExitCode.OK)
    previous = _signals.install()
    try:
        if break_glass is not None:
            break_glass.arm(session)  # banner, start notification, the deadline's watchdog
        session.open(required=target.required_audit)
        _log.log(
            "session.open",
            session_id=session.identity.session_id,
            backend_pid=session.posture.backend_pid if session.posture else None,
        )
        if shell is not None:
            how = shell(session)  # the interactive shell: it reports its own errors
            code = int(ExitCode.POSTURE) if how == "posture_lost" else code
        for label, piece in pieces:
            assert isinstance(piece, Statement)
            if break_glass is not None:
                break_glass.check()
            printer = StreamPrinter(fmt, stdout)
            result = session.run_statement(piece, f"{label}:{piece.line}", confirm, sink=printer)
            printer.finish(result)
            stdout.flush()
    except PolicyRefusal as exc:
        how, code = "refused", exc.exit_code
        print(exc.diagnostics(), file=stderr)
    except StatementError as exc:
        how = "connection_lost" if exc.status == "connection_lost" else "statement_failed"
        code = exc.exit_code
        print(exc.diagnostics(), file=stderr)
    except Error as exc:
        how, code = type(exc).__name__, exc.exit_code
        print(exc.diagnostics(), file=stderr)
    except KeyboardInterrupt:
        how, code = "interrupted", int(ExitCode.INTERRUPTED)
        print("prodsql: interrupted", file=stderr)
    except Terminated:
        how, code = "terminated", int(ExitCode.INTERRUPTED)
        print("prodsql: terminated by a signal", file=stderr)
    finally:
        if break_glass is not None:
            how, code = break_glass.closing(session, how, code)
        session.close(how)
        _log.log("session.closed", how=how, exit_code=code)
        _signals.restore(previous)
    return code


def resolve_target(opts: RunOptions, config: Config) -> Target:
    """--dsn, else --target / PRODSQL_TARGET, else the config's only target, else libpq's
    own defaults (PGHOST, PGPORT, PGUSER, PGDATABASE, ~/.pgpass), as psql would."""
    name = opts.target or opts.env.get("PRODSQL_TARGET")
    if opts.dsn is not None and opts.target:
        raise UsageError("give either --target or --dsn, not both")
    if opts.dsn is not None:
        return Target(name="dsn", dsn=opts.dsn)
    if name:
        return config.target(name)
    if len(config.targets) == 1:
        return next(iter(config.targets.values()))
    if config.targets:
        raise UsageError(
            f"several targets are configured ({', '.join(sorted(config.targets))}): "
            "name one with --target NAME"
        )
    return Target(name="libpq-defaults", dsn="")


def read_sources(opts: RunOptions) -> list[Source]:
    if opts.commands and opts.file:
        raise UsageError("give either -c or -f, not both")
    if opts.file:
        return [Source(label=f"-f {opts.file}", text=_read_file(opts.file))]
    if not opts.commands:  # stdin is not a terminal: read it as psql does (like -f -)
        return [Source(label="stdin", text=_read_file("-"))]
    for i, command in enumerate(opts.commands, 1):
        reject_nul(command, f"-c #{i}")
    return [Source(label=f"-c #{i}", text=c) for i, c in enumerate(opts.commands, 1)]


def reject_nul(text: str, label: str) -> str:
    """PostgreSQL's scanner stops at a NUL byte: what follows would be silently ignored
    by the splitter (and by a CI lint), so such input is refused whole."""
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise UsageError(f"{label}: a NUL byte at line {line}; nothing was run")
    return text


def _read_file(name: str) -> str:
    if name == "-":
        return reject_nul(_read_stdin(), "standard input")
    try:
        return reject_nul(Path(name).read_text(encoding="utf-8"), name)
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory") from None
    except PermissionError:
        raise UsageError(f"{name}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror}") from None


def _read_stdin() -> str:
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input: not UTF-8 text (byte {exc.start})") from None


def _reject_meta(pieces: Sequence[tuple[str, Statement | MetaCommand]]) -> None:
    for label, piece in pieces:
        if isinstance(piece, MetaCommand):
            raise UsageError(
                f"{label}:{piece.line}: psql meta-command \\{piece.name} is not supported "
                "with -c/-f",
                hint="remove it, or run it in a psql-free way; nothing was sent",
            )


def trail_directory(opts: RunOptions, config: Config) -> Path:
    chosen = opts.trail_dir or opts.env.get("PRODSQL_TRAIL_DIR")
    if chosen:
        return Path(chosen).expanduser()
    return config.trail_dir or default_trail_dir(opts.env)


def _open_trail(opts: RunOptions, config: Config, identity: Identity) -> TrailWriter:
    from prodsql.trail import TrailWriter

    return TrailWriter.create(
        trail_directory(opts, config),
        session_id=identity.session_id,
        ticket=identity.ticket,
        hmac_key=_trail_hmac_key(config),
    )


def _trail_hmac_key(config: Config) -> bytes | None:
    """The configured key that seals every record; a named key that cannot be read stops
    the session before anything connects (keyring is imported only then: it is slow)."""
    if config.trail_hmac_key is None:
        return None
    from prodsql.audit.hmackey import load_hmac_key

    return load_hmac_key(config.trail_hmac_key)


def _start_fields(
    identity: Identity, target: Target, mode: Mode, opts: RunOptions, dsn: str
) -> dict[str, object]:
    return {
        "ticket": identity.ticket,
        "break_glass": identity.break_glass,
        "reason": opts.reason,
        "os_user": identity.os_user,
        "host": os.uname().nodename,
        "target": target.name,
        "dsn_redacted": dsn,
        "auth": target.auth,
        "mode": str(mode),
        "allow_destructive": opts.allow_destructive,
        "application_name": identity.application_name,
        "prodsql_version": __version__,
        "pid": os.getpid(),
        "required_audit": list(target.required_audit),
    }
