"""Break-glass sessions: no ticket, a reason of substance, the strongest audit posture,
write mode at once, a hard deadline, and notifications at start and end.

The API, for ``_run`` (``-c``/``-f``) and for the interactive shell:

``BreakGlassRun.begin(target, reason=, incident=, ticket=, notify=, stderr=)``
    checks the reason and incident, applies the target's ``[targets.NAME.break_glass]``
    settings (``.target`` is the target to connect to, requiring every pgAudit class) and
    starts the clock. Raises UsageError or ConfigError.
``run.bg`` (a :class:`BreakGlass`)
    ``expires_at`` (aware UTC datetime) and ``remaining()`` (seconds, monotonic) are the
    hard deadline; ``warn_at`` the seconds-before-expiry at which to warn; ``expired``
    turns true at the deadline; ``banner()`` the text to show, in ``BANNER_STYLE``;
    ``PROMPT_STYLE`` is the prompt_toolkit style of the prompt.
``run.arm(session)``
    shows the banner, sends and trails the start notification, and starts a
    :class:`Watchdog` that warns on stderr and, at the deadline, cancels the running
    statement. A shell may pass its own ``on_warn``/``on_expire`` callbacks.
``run.check()``
    raises :class:`BreakGlassExpired` once the deadline has passed (call before each
    statement).
``run.closing(session, how, code)``
    before ``session.close``: stops the watchdog, trails the expiry and returns the
    ``how``/exit code to end with (``expired``/130 after the deadline).
``run.finish(trail_path)``
    after the trail is closed: sends the end notification with the session summary.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from prodsql import __version__, _log, _terminal
from prodsql.config import NotifySettings, Target
from prodsql.errors import ConfigError, Error, ExitCode, UsageError
from prodsql.session.posture import ALL_CLASSES

if TYPE_CHECKING:
    from prodsql.notify import Delivery
    from prodsql.session.runner import AuditedSession

REQUIRED_CLASSES = tuple(sorted(ALL_CLASSES))
MIN_REASON_CHARS = 20
MIN_REASON_WORDS = 3
MAX_REASON_CHARS = 1000
_INCIDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}")
_WORD = re.compile(r"[^\W\d_]{2,}")
# Warn this many seconds before the end (those that fit in the session).
_WARN_POINTS = (600.0, 300.0, 60.0)
BANNER_STYLE = "\033[1;97;41m"  # bold white on red
PROMPT_STYLE = "bg:#cc0000 #ffffff bold"
_RESET = "\033[0m"
_WRITE_KINDS = frozenset({"write", "ddl", "privilege"})


class BreakGlassExpired(Error):
    """The break-glass session reached its hard maximum duration."""

    exit_code = ExitCode.INTERRUPTED


def check_reason(reason: str | None) -> str:
    """A reason a reviewer can act on: refuse empty, short or one-word reasons."""
    text = " ".join((reason or "").split())
    hint = (
        'say what is broken and what you will do, e.g. --reason "orders stuck in '
        'pending since 02:40, releasing the lock held by the reaper job"'
    )
    if not text:
        raise UsageError("--break-glass needs --reason: why is this session necessary?", hint=hint)
    if len(text) > MAX_REASON_CHARS:
        raise UsageError(f"the break-glass reason is over {MAX_REASON_CHARS} characters")
    words = {w.lower() for w in _WORD.findall(text)}
    if len(text) < MIN_REASON_CHARS or len(words) < MIN_REASON_WORDS:
        raise UsageError(
            f"the break-glass reason {text[:80]!r} explains nothing: give at least "
            f"{MIN_REASON_CHARS} characters and {MIN_REASON_WORDS} different words",
            hint=hint,
        )
    return text


def check_incident(incident: str | None) -> str | None:
    if incident is None:
        return None
    text = incident.strip()
    if not _INCIDENT.fullmatch(text):
        raise UsageError(
            f"malformed incident id {text[:64]!r}",
            hint="letters, digits and ._:/#- only, at most 64 characters, e.g. --incident INC-4711",
        )
    return text


def apply_settings(target: Target) -> Target:
    """The target as a break-glass session connects to it."""
    s = target.break_glass
    if s is None:
        raise ConfigError(
            f"target {target.name!r} has no break-glass settings",
            hint="break-glass needs a --target from the configuration file with a "
            "[targets.NAME.break_glass] table (user, auth, max_minutes); see docs/operations.md",
        )
    return dataclasses.replace(
        target,
        user=s.user or target.user,
        auth=s.auth or target.auth,
        aws_profile=s.aws_profile or target.aws_profile,
        region=s.region or target.region,
        required_audit=REQUIRED_CLASSES,
    )


def warn_points(total_seconds: float) -> tuple[float, ...]:
    fitting = tuple(w for w in _WARN_POINTS if w <= total_seconds / 2)
    return fitting or (total_seconds / 2,)


@dataclass
class BreakGlass:
    """One break-glass session's reason and clock."""

    reason: str
    incident: str | None
    max_seconds: float
    started_at: datetime
    deadline: float  # time.monotonic() at which the session ends itself
    expired: bool = False

    @classmethod
    def start(cls, reason: str, incident: str | None, max_minutes: float) -> BreakGlass:
        seconds = max_minutes * 60
        return cls(reason, incident, seconds, datetime.now(UTC), time.monotonic() + seconds)

    @property
    def expires_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.max_seconds)

    @property
    def warn_at(self) -> tuple[float, ...]:
        return warn_points(self.max_seconds)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def start_fields(self) -> dict[str, object]:
        return {
            "break_glass": True,
            "reason": self.reason,
            "incident": self.incident,
            "max_minutes": self.max_seconds / 60,
            "expires_at": _iso(self.expires_at),
        }

    def banner(self) -> str:
        until = self.expires_at.strftime("%H:%M:%SZ")
        lines = [
            "!!! BREAK-GLASS SESSION: WRITE MODE, EVERY STATEMENT IS AUDITED AND REPORTED !!!",
            f"reason: {self.reason}",
            f"incident: {self.incident or '(none given)'}",
            f"ends by itself at {until} ({self.max_seconds / 60:g} min maximum)",
        ]
        return "\n".join(lines)


