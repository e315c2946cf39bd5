"""Open the database connection: credentials, startup parameters, error translation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prodsql.config import Target
from prodsql.errors import AuthError, ConnectError, UsageError

if TYPE_CHECKING:
    import psycopg

# libpq keys that carry secrets: never logged, never written to the trail.
_SECRET_KEYS = frozenset({"password", "sslpassword"})


@dataclass(frozen=True, slots=True)
class ConnectParams:
    """libpq parameters without the secret, plus how to get the secret at connect time."""

    params: dict[str, str]
    auth: str
    target: Target

    def redacted(self) -> str:
        """A conninfo safe for the trail and for messages."""
        shown = {k: ("***" if k in _SECRET_KEYS else v) for k, v in self.params.items()}
        return " ".join(f"{k}={_quote(v)}" for k, v in sorted(shown.items()) if k != "options")

    def describe(self) -> str:
        p = self.params
        where = p.get("host") or "the default socket"
        port = f":{p['port']}" if p.get("port") else ""
        return f"{p.get('user') or 'the default user'}@{where}{port}/{p.get('dbname') or ''}"


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "._-/:@" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_dsn(dsn: str) -> dict[str, str]:
    """Parse a libpq conninfo string or URI; a bad one is a usage error, not a traceback."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parsed = conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg raises ProgrammingError with libpq's message
        raise UsageError(f"invalid --dsn: {_strip_secrets(str(exc), dsn)}") from None
    return {k: str(v) for k, v in parsed.items() if v is not None}


def _strip_secrets(message: str, dsn: str) -> str:
    # libpq quotes the offending fragment; make sure a password in it is not echoed.
    return message.replace(dsn, "<dsn>").strip() or "malformed connection string"


def build_params(
    target: Target,
    application_name: str,
    read_only: bool,
) -> ConnectParams:
    """Startup parameters: the tag and the safety settings travel with the connection
    request itself, so no statement is needed to set them."""
    params: dict[str, str] = parse_dsn(target.dsn) if target.dsn else {}
    for key in ("host", "port", "dbname", "user", "sslmode", "sslrootcert"):
        value = getattr(target, key)
        if value is not None:
            params[key] = str(value)
    if target.auth == "iam":
        params.setdefault("sslmode", "verify-full")
    t = target.timeouts
    params.setdefault("connect_timeout", str(t.connect_timeout))
    params["application_name"] = application_name
    params.pop("fallback_application_name", None)
    options = [
        f"-c statement_timeout={t.statement_timeout}",
        f"-c lock_timeout={t.lock_timeout}",
        f"-c idle_in_transaction_session_timeout={t.idle_in_transaction_session_timeout}",
        f"-c default_transaction_read_only={'on' if read_only else 'off'}",
    ]
    user_options = params.get("options")
    if user_options:
        check_user_options(user_options)
    params["options"] = " ".join([*([user_options] if user_options else []), *options])
    return ConnectParams(params=params, auth=target.auth, target=target)


# Startup settings a user may pass in a DSN's ``options``; anything else could switch the
# role, the tag, the audit settings or read-only mode before prodsql's first check.
SAFE_STARTUP_SETTINGS = frozenset(
    {
        "search_path",
        "work_mem",
        "maintenance_work_mem",
        "timezone",
        "datestyle",
        "intervalstyle",
        "extra_float_digits",
        "client_min_messages",
        "jit",
        "geqo",
        "random_page_cost",
        "effective_cache_size",
        "enable_seqscan",
        "enable_nestloop",
    }
)


def check_user_options(options: str) -> None:
    """Refuse ``options`` that set anything outside :data:`SAFE_STARTUP_SETTINGS`."""
    import shlex

    try:
        words = shlex.split(options)
    except ValueError:
        raise UsageError(f"invalid options in the connection string: {options!r}") from None
    names: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            names.append(words[i + 1].split("=", 1)[0])
            i += 2
            continue
        names.append(word[2:].split("=", 1)[0] if word.startswith("--") else word)
        i += 1
    bad = [n for n in names if n.lower().replace("-", "_") not in SAFE_STARTUP_SETTINGS]
    if bad:
        raise UsageError(
            f"the connection string's options set {', '.join(repr(n) for n in bad)}, "
            "which prodsql does not allow",
            hint="prodsql sets the role, application_name, pgAudit and read-only settings "
            "itself; allowed: " + ", ".join(sorted(SAFE_STARTUP_SETTINGS)),
        )


def resolve_password(cp: ConnectParams) -> str | None:
    """The secret for this connect: a fresh IAM token every time, or the keyring's password."""
    t = cp.target
    if cp.auth == "iam":
        from prodsql.auth.iam import IamParams, generate_token

        host = cp.params.get("host") or ""
        port = int(cp.params.get("port") or 5432)
        user = cp.params.get("user") or ""
        iam = IamParams(host=host, port=port, user=user, region=t.region, profile=t.aws_profile)
        return generate_token(iam).reveal()
    if cp.auth == "keyring":
        from prodsql.auth.keyring_store import get_password

        return get_password(t.name, cp.params.get("user") or "").reveal()
    return None


NoticeHandler = Callable[[Any], None]


def connect(cp: ConnectParams, on_notice: NoticeHandler | None = None) -> psycopg.Connection[Any]:
    """Connect in autocommit with automatic preparation off: every statement on the
    wire is one prodsql sent deliberately."""
    import psycopg
    from psycopg.adapt import AdaptersMap

    password = resolve_password(cp)
    kwargs: dict[str, Any] = dict(cp.params)
    if password is not None:
        kwargs["password"] = password
    try:
        conn = psycopg.connect(
            autocommit=True, prepare_threshold=None, context=_text_adapters(AdaptersMap), **kwargs
        )
    except psycopg.OperationalError as exc:
        raise _connect_error(cp, exc, password) from None
    if on_notice is not None:
        conn.add_notice_handler(on_notice)
    return conn


def _text_adapters(cls: type[Any]) -> Any:
    # Only the fallback loader: psycopg then returns every value as the server's own
    # text, which is exactly what psql shows (and costs no type conversion).
    from psycopg.types.string import TextLoader

    adapters = cls()
    adapters.register_loader(0, TextLoader)
    return adapters


def _connect_error(
    cp: ConnectParams, exc: Exception, password: str | None
) -> ConnectError | AuthError:
    message = str(exc).strip()
    if password:
        message = message.replace(password, "***")
    first = message.splitlines()[0] if message else "connection failed"
    hint = None
    if "PAM authentication failed" in message:
        hint = "the IAM token was refused: check GRANT rds_iam and the rds-db:connect policy"
    elif "password authentication failed" in message:
        hint = "check the password (prodsql login TARGET stores one in the keyring)"
    elif "Connection refused" in message or "could not translate host" in message:
        hint = "check host and port, and that the server accepts connections"
    if cp.auth == "iam" and "SSL" in message:
        hint = "IAM authentication needs TLS: check sslrootcert (the RDS CA bundle)"
    cls = AuthError if "authentication failed" in message else ConnectError
    return cls(f"could not connect to {cp.describe()}: {first}", hint=hint)
