"""Settings: TOML file (XDG) < ``PRODSQL_*`` environment < command-line flags.

The file is strict: an unknown key or a value of the wrong type is an error
that names the file, the key and what was expected, because a typo in a
production access tool must never silently fall back to a default.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodsql.errors import ConfigError

DEFAULT_TICKET_PATTERN = r"[A-Z][A-Z0-9]{1,19}-[0-9]{1,9}"
DEFAULT_REQUIRED_CLASSES = ("read", "write", "ddl", "role", "function")
AUTH_METHODS = ("iam", "keyring", "password")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
AUDIT_CLASSES = ("read", "write", "function", "role", "ddl", "misc", "misc_set")
_DURATION = re.compile(r"[0-9]{1,9}(us|ms|s|min|h|d)?")
BREAK_GLASS_MAX_MINUTES = 60
S3_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
DEFAULT_S3_PREFIX = "prodsql/trails"
DEFAULT_IDLE_TIMEOUT = 15 * 60.0  # seconds without a keystroke before the shell ends
_IDLE = re.compile(r"([0-9]{1,7})(s|min|h)")
_IDLE_UNITS = {"s": 1, "min": 60, "h": 3600}
IDLE_EXPECTED = "a duration such as '15min', '900s' or '1h', or 'off'"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Session safety settings, in PostgreSQL's own units syntax (``30s``, ``5min``)."""

    statement_timeout: str = "5min"
    lock_timeout: str = "10s"
    idle_in_transaction_session_timeout: str = "10min"
    connect_timeout: int = 10


@dataclass(frozen=True, slots=True)
class BreakGlassSettings:
    """``[targets.NAME.break_glass]``: who a break-glass session connects as, and for how
    long. The audit posture it needs is fixed (every class and log_parameter), not set here."""

    user: str | None = None
    auth: str | None = None
    aws_profile: str | None = None
    region: str | None = None
    max_minutes: float = BREAK_GLASS_MAX_MINUTES


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """``[notify]``: where break-glass start/end notifications go (any, all or none)."""

    sns_topic_arn: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    webhook_url: str | None = None
    command: tuple[str, ...] = ()
    timeout_seconds: float = 5.0

    @property
    def configured(self) -> bool:
        return bool(self.sns_topic_arn or self.webhook_url or self.command)


@dataclass(frozen=True, slots=True)
class SinkSettings:
    """``[sinks]``: the central append-only copies of every trail."""

    cloudwatch_group: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = DEFAULT_S3_PREFIX
    s3_lock_mode: str | None = None
    s3_retention_days: int | None = None
    region: str | None = None
    endpoint_url: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.cloudwatch_group or self.s3_bucket)


@dataclass(frozen=True, slots=True)
class Target:
    """A named database prodsql may connect to."""

    name: str
    host: str | None = None
    port: int | None = None
    dbname: str | None = None
    user: str | None = None
    auth: str = "password"
    region: str | None = None
    aws_profile: str | None = None
    sslmode: str | None = None
    sslrootcert: str | None = None
    required_audit: tuple[str, ...] = DEFAULT_REQUIRED_CLASSES
    timeouts: Timeouts = field(default_factory=Timeouts)
    dsn: str | None = None
    break_glass: BreakGlassSettings | None = None
    idle_timeout: float | None = None  # seconds (0: off); None: the file's default


@dataclass(frozen=True, slots=True)
class Config:
    """Everything read from the configuration file."""

    path: Path | None = None
    ticket_pattern: str = DEFAULT_TICKET_PATTERN
    trail_dir: Path | None = None
    targets: Mapping[str, Target] = field(default_factory=dict)
    notify: NotifySettings = field(default_factory=NotifySettings)
    sinks: SinkSettings = field(default_factory=SinkSettings)
    idle_timeout: float | None = None  # the top-level default for every target
    trail_hmac_key: str | None = None  # keyring key trail-hmac:NAME sealing every record

    def idle_timeout_for(self, target: Target) -> float:
        """The shell's idle timeout in seconds (0: off): the target's own, else the
        file's top-level one, else 15 minutes. ``PRODSQL_IDLE_TIMEOUT`` overrides it."""
        for value in (target.idle_timeout, self.idle_timeout):
            if value is not None:
                return value
        return DEFAULT_IDLE_TIMEOUT

    def target(self, name: str) -> Target:
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(sorted(self.targets)) or "none"
            where = str(self.path) if self.path else "no configuration file"
            raise ConfigError(
                f"unknown target {name!r} (known targets: {known}; read from {where})",
                hint="define it under [targets.NAME] in the configuration file, or use --dsn",
            ) from None


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "prodsql" / "config.toml"


