"""Command line: parse, dispatch, explain errors. No work happens here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import IO

from prodsql import __version__, _log
from prodsql.errors import Error, ExitCode

EXIT_CODES = """\
exit codes:
  0  every statement ran
  1  a statement failed on the server (SQLSTATE shown)
  2  usage error: bad ticket, option, configuration, DSN or input file
  3  could not connect or authenticate
  4  the server would not audit the session (audit posture not met)
  5  a statement was refused, or needed a confirmation that was not given
  6  the trail could not be written (nothing was sent)
  130 interrupted (Ctrl-C), terminated by a signal, or a break-glass session's time ran out
"""

DESCRIPTION = """\
An audited SQL client for production PostgreSQL. Every statement is classified and
decided (run / confirm / refuse) before it is sent, tagged so that the server's
pgAudit log can be matched, and recorded in a hash-chained trail first.

subcommands (prodsql SUBCOMMAND --help):
  classify   lint SQL with the statement policy, no connection
  verify     check trail files (hash chain, HMAC): intact, tampered, not closed
  replay     show a session's trail the way a reviewer reads it (text, JSON, HTML)
  reconcile  match trails with the server's pgAudit log (files, CloudWatch, RDS)
  login      store a target's password in the OS keyring
  demo       run a scripted session on a throwaway local PostgreSQL + pgAudit
  trail      ship trails to the central sinks (ship), show what is shipped (status)
"""

SUBCOMMANDS = ("classify", "verify", "replay", "reconcile", "login", "demo", "trail")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args or "-v" in args
    try:
        if args and args[0] in SUBCOMMANDS:
            return _dispatch_sub(args[0], args[1:])
        return _main_job(args)
    except Error as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        print(exc.diagnostics(), file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("prodsql: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)


def _dispatch_sub(name: str, args: list[str]) -> int:
    from prodsql import _commands
    from prodsql.audit import cli as audit_cli

    handlers: dict[str, Callable[[list[str]], int]] = {
        "classify": _commands.classify_main,
        "verify": audit_cli.verify_main,
        "replay": audit_cli.replay_main,
        "reconcile": audit_cli.reconcile_main,
        "login": _commands.login_main,
        "demo": _commands.demo_main,
        "trail": _trail_main,
    }
    return handlers[name](args)


def _trail_main(args: list[str]) -> int:
    from prodsql.trail.ship import trail_main  # boto3 only on this path

    return trail_main(args)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is our UsageError (exit 2, no traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from prodsql.errors import UsageError

        raise UsageError(message, hint=f"see: {self.prog} --help")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="prodsql",
        description=DESCRIPTION,
        epilog=EXIT_CODES + "\nenvironment: PRODSQL_CONFIG, PRODSQL_TARGET, PRODSQL_TRAIL_DIR, "
        "PRODSQL_TICKET_PATTERN; libpq's PG* variables and ~/.pgpass for --dsn.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ticket", "-t", help="the ticket this session works on (e.g. OPS-123)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--target", "-T", help="a target from the configuration file")
    where.add_argument("--dsn", help="a libpq conninfo string or URI (passwords: use ~/.pgpass)")
    p.add_argument(
        "-c",
        "--command",
        dest="commands",
        action="append",
        default=[],
        metavar="SQL",
        help="run SQL (repeatable, run in order)",
    )
    p.add_argument("-f", "--file", metavar="FILE", help="run the statements in FILE ('-': stdin)")
    p.add_argument("--write", action="store_true", help="write mode (default: read-only)")
    p.add_argument("--reason", help="why this session needs what it does (recorded in the trail)")
    p.add_argument(
        "--break-glass",
        action="store_true",
        help="emergency access without a ticket: needs --reason, uses the target's break-glass "
        "settings, write mode, time-limited, notified (see docs/operations.md)",
    )
    p.add_argument("--incident", metavar="ID", help="the incident a break-glass session is for")
    p.add_argument(
        "--allow-destructive",
        action="store_true",
        help="pre-confirm statements that need confirmation (recorded as such)",
    )
    p.add_argument("--trail-dir", metavar="DIR", help="where trail files go")
    p.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    p.add_argument("--format", dest="fmt", choices=("aligned", "csv", "json"), default="aligned")
    p.add_argument("--verbose", "-v", action="store_true", help="operational logs (and tracebacks)")
    p.add_argument("--log-format", choices=("console", "json"), help="operational log format")
    p.add_argument("--version", action="version", version=f"prodsql {__version__}")
    return p


def _main_job(args: list[str]) -> int:
    ns = build_parser().parse_args(args)
    _log.configure(verbose=ns.verbose, fmt=ns.log_format)
    from prodsql._run import RunOptions, run

    opts = RunOptions(
        ticket=ns.ticket,
        target=ns.target,
        dsn=ns.dsn,
        commands=ns.commands,
        file=ns.file,
        write=ns.write,
        allow_destructive=ns.allow_destructive,
        trail_dir=ns.trail_dir,
        config=ns.config,
        fmt=ns.fmt,
        reason=ns.reason,
        break_glass=ns.break_glass,
        incident=ns.incident,
    )
    return run(opts, _stdout(), sys.stderr)


def _stdout() -> IO[str]:
    return sys.stdout


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