class Watchdog:
    """A daemon thread: ``on_warn(seconds_left)`` at each warning point, then
    ``on_expire()`` once at the deadline, unless stopped first."""

    def __init__(
        self, bg: BreakGlass, on_warn: Callable[[float], None], on_expire: Callable[[], None]
    ) -> None:
        self.bg, self.on_warn, self.on_expire = bg, on_warn, on_expire
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="break-glass-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        for before in self.bg.warn_at:
            if self._stop.wait(max(0.0, self.bg.remaining() - before)):
                return
            self.on_warn(self.bg.remaining())
        if self._stop.wait(self.bg.remaining()):
            return
        self.bg.expired = True
        self.on_expire()


@dataclass
class BreakGlassRun:
    """A break-glass session's life around an AuditedSession (see the module docstring)."""

    bg: BreakGlass
    target: Target
    notify: NotifySettings
    stderr: IO[str]
    watchdog: Watchdog | None = None
    started: dict[str, object] = field(default_factory=dict)

    @classmethod
    def begin(
        cls,
        target: Target,
        *,
        reason: str | None,
        incident: str | None,
        ticket: str | None,
        notify: NotifySettings,
        stderr: IO[str],
    ) -> BreakGlassRun:
        if ticket:
            raise UsageError(
                "--break-glass takes no --ticket", hint="name the incident with --incident ID"
            )
        text, inc = check_reason(reason), check_incident(incident)
        bg_target = apply_settings(target)
        assert target.break_glass is not None
        bg = BreakGlass.start(text, inc, target.break_glass.max_minutes)
        return cls(bg=bg, target=bg_target, notify=notify, stderr=stderr)

    def arm(
        self,
        session: AuditedSession,
        *,
        on_warn: Callable[[float], None] | None = None,
        on_expire: Callable[[], None] | None = None,
    ) -> None:
        self._banner()
        self.started = self._payload("break_glass_start", session)
        self._record(session, "break_glass_start", self._send(self.started))
        self.watchdog = Watchdog(
            self.bg, on_warn or self._warn, on_expire or (lambda: _cancel(session))
        )
        self.watchdog.start()

    def check(self) -> None:
        if self.bg.expired:
            raise BreakGlassExpired(
                f"the break-glass session reached its maximum of {self.bg.max_seconds / 60:g} "
                "minutes and ended",
                hint="start a new break-glass session (with its reason) if work remains",
            )

    def closing(self, session: AuditedSession, how: str, code: int) -> tuple[str, int]:
        if self.watchdog is not None:
            self.watchdog.stop()
        if not self.bg.expired or session.trail.closed:
            return how, code
        print(
            f"prodsql: the break-glass session reached its maximum of "
            f"{self.bg.max_seconds / 60:g} min and ended",
            file=self.stderr,
        )
        session.record_meta(
            "break_glass_expired",
            "",
            {"max_minutes": self.bg.max_seconds / 60, "expires_at": _iso(self.bg.expires_at)},
        )
        return "expired", int(ExitCode.INTERRUPTED)

    def finish(self, trail_path: Path, sink_copies: Sequence[str] = ()) -> None:
        """The end notification; its delivery cannot go into the trail it summarises
        (closed and sealed by the hash it carries), so failures go to stderr and the log."""
        payload = {
            **self.started,
            "event": "break_glass_end",
            "ended_at": _iso(datetime.now(UTC)),
            **summarise(trail_path),
            "replay": [f"prodsql replay {shlex.quote(str(trail_path))}"]
            + [f"prodsql replay {shlex.quote(uri)}" for uri in sink_copies],
        }
        for d in self._send(payload):
            _log.log("notify.break_glass_end", **d.as_fields())

    def _payload(self, event: str, session: AuditedSession) -> dict[str, object]:
        identity = session.identity
        return {
            "event": event,
            "session_id": identity.session_id,
            "os_user": identity.os_user,
            "application_name": identity.application_name,
            "target": self.target.name,
            "db_user": session.params.params.get("user"),
            "started_at": _iso(self.bg.started_at),
            "trail": str(session.trail.path),
            "prodsql_version": __version__,
            **self.bg.start_fields(),
        }

    def _send(self, payload: dict[str, object]) -> list[Delivery]:
        from prodsql.notify import Delivery, send

        if not self.notify.configured:
            self._say("no notification channel is configured ([notify] in the configuration)")
            return [Delivery("none", False, "no notification channel is configured")]
        results = send(self.notify, payload)
        for d in results:
            if not d.ok:
                self._say(f"the {payload['event']} notification via {d.channel} failed: {d.error}")
        return results

    def _record(self, session: AuditedSession, event: str, results: list[Delivery]) -> None:
        for d in results:
            session.record_meta("notify", event, d.as_fields())

    def _banner(self) -> None:
        colour = self.stderr.isatty()
        text = self.bg.banner()
        print(f"{BANNER_STYLE}{text}{_RESET}" if colour else text, file=self.stderr)

    def _warn(self, seconds_left: float) -> None:
        self._say(f"the break-glass session ends in {_duration(seconds_left)}")

    def _say(self, text: str) -> None:
        # From the watchdog thread too: above the shell's prompt, not over it.
        _terminal.say(f"prodsql: warning: {text}", self.stderr)