_KEY_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def default_trail_dir(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "prodsql" / "trails"


def idle_timeout_seconds(text: str) -> float | None:
    """``15min``, ``900s``, ``1h`` -> seconds; ``off`` or ``0`` -> 0 (never); else None."""
    value = text.strip().lower()
    if value in ("off", "0"):
        return 0.0
    match = _IDLE.fullmatch(value)
    if match is None:
        return None
    return float(int(match[1]) * _IDLE_UNITS[match[2]])


def load_config(path: Path | None, env: Mapping[str, str] = os.environ) -> Config:
    """Load the config file; an explicitly named file must exist, the default may not."""
    explicit = path is not None or bool(env.get("PRODSQL_CONFIG"))
    chosen = path or (Path(env["PRODSQL_CONFIG"]) if env.get("PRODSQL_CONFIG") else None)
    chosen = chosen or default_config_path(env)
    if not chosen.exists() and not explicit:
        return Config()
    return _parse(chosen, _read_toml(chosen))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"configuration file {path} is a directory") from None
    except PermissionError:
        raise ConfigError(
            f"configuration file {path} is not readable (permission denied)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8 text") from None


class _Reader:
    """Pulls typed values out of one TOML table, remembering what was consumed."""

    def __init__(self, path: Path, prefix: str, table: Mapping[str, Any]) -> None:
        self.path, self.prefix, self.table = path, prefix, table
        self.seen: set[str] = set()

    def _where(self, key: str) -> str:
        return f"{self.path}: {self.prefix}{key}"

    def get(self, key: str, kind: type, expected: str) -> Any:
        self.seen.add(key)
        if key not in self.table:
            return None
        value = self.table[key]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise ConfigError(
                f"{self._where(key)}: expected {expected}, got {type(value).__name__} {value!r}"
            )
        return value

    def string(self, key: str, choices: tuple[str, ...] = ()) -> str | None:
        value: str | None = self.get(key, str, "a string")
        if value is not None and choices and value not in choices:
            raise ConfigError(
                f"{self._where(key)}: expected one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def duration(self, key: str) -> str | None:
        value = self.string(key)
        if value is not None and not _DURATION.fullmatch(value):
            raise ConfigError(
                f"{self._where(key)}: expected a PostgreSQL duration such as '30s', '5min' "
                f"or '0' (off), got {value!r}"
            )
        return value

    def idle(self, key: str) -> float | None:
        value = self.string(key)
        if value is None:
            return None
        seconds = idle_timeout_seconds(value)
        if seconds is None:
            raise ConfigError(f"{self._where(key)}: expected {IDLE_EXPECTED}, got {value!r}")
        return seconds

    def integer(self, key: str, lo: int, hi: int) -> int | None:
        value: int | None = self.get(key, int, "an integer")
        if value is not None and not lo <= value <= hi:
            raise ConfigError(
                f"{self._where(key)}: expected an integer from {lo} to {hi}, got {value}"
            )
        return value

    def number(self, key: str, lo: float, hi: float) -> float | None:
        self.seen.add(key)
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"{self._where(key)}: expected a number, got {type(value).__name__} {value!r}"
            )
        number = float(value)
        if not lo < number <= hi:
            raise ConfigError(
                f"{self._where(key)}: expected a number above {lo:g} and at most {hi:g}, "
                f"got {number:g}"
            )
        return number

    def strings(self, key: str) -> tuple[str, ...] | None:
        value: list[Any] | None = self.get(key, list, "a list of strings")
        if value is None:
            return None
        if not value or not all(isinstance(item, str) and item for item in value):
            raise ConfigError(
                f"{self._where(key)}: expected a non-empty list of non-empty strings "
                "(a program and its arguments; no shell)"
            )
        return tuple(value)

    def classes(self, key: str) -> tuple[str, ...] | None:
        value: list[Any] | None = self.get(key, list, "a list of pgAudit classes")
        if value is None:
            return None
        for item in value:
            if item not in AUDIT_CLASSES:
                raise ConfigError(
                    f"{self._where(key)}: {item!r} is not a pgAudit class "
                    f"(expected some of {', '.join(AUDIT_CLASSES)})"
                )
        return tuple(value)

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise ConfigError(
                f"{self._where(unknown[0])}: unknown key",
                hint=f"known keys here: {', '.join(sorted(self.seen))}",
            )


def _parse(path: Path, data: Mapping[str, Any]) -> Config:
    top = _Reader(path, "", data)
    pattern = top.string("ticket_pattern") or DEFAULT_TICKET_PATTERN
    _check_pattern(path, pattern)
    trail_dir = top.string("trail_dir")
    targets_table = top.get("targets", dict, "a table of [targets.NAME] tables") or {}
    notify_table = top.get("notify", dict, "a [notify] table") or {}
    sinks_table = top.get("sinks", dict, "a [sinks] table") or {}
    idle_timeout = top.idle("idle_timeout")
    hmac_key = top.string("trail_hmac_key")
    if hmac_key is not None and not _KEY_NAME.fullmatch(hmac_key):
        raise ConfigError(
            f"{path}: trail_hmac_key: expected a key name of 1-64 letters, digits, '.', '_' "
            f"or '-', got {hmac_key!r}",
            hint="the key itself lives in the keyring as trail-hmac:NAME; name it here",
        )
    top.finish()
    targets = {name: _parse_target(path, name, t) for name, t in targets_table.items()}
    return Config(
        path=path,
        ticket_pattern=pattern,
        trail_dir=Path(trail_dir).expanduser() if trail_dir else None,
        targets=targets,
        notify=_parse_notify(path, notify_table),
        sinks=_parse_sinks(path, sinks_table),
        idle_timeout=idle_timeout,
        trail_hmac_key=hmac_key,
    )


