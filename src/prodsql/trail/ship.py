"""Shipping trails to the central sinks: the local file first, the sinks in the background.

The trail file is the spool. A daemon thread tails it and ships its complete records to
each configured sink (:mod:`prodsql.trail.sinks`), retrying with exponential backoff; a
statement never waits for a sink. A state file beside the trail, ``<trail>.ship.json``,
says how far each sink's copy goes, so ``prodsql trail ship`` picks up after a crash or an
outage and ``prodsql trail status`` can tell what is shipped.

Nothing is lost: the local file stays whatever happens to a sink. Nothing is duplicated:
after any failure (and at every start) the CloudWatch shipper reads the stream's tail to
learn what really arrived, since an accepted call whose answer was lost looks like a
failure; an S3 put always carries the whole file, so repeating it is harmless.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from prodsql import _log
from prodsql.config import SinkSettings
from prodsql.errors import ConfigError
from prodsql.trail.sinks import (
    CloudWatchSink,
    Position,
    S3Sink,
    ShipError,
    complete_lines,
)

STATE_SUFFIX = ".ship.json"


class Sink(Protocol):
    name: str

    def location(self, trail: Path) -> str: ...

    def ship(self, trail: Path, data: bytes, pos: Position, *, resync: bool) -> None: ...


@dataclass
class SinkState:
    """How far one sink's copy of one trail goes."""

    location: str = ""
    offset: int = 0  # bytes of the local file that the copy holds
    records: int = 0
    chunk: int = 0  # CloudWatch: pieces of the next record already sent
    error: str | None = None
    shipped_at: str | None = None


@dataclass
class ShipState:
    path: Path
    sinks: dict[str, SinkState] = field(default_factory=dict)

    @classmethod
    def load(cls, trail: Path) -> ShipState:
        path = state_path(trail)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            sinks = {k: SinkState(**v) for k, v in raw.get("sinks", {}).items()}
        except FileNotFoundError:
            sinks = {}
        except (OSError, ValueError, TypeError):
            # A damaged state only costs a re-check: every sink resyncs from its own copy.
            sinks = {}
        return cls(path, sinks)

    def sink(self, name: str, location: str) -> SinkState:
        state = self.sinks.setdefault(name, SinkState(location=location))
        state.location = location
        return state

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        body = {"sinks": {k: asdict(v) for k, v in self.sinks.items()}}
        tmp.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def state_path(trail: Path) -> Path:
    return trail.with_name(trail.name + STATE_SUFFIX)


def make_sinks(settings: SinkSettings) -> list[Sink]:
    sinks: list[Sink] = []
    if settings.cloudwatch_group:
        sinks.append(CloudWatchSink(settings))
    if settings.s3_bucket:
        sinks.append(S3Sink(settings))
    return sinks