def _cancel(session: AuditedSession) -> None:
    """At the deadline: cancel what runs now; the main thread ends the session."""
    conn = session.conn
    if conn is not None and not conn.closed:
        try:
            conn.cancel_safe(timeout=5)
        except Exception as exc:  # the session still ends at the next statement
            _log.log("break_glass.cancel_failed", error=str(exc))


def summarise(path: Path) -> dict[str, object]:
    """Statements, writes per table, how it ended and the final chain hash of a trail."""
    from prodsql.trail import read_records

    outcomes: dict[object, dict[str, object]] = {}
    intents: list[dict[str, object]] = []
    summary: dict[str, Any] = {"statements": 0, "refused": 0, "failed": 0}
    last: dict[str, object] = {}
    for record in read_records(path):
        last = record
        kind = record.get("kind")
        if kind == "statement" and record.get("source") != "internal":
            intents.append(record)
        elif kind == "outcome":
            outcomes[record.get("stmt")] = record
        elif kind == "refused":
            summary["refused"] += 1
    summary["statements"] = len(intents)
    summary["failed"] = sum(
        1 for i in intents if outcomes.get(i.get("stmt"), {}).get("status") != "ok"
    )
    summary["writes"] = _writes(intents, outcomes)
    summary["how"] = last.get("how") if last.get("kind") == "session_end" else None
    summary["final_hash"] = last.get("hash")
    return summary


def _writes(
    intents: list[dict[str, object]], outcomes: dict[object, dict[str, object]]
) -> dict[str, dict[str, int]]:
    tables: dict[str, dict[str, int]] = {}
    for intent in intents:
        c = intent.get("classification")
        outcome = outcomes.get(intent.get("stmt"), {})
        if not isinstance(c, dict) or c.get("kind") not in _WRITE_KINDS:
            continue
        if outcome.get("status") != "ok":
            continue
        rows = outcome.get("rows")
        for table in c.get("objects") or ["(no table)"]:
            entry = tables.setdefault(str(table), {"statements": 0, "rows": 0})
            entry["statements"] += 1
            entry["rows"] += rows if isinstance(rows, int) and rows > 0 else 0
    return tables


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