def _parse_notify(path: Path, table: Mapping[str, Any]) -> NotifySettings:
    r = _Reader(path, "notify.", table)
    settings = NotifySettings(
        sns_topic_arn=r.string("sns_topic_arn"),
        region=r.string("region"),
        endpoint_url=r.string("endpoint_url"),
        webhook_url=r.string("webhook_url"),
        command=r.strings("command") or (),
        timeout_seconds=r.number("timeout_seconds", 0, 60) or 5.0,
    )
    r.finish()
    url = settings.webhook_url
    if url is not None and not url.startswith(("https://", "http://")):
        raise ConfigError(f"{path}: notify.webhook_url: expected an http(s) URL, got {url!r}")
    return settings


def _parse_sinks(path: Path, table: Mapping[str, Any]) -> SinkSettings:
    r = _Reader(path, "sinks.", table)
    settings = SinkSettings(
        cloudwatch_group=r.string("cloudwatch_group"),
        s3_bucket=r.string("s3_bucket"),
        s3_prefix=(r.string("s3_prefix") or DEFAULT_S3_PREFIX).strip("/"),
        s3_lock_mode=r.string("s3_lock_mode", S3_LOCK_MODES),
        s3_retention_days=r.integer("s3_retention_days", 1, 36500),
        region=r.string("region"),
        endpoint_url=r.string("endpoint_url"),
    )
    r.finish()
    return settings


def _check_pattern(path: Path, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{path}: ticket_pattern is not a valid regular expression: {exc}"
        ) from None


def _parse_target(path: Path, name: str, table: Any) -> Target:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: targets.{name}: expected a table, got {type(table).__name__}")
    r = _Reader(path, f"targets.{name}.", table)
    bg_table = r.get("break_glass", dict, "a [targets.NAME.break_glass] table")
    d = Timeouts()
    timeouts = Timeouts(
        statement_timeout=r.duration("statement_timeout") or d.statement_timeout,
        lock_timeout=r.duration("lock_timeout") or d.lock_timeout,
        idle_in_transaction_session_timeout=r.duration("idle_in_transaction_session_timeout")
        or d.idle_in_transaction_session_timeout,
        connect_timeout=r.integer("connect_timeout", 1, 3600) or d.connect_timeout,
    )
    target = Target(
        name=name,
        host=r.string("host"),
        port=r.integer("port", 1, 65535),
        dbname=r.string("dbname"),
        user=r.string("user"),
        auth=r.string("auth", AUTH_METHODS) or "password",
        region=r.string("region"),
        aws_profile=r.string("aws_profile"),
        sslmode=r.string("sslmode", SSLMODES),
        sslrootcert=r.string("sslrootcert"),
        required_audit=r.classes("required_audit") or DEFAULT_REQUIRED_CLASSES,
        timeouts=timeouts,
        dsn=r.string("dsn"),
        break_glass=None if bg_table is None else _parse_break_glass(path, name, bg_table),
        idle_timeout=r.idle("idle_timeout"),
    )
    r.finish()
    _check_target(path, target)
    return target


def _parse_break_glass(path: Path, name: str, table: Mapping[str, Any]) -> BreakGlassSettings:
    r = _Reader(path, f"targets.{name}.break_glass.", table)
    settings = BreakGlassSettings(
        user=r.string("user"),
        auth=r.string("auth", AUTH_METHODS),
        aws_profile=r.string("aws_profile"),
        region=r.string("region"),
        max_minutes=r.number("max_minutes", 0, 24 * 60) or BREAK_GLASS_MAX_MINUTES,
    )
    r.finish()
    return settings


def _check_target(path: Path, t: Target) -> None:
    where = f"{path}: targets.{t.name}"
    if t.auth in ("iam", "keyring") and not (t.host and t.user):
        raise ConfigError(f"{where}: auth = {t.auth!r} needs both host and user")
    if t.auth == "iam" and t.sslmode in ("disable", "allow", "prefer"):
        raise ConfigError(
            f"{where}: auth = 'iam' needs TLS, but sslmode = {t.sslmode!r}",
            hint="use sslmode = 'verify-full' (the default for IAM) with the RDS CA bundle",
        )
