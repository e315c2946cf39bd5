"""``prodsql verify``, ``prodsql replay`` and ``prodsql reconcile``: parse, call, print."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from prodsql._cli import _Parser
from prodsql.errors import UsageError
from prodsql.trail import VerifyResult, VerifyStatus, verify_file

if TYPE_CHECKING:
    from prodsql.audit.logs import LogEvent, LogProblems, TimeWindow
    from prodsql.audit.reconcile import Reconciler

_WORST_FIRST = (VerifyStatus.TAMPERED, VerifyStatus.UNREADABLE, VerifyStatus.NOT_CLOSED)
_LABELS = {0: "OK", 1: "TAMPERED", 2: "UNREADABLE", 3: "NOT CLOSED"}


# -- verify ----------------------------------------------------------------------------


def verify_main(argv: list[str]) -> int:
    """Check trail files: 0 intact and closed, 1 tampered, 2 unreadable, 3 not closed."""
    p = _Parser(prog="prodsql verify", description=verify_main.__doc__)
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="trail files, directories, s3://BUCKET/PREFIX or cloudwatch:GROUP[:STREAM]",
    )
    p.add_argument("--json", action="store_true", help="machine-readable results")
    _hmac_option(p)
    ns = p.parse_args(argv)
    key = _hmac_key(ns.hmac_key_name)
    results = [verify_file(f, hmac_key=key) for f in expand_trails(ns.paths)]
    code = worst(results)
    if ns.json:
        json.dump(_verify_json(results, code, key is not None), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(verify_table(results, hmac_configured=key is not None))
    return code


def worst(results: list[VerifyResult]) -> int:
    for status in _WORST_FIRST:
        if any(r.status == status for r in results):
            return int(status)
    return 0


SINK_PREFIXES = ("s3://", "cloudwatch:")


def fetch_from_sink(uri: str) -> list[Path]:
    """Download the trails behind a central-sink URI into a private temporary directory
    (removed when the process ends). boto3 reads the usual AWS configuration, including
    ``AWS_ENDPOINT_URL``."""
    import atexit
    import shutil
    import tempfile

    from prodsql.trail.sinks import fetch_trail

    dest = Path(tempfile.mkdtemp(prefix="prodsql-fetched-"))
    atexit.register(shutil.rmtree, dest, True)
    found = fetch_trail(uri, dest)
    if not found:
        raise UsageError(f"{uri}: no trails found in the sink")
    return found


def expand_trails(paths: list[str]) -> list[Path]:
    """Files as given; directories as their ``*.jsonl`` files, recursively, sorted;
    ``s3://BUCKET/PREFIX`` and ``cloudwatch:GROUP[:STREAM]`` fetched from the sink."""
    files: list[Path] = []
    for text in paths:
        if text.startswith(SINK_PREFIXES):
            files.extend(fetch_from_sink(text))
            continue
        path = Path(text)
        if path.is_dir():
            found = sorted(path.rglob("*.jsonl"))
            if not found:
                raise UsageError(f"{path}: no trail files (*.jsonl) in this directory")
            files.extend(found)
        else:
            files.append(path)
    return files