@contextlib.contextmanager
def _locked(trail: Path) -> Iterator[None]:
    """One shipper per trail at a time (the session's thread, or `prodsql trail ship`).
    The lock is on the trail itself: advisory, it does not disturb the writer."""
    fd = os.open(trail, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ship_once(trail: Path, sinks: Sequence[Sink], *, resync: bool) -> dict[str, str]:
    """Ship what each sink lacks; return the errors by sink name (empty: all shipped)."""
    errors: dict[str, str] = {}
    with _locked(trail):
        state = ShipState.load(trail)
        data = complete_lines(trail.read_bytes())
        for sink in sinks:
            st = state.sink(sink.name, sink.location(trail))
            if st.offset >= len(data):
                continue
            try:
                sink.ship(trail, data, st, resync=resync or st.error is not None)
                st.error, st.shipped_at = None, _now()
            except ShipError as exc:
                st.error = errors[sink.name] = exc.message
        state.save()
    return errors


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Shipper:
    """The session's background shipper: start(), then finish() after the trail closed."""

    def __init__(
        self,
        trail: Path,
        sinks: Sequence[Sink],
        stderr: IO[str],
        *,
        interval: float = 1.0,
        s3_interval: float = 10.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.trail, self.sinks, self.stderr = trail, list(sinks), stderr
        self.interval, self.s3_interval, self.max_backoff = interval, s3_interval, max_backoff
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trail-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self, timeout: float = 8.0) -> list[str]:
        """One last attempt, bounded by ``timeout``; returns the sink copies that are
        complete, and says on stderr what is left for ``prodsql trail ship``."""
        self._stop.set()
        self._thread.join(timeout)
        state = ShipState.load(self.trail)
        size = len(complete_lines(self.trail.read_bytes()))
        done: list[str] = []
        for sink in self.sinks:
            st = state.sinks.get(sink.name)
            if st is not None and st.offset >= size:
                done.append(st.location)
                continue
            why = f" ({st.error})" if st is not None and st.error else ""
            print(
                f"prodsql: warning: the trail is not yet shipped to {sink.name}{why}; it is "
                f"kept in {self.trail.parent}: run `prodsql trail ship` later",
                file=self.stderr,
            )
        return done

    def _run(self) -> None:
        resync, failures, delay = True, 0, 0.0
        last_s3 = float("-inf")
        while True:
            stopping = self._stop.wait(delay)
            now = time.monotonic()
            due = [
                s
                for s in self.sinks
                if stopping or s.name != "s3" or now - last_s3 >= self.s3_interval
            ]
            errors = self._attempt(due, resync)
            if any(s.name == "s3" for s in due) and "s3" not in errors:
                last_s3 = now
            if stopping:
                return
            failures = failures + 1 if errors else 0
            resync = bool(errors)
            delay = min(self.interval * 2**failures, self.max_backoff)

    def _attempt(self, sinks: Sequence[Sink], resync: bool) -> dict[str, str]:
        try:
            errors = ship_once(self.trail, sinks, resync=resync)
        except Exception as exc:  # the thread must outlive any surprise; the file is safe
            errors = {s.name: f"{type(exc).__name__}: {exc}" for s in sinks}
        for name, error in errors.items():
            _log.log("trail.ship_failed", sink=name, error=error)
        return errors


def start_shipping(settings: SinkSettings, trail: Path, stderr: IO[str]) -> Shipper | None:
    """The background shipper for a new session, or None when no sink is configured."""
    if not settings.configured:
        return None
    try:
        shipper = Shipper(trail, make_sinks(settings), stderr)
    except ShipError as exc:
        print(f"prodsql: warning: {exc.message}; the trail stays local for now", file=stderr)
        return None
    shipper.start()
    return shipper


# -- prodsql trail ship | status -----------------------------------------------------------


def trail_main(argv: list[str]) -> int:
    """``prodsql trail ship|status``: 0 when every trail is fully shipped, 1 otherwise."""
    from prodsql._cli import _Parser

    p = _Parser(prog="prodsql trail", description=trail_main.__doc__)
    p.add_argument("action", choices=("ship", "status"))
    p.add_argument("trails", nargs="*", metavar="TRAIL", help="trail files (default: all)")
    p.add_argument("--trail-dir", metavar="DIR", help="where the trails are")
    p.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    p.add_argument("--json", action="store_true", help="one JSON object per trail")
    ns = p.parse_args(argv)
    settings, trails = _setup(ns)
    sinks = make_sinks(settings)
    if ns.action == "ship":
        for trail in trails:
            ship_once(trail, sinks, resync=True)
    rows = [_status(trail, sinks) for trail in trails]
    _print_status(rows, as_json=ns.json)
    return 0 if all(r["shipped"] for r in rows) else 1


def _setup(ns: argparse.Namespace) -> tuple[SinkSettings, list[Path]]:
    from prodsql._run import RunOptions, trail_directory
    from prodsql.config import load_config

    config = load_config(Path(ns.config) if ns.config else None, os.environ)
    if not config.sinks.configured:
        raise ConfigError(
            "no trail sink is configured",
            hint="set cloudwatch_group and/or s3_bucket under [sinks]; see docs/operations.md",
        )
    if ns.trails:
        return config.sinks, [Path(t) for t in ns.trails]
    opts = RunOptions(ticket=None, trail_dir=ns.trail_dir, config=ns.config)
    return config.sinks, sorted(trail_directory(opts, config).glob("*.jsonl"))


def _status(trail: Path, sinks: Sequence[Sink]) -> dict[str, Any]:
    data = complete_lines(trail.read_bytes())
    state = ShipState.load(trail)
    row: dict[str, Any] = {"trail": str(trail), "records": data.count(b"\n"), "sinks": {}}
    for sink in sinks:
        st = state.sinks.get(sink.name) or SinkState(location=sink.location(trail))
        row["sinks"][sink.name] = {
            "location": st.location,
            "shipped": st.offset >= len(data),
            "records": st.records,
            "error": st.error,
        }
    row["shipped"] = all(s["shipped"] for s in row["sinks"].values())
    return row


def _print_status(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    for row in rows:
        if as_json:
            print(json.dumps(row, sort_keys=True))
            continue
        parts = [f"{Path(row['trail']).name}  {row['records']} records"]
        for name, s in row["sinks"].items():
            if s["shipped"]:
                parts.append(f"{name}: shipped")
            else:
                err = f", last error: {s['error']}" if s["error"] else ""
                parts.append(f"{name}: PENDING ({s['records']} of {row['records']}{err})")
        print("  ".join(parts))
    if not rows:
        print("no trails", file=sys.stderr)