def verify_table(results: list[VerifyResult], *, hmac_configured: bool) -> str:
    rows = [("STATUS", "RECORDS", "SESSION", "HMAC", "FILE")]
    for r in results:
        mac = "checked" if r.hmac_checked else ("no key" if not hmac_configured else "-")
        rows.append((_LABELS[int(r.status)], str(r.records), r.session_id or "-", mac, str(r.path)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    for r in results:
        if r.problem:
            where = f" (line {r.problem_line}, seq {r.problem_seq})" if r.problem_line else ""
            lines.append(f"{_LABELS[int(r.status)]}: {r.path}{where}: {r.problem}")
    counts = {
        label: sum(1 for r in results if _LABELS[int(r.status)] == label)
        for label in _LABELS.values()
    }
    summary = ", ".join(f"{n} {label.lower()}" for label, n in counts.items() if n)
    lines.append(f"{len(results)} files: {summary}")
    return "\n".join(lines) + "\n"


def _verify_json(results: list[VerifyResult], code: int, keyed: bool) -> dict[str, object]:
    return {
        "files": [verify_result_json(r) for r in results],
        "summary": {
            "files": len(results),
            **{s.name.lower(): sum(1 for r in results if r.status == s) for s in VerifyStatus},
            "hmac_key": keyed,
            "exit_code": code,
        },
    }


def verify_result_json(r: VerifyResult) -> dict[str, object]:
    return {
        "path": str(r.path),
        "status": r.status.name.lower(),
        "code": int(r.status),
        "records": r.records,
        "session_id": r.session_id,
        "problem": r.problem,
        "problem_line": r.problem_line,
        "problem_seq": r.problem_seq,
        "final_hash": r.final_hash,
        "hmac_checked": r.hmac_checked,
        "torn_tail": r.torn_tail,
    }


def _hmac_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hmac-key-name",
        metavar="NAME",
        help="check HMACs with the key stored in the keyring as trail-hmac:NAME "
        "(default: the configuration file's trail_hmac_key; none: no HMAC check)",
    )


def _hmac_key(name: str | None) -> bytes | None:
    """The key named with --hmac-key-name, else the configuration's ``trail_hmac_key`` (the
    one sessions seal their trails with), else none: only the hash chain is checked."""
    from prodsql.config import load_config

    name = name or load_config(None).trail_hmac_key
    if name is None:
        return None
    from prodsql.audit.hmackey import load_hmac_key

    return load_hmac_key(name)


# -- replay ----------------------------------------------------------------------------


def _one_trail(text: str) -> Path:
    if not text.startswith(SINK_PREFIXES):
        return Path(text)
    found = fetch_from_sink(text)
    if len(found) != 1:
        raise UsageError(
            f"{text}: {len(found)} trails in the sink; replay needs one",
            hint="name one session, e.g. cloudwatch:GROUP:STREAM or s3://BUCKET/PREFIX/FILE",
        )
    return found[0]


def replay_main(argv: list[str]) -> int:
    """Render a session for review; exit as verify would for its trail."""
    p = _Parser(prog="prodsql replay", description=replay_main.__doc__)
    p.add_argument("trail", metavar="TRAIL", help="a trail file, or one session in a sink")
    p.add_argument("--format", dest="fmt", choices=("text", "json", "html"), default="text")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, metavar="N", help="pace the steps N times real time")
    pace.add_argument("--realtime", action="store_true", help="pace the steps in real time")
    p.add_argument("--writes-only", action="store_true", help="only statements that may write")
    p.add_argument("--grep", metavar="REGEX", help="only statements whose text matches")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    _hmac_option(p)
    ns = p.parse_args(argv)
    from prodsql.audit import replay

    if ns.speed is not None and ns.speed <= 0:
        raise UsageError("--speed must be a positive number")
    session = replay.load(_one_trail(ns.trail), hmac_key=_hmac_key(ns.hmac_key_name))
    steps = replay.select(session.steps, writes_only=ns.writes_only, grep=ns.grep)
    speed = 1.0 if ns.realtime else ns.speed
    with _output(ns.output) as out:
        color = ns.color == "always" or (ns.color == "auto" and out.isatty())
        replay.render(session, steps, ns.fmt, out, color=color, speed=speed, sleep=time.sleep)
    return int(session.verdict.status)


class _output:
    """stdout, or a file written only when everything rendered."""

    def __init__(self, name: str | None) -> None:
        self._name = name
        self._stream: IO[str] = sys.stdout

    def __enter__(self) -> IO[str]:
        if self._name:
            try:
                self._stream = open(self._name, "w", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write {self._name}: {exc.strerror or exc}") from None
        return self._stream

    def __exit__(self, *exc: object) -> None:
        if self._name:
            self._stream.close()


# -- reconcile -------------------------------------------------------------------------


def reconcile_main(argv: list[str]) -> int:
    """Match trails with the server's pgAudit log: 0 nothing missing, 1 something, 2 unreadable."""
    ns = _reconcile_parser().parse_args(argv)
    from prodsql.audit.reconcile import Reconciler
    from prodsql.audit.report import exit_code, write_json, write_text

    if not (ns.server_log or ns.cloudwatch_group or ns.rds_instance):
        raise UsageError(
            "give the server's log: --server-log, --cloudwatch-group or --rds-instance"
        )
    window = _window(ns)
    rec = Reconciler()
    key = _hmac_key(ns.hmac_key_name)
    trails = expand_trails(ns.trail)
    rec.add_trails(trails, hmac_key=key, verify=not ns.no_verify, log_bytes=_log_bytes(ns))
    try:
        empty: list[str] = []
        for source, events in _sources(ns, rec.problems, window):
            rec.feed(events)
            if _no_records(rec.problems, source):
                empty.append(source)
        _check_empty(rec, empty)
    except BaseException:
        rec.abandon()
        raise
    rec.finish()
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Log fields keep bytes that were not UTF-8 as surrogates; statement texts are
        # made printable, and this keeps any other field from ending in a traceback.
        sys.stdout.reconfigure(errors="backslashreplace")
    tally = write_json(rec, sys.stdout) if ns.json else write_text(rec, sys.stdout)
    return exit_code(rec, tally)


def _window(ns: argparse.Namespace) -> TimeWindow | None:
    """--since/--until in seconds, or None when neither is given."""
    from prodsql.audit.cloud import parse_time_ms
    from prodsql.audit.logs import TimeWindow

    if ns.since is None and ns.until is None:
        return None
    since = parse_time_ms(ns.since) / 1000 if ns.since else None
    until = parse_time_ms(ns.until) / 1000 if ns.until else None
    if since is not None and until is not None and since > until:
        raise UsageError("--since is later than --until")
    return TimeWindow(since, until)


_FORMAT_HINT = (
    "give the log's format with --log-format (stderr, csvlog, jsonlog); for stderr logs, "
    "the server's log_line_prefix with --log-line-prefix (default Aurora's %t:%r:%u@%d:[%p]:)"
)


def _no_records(problems: LogProblems, source: str) -> bool:
    """True for a source without a single line (empty); an error for one whose lines
    are none of them a record of its format (garbage, wrong format or prefix)."""
    from prodsql.audit.logs import LogReadError

    if problems.readable.get(source, 0):
        return False
    malformed = problems.malformed.get(source, 0)
    if not malformed:
        return True
    fmt = problems.formats.get(source)
    examples = [e for e in problems.examples if e.startswith(f"{source}:")][:3]
    shown = "; first ones:\n  " + "\n  ".join(examples) if examples else ""
    raise LogReadError(
        f"no readable log record in {source}: none of its {malformed} non-blank lines is "
        f"a {fmt} record{shown}",
        hint=_FORMAT_HINT,
    )


def _check_empty(rec: Reconciler, empty: list[str]) -> None:
    """An empty source is skipped with a warning, unless every source is empty while a
    trail records statements the server must have logged: that is an input error."""
    from prodsql.audit.logs import LogReadError

    if not empty:
        return
    if all(not n for n in rec.problems.readable.values()) and rec.expects_lines():
        raise LogReadError(
            f"the server log is empty ({', '.join(empty)}), but the trails record "
            "statements the server must have logged",
            hint="check that these are the files (or the group, stream, instance and time "
            "window) of the sessions' period",
        )
    for source in empty:
        print(f"prodsql: warning: {source} is empty; skipped", file=sys.stderr)


def _log_bytes(ns: argparse.Namespace) -> int:
    """How much server log there is to read, as far as it is known beforehand (local
    files; compressed ones count at their compressed size)."""
    total = 0
    for name in ns.server_log:
        with contextlib.suppress(OSError):  # reading it will say what is wrong
            total += Path(name).stat().st_size
    return total


def _reconcile_parser() -> _Parser:
    p = _Parser(prog="prodsql reconcile", description=reconcile_main.__doc__)
    p.add_argument("--trail", nargs="+", required=True, metavar="PATH", help="trails or dirs")
    p.add_argument("--server-log", nargs="+", default=[], metavar="PATH", help="log files (.gz ok)")
    p.add_argument("--log-format", choices=("auto", "stderr", "csvlog", "jsonlog"), default="auto")
    p.add_argument(
        "--log-line-prefix",
        default=None,
        metavar="PREFIX",
        help="log_line_prefix of stderr logs (default Aurora's %%t:%%r:%%u@%%d:[%%p]:)",
    )
    p.add_argument("--cloudwatch-group", metavar="NAME", help="a CloudWatch Logs group")
    p.add_argument("--cloudwatch-stream", action="append", default=[], metavar="NAME")
    p.add_argument(
        "--since", metavar="TIME", help="only log records from TIME (ISO-8601 or epoch seconds)"
    )
    p.add_argument(
        "--until", metavar="TIME", help="only log records up to TIME (ISO-8601 or epoch seconds)"
    )
    p.add_argument("--rds-instance", metavar="ID", help="download the logs of an RDS instance")
    p.add_argument("--rds-file-contains", metavar="TEXT", help="only log files whose name has TEXT")
    p.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="do not verify the trails' hash chains (faster; run prodsql verify separately)",
    )
    _hmac_option(p)
    return p


def _sources(
    ns: argparse.Namespace, problems: LogProblems, window: TimeWindow | None
) -> Iterator[tuple[str, Iterator[LogEvent]]]:
    """Each log source's name and events. The time window filters records by their log
    timestamps; CloudWatch applies it to event times itself."""
    from prodsql.audit import cloud
    from prodsql.audit.logs import DEFAULT_PREFIX, LogFormat, parse_lines, read_log_file

    fmt = LogFormat(ns.log_format)
    prefix = ns.log_line_prefix or DEFAULT_PREFIX
    for name in ns.server_log:
        path = Path(name)  # read_log_file names the source str(path)
        events = read_log_file(path, problems, fmt=fmt, prefix=prefix)
        yield str(path), _windowed(events, window)
    if ns.cloudwatch_group:
        query = cloud.CloudWatchQuery(
            ns.cloudwatch_group,
            tuple(ns.cloudwatch_stream),
            int(window.since * 1000) if window and window.since is not None else None,
            int(window.until * 1000) if window and window.until is not None else None,
        )
        lines = cloud.cloudwatch_lines(cloud.make_client("logs", ns.region), query)
        source = f"cloudwatch:{ns.cloudwatch_group}"
        yield source, parse_lines(lines, source, problems, fmt=fmt, prefix=prefix)
    if ns.rds_instance:
        client = cloud.make_client("rds", ns.region)
        lines = cloud.rds_lines(client, ns.rds_instance, ns.rds_file_contains)
        source = f"rds:{ns.rds_instance}"
        events = parse_lines(lines, source, problems, fmt=fmt, prefix=prefix)
        yield source, _windowed(events, window)


def _windowed(events: Iterator[LogEvent], window: TimeWindow | None) -> Iterator[LogEvent]:
    from prodsql.audit.logs import within

    return events if window is None else within(events, window)
