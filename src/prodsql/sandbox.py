"""A throwaway PostgreSQL 15 with pgAudit, for ``prodsql demo`` and the test suite.

The server is configured the way the product expects production to be: pgAudit preloaded,
every log destination on (stderr with Aurora's default prefix, csvlog, jsonlog), and roles
whose ``pgaudit.log`` is set per role by an admin. Nothing here is fit for real data:
fsync is off and the directory is deleted on :meth:`Sandbox.stop`.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from prodsql.errors import Error

__all__ = [
    "DEFAULT_PGAUDIT_LOG",
    "DEFAULT_ROLES",
    "RoleSpec",
    "Sandbox",
    "SandboxError",
    "describe_installation",
    "find_bindir",
]

DEFAULT_PGAUDIT_LOG = "read, write, ddl, role, function, misc"
DEFAULT_BINDIR = Path("/usr/lib/postgresql/15/bin")
SERVER_USER = "postgres"
INSTALL_HINT = (
    "install PostgreSQL 15 and pgAudit: apt-get install postgresql-15-pgaudit "
    "(or run scripts/ensure-system.sh); set PRODSQL_PG_BINDIR to use another installation"
)
LogKind = Literal["stderr", "csv", "json"]
_LOG_SUFFIX: dict[str, str] = {"stderr": ".log", "csv": ".csv", "json": ".json"}
# The socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_MAX_SOCKET_PATH = 100
_START_ATTEMPTS = 3


class SandboxError(Error):
    """The sandbox server could not be found, started or used."""


@dataclass(frozen=True)
class RoleSpec:
    """A login role the sandbox creates; ``pgaudit_log=None`` leaves the server default."""

    name: str
    password: str | None = None
    pgaudit_log: str | None = DEFAULT_PGAUDIT_LOG
    superuser: bool = False
    log_parameter: bool = False


DEFAULT_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("dev", "dev-password"),
    RoleSpec("weak", "weak-password", pgaudit_log="ddl"),
    RoleSpec("admin_su", "admin-password", pgaudit_log=None, superuser=True),
)


# -- finding the installation ------------------------------------------------------------


def find_bindir() -> Path:
    """The PostgreSQL (>= 15) binaries to use, checked to have pgAudit beside them."""
    bindir = _candidate_bindir()
    missing = [n for n in ("initdb", "pg_ctl", "postgres") if not (bindir / n).is_file()]
    if missing:
        raise SandboxError(
            f"PostgreSQL server binaries not found in {bindir} (missing: {', '.join(missing)})",
            hint=INSTALL_HINT,
        )
    major = _server_major(bindir)
    if major < 15:
        raise SandboxError(
            f"PostgreSQL {major} in {bindir} is too old: the sandbox needs 15+ (jsonlog)",
            hint=INSTALL_HINT,
        )
    if _pgaudit_library(bindir) is None:
        raise SandboxError(f"pgAudit (pgaudit.so) is not installed for {bindir}", hint=INSTALL_HINT)
    return bindir


def describe_installation() -> str:
    """One line naming the PostgreSQL and pgAudit found, or why none was."""
    try:
        bindir = find_bindir()
    except SandboxError as exc:
        return f"PostgreSQL: not found ({exc.message})"
    return f"PostgreSQL: {server_version(bindir)}; pgAudit: {pgaudit_version(bindir)} ({bindir})"


def server_version(bindir: Path) -> str:
    """``postgres --version``, e.g. ``15.18``."""
    out = _run_output([str(bindir / "postgres"), "--version"])
    match = re.search(r"\(PostgreSQL\) (\S+)", out)
    return match.group(1) if match else out.strip()


def pgaudit_version(bindir: Path) -> str:
    """The extension's default version from its control file, or ``not found``."""
    control = _pg_config_dir(bindir, "--sharedir", "share") / "extension" / "pgaudit.control"
    try:
        text = control.read_text(encoding="utf-8")
    except OSError:
        return "not found"
    match = re.search(r"default_version\s*=\s*'([^']*)'", text)
    return match.group(1) if match else "unknown"


def _candidate_bindir() -> Path:
    env = os.environ.get("PRODSQL_PG_BINDIR")
    if env:
        return Path(env)
    if DEFAULT_BINDIR.is_dir():
        return DEFAULT_BINDIR
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise SandboxError("PostgreSQL is not installed (no pg_config on PATH)", hint=INSTALL_HINT)
    return Path(_run_output([pg_config, "--bindir"]).strip())


def _server_major(bindir: Path) -> int:
    match = re.match(r"(\d+)", server_version(bindir))
    if match is None:
        raise SandboxError(f"cannot tell the version of {bindir / 'postgres'}", hint=INSTALL_HINT)
    return int(match.group(1))


def _pgaudit_library(bindir: Path) -> Path | None:
    library = _pg_config_dir(bindir, "--pkglibdir", "lib") / "pgaudit.so"
    return library if library.is_file() else None


def _pg_config_dir(bindir: Path, flag: str, sibling: str) -> Path:
    # Debian ships pg_config beside the server; a bare build directory may not have one.
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        return Path(_run_output([str(pg_config), flag]).strip())
    return bindir.parent / sibling


def _run_output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SandboxError(f"could not run {cmd[0]}: {exc}", hint=INSTALL_HINT) from exc


# -- running as the server user -----------------------------------------------------------


def _is_root() -> bool:
    return os.geteuid() == 0


def _server_owner() -> tuple[int, int] | None:
    """(uid, gid) of the OS user the server must run as when we are root, else None."""
    if not _is_root():
        return None
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise SandboxError(
            f"running as root, but there is no {SERVER_USER!r} OS user to run the server",
            hint="run scripts/ensure-system.sh (the postgresql-15 package creates the user)",
        ) from exc
    return entry.pw_uid, entry.pw_gid


def _as_server_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if _is_root() else cmd


def _clean_env() -> dict[str, str]:
    # PGDATA, PGPORT, PGOPTIONS … of the developer must not leak into the throwaway server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quote_conf(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- the sandbox --------------------------------------------------------------------------


class Sandbox:
    """One throwaway PostgreSQL server with pgAudit; use as a context manager."""

    host = "127.0.0.1"

    def __init__(
        self,
        base_dir: Path | None = None,
        *,
        bindir: Path | None = None,
        port: int | None = None,
        keep: bool = False,
        roles: Sequence[RoleSpec] | None = None,
    ) -> None:
        self._requested_base = base_dir
        self._bindir = bindir
        self._requested_port = port
        self.keep = keep
        self.roles: tuple[RoleSpec, ...] = DEFAULT_ROLES if roles is None else tuple(roles)
        self.port = port or 0
        # Known once start() has made it when no base_dir is given.
        self.base_dir = Path(base_dir).absolute() if base_dir else Path()
        self._short_socket_dir: Path | None = None
        self._running = False
        self._prepared = False

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_dir(self) -> Path:
        return self.base_dir / "log"

    @property
    def socket_dir(self) -> Path:
        return self._short_socket_dir or self.base_dir / "socket"

    @property
    def _startup_log(self) -> Path:
        return self.base_dir / "startup.log"

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- lifecycle

    def start(self) -> None:
        """initdb, configure, start the server, create pgAudit and the roles."""
        if self._running:
            return
        bindir = self._bindir or find_bindir()
        self._bindir = bindir
        owner = _server_owner()
        atexit.register(self.stop)
        try:
            self._prepare_dirs(owner)
            self._initdb()
            self._start_server()
            self._bootstrap()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and delete its directory (unless ``keep``); safe to repeat."""
        atexit.unregister(self.stop)
        if self._running:
            self._running = False
            if not self._pg_ctl_stop("fast"):
                self._pg_ctl_stop("immediate")
        elif self._prepared and (self.data_dir / "postmaster.pid").exists():
            # start() was interrupted while pg_ctl started the server: it may be up, and
            # its directory must not be deleted under it.
            self._pg_ctl_stop("immediate")
        if self._prepared and not self.keep:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        if self._short_socket_dir is not None:
            shutil.rmtree(self._short_socket_dir, ignore_errors=True)
            self._short_socket_dir = None
        self._prepared = False

    def _prepare_dirs(self, owner: tuple[int, int] | None) -> None:
        if self._requested_base is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="prodsql-sandbox-"))
        else:
            self._claim_base_dir()
        self._prepared = True
        if len(str(self.base_dir / "socket" / ".s.PGSQL.65535")) > _MAX_SOCKET_PATH:
            self._short_socket_dir = Path(tempfile.mkdtemp(prefix="prodsql-sock-"))
        for path in (self.base_dir, self.socket_dir, self.log_dir):
            path.mkdir(mode=0o750, exist_ok=True)
            if owner is not None:
                os.chown(path, *owner)
        if owner is not None:
            self._make_reachable()

    def _claim_base_dir(self) -> None:
        base = self.base_dir
        if base.exists() and any(base.iterdir()):
            raise SandboxError(
                f"sandbox directory {base} is not empty",
                hint="give a new or empty directory; it is deleted when the sandbox stops",
            )
        base.mkdir(parents=True, exist_ok=True)

    def _make_reachable(self) -> None:
        """As root, let the server user traverse to its directory.

        Only temporary directories are opened up (search bit, not read); anywhere else the
        user must choose a reachable directory, so we never loosen e.g. a home directory.
        Avoid pytest's ``tmp_path`` here: each pytest run resets /tmp/pytest-of-root to
        0700, locking the server out of a running sandbox.
        """
        tmp = Path(tempfile.gettempdir()).resolve()
        for parent in (self.base_dir, *self.base_dir.parents):
            if parent.resolve().is_relative_to(tmp) and parent.resolve() != tmp:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        probe = subprocess.run(_as_server_user(["test", "-w", str(self.base_dir)]), check=False)
        if probe.returncode != 0:
            raise SandboxError(
                f"the {SERVER_USER} OS user cannot reach {self.base_dir}",
                hint="choose a base directory under /tmp, or one every parent of which "
                f"the {SERVER_USER} user may traverse",
            )

    def _initdb(self) -> None:
        cmd = [
            str(self._bin("initdb")), "-D", str(self.data_dir), "-U", SERVER_USER,
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale",
            "--no-sync", "--no-instructions",
        ]  # fmt: skip
        proc = subprocess.run(
            _as_server_user(cmd), capture_output=True, text=True, env=_clean_env(), check=False
        )
        if proc.returncode != 0:
            raise SandboxError(
                f"initdb failed (exit {proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}",
                hint=INSTALL_HINT,
            )
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\ninclude 'prodsql-sandbox.conf'\n")

    def _start_server(self) -> None:
        # A port picked free can be taken before the server binds it; pick again then.
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = self._requested_port or _free_port()
            self._write_settings()
            if self._pg_ctl_start():
                self._running = True
                return
            if (self.data_dir / "postmaster.pid").exists():
                self._pg_ctl_stop("immediate")  # pg_ctl gave up waiting; the server may be up
            tail = self._startup_tail()
            retry = self._requested_port is None and "could not bind" in tail
            if not retry or attempt == _START_ATTEMPTS:
                raise SandboxError(
                    f"the sandbox PostgreSQL did not start (port {self.port}); server log:\n{tail}",
                    hint=f"see {self._startup_log} and {self.log_dir}; keep=True keeps them",
                )

    def _pg_ctl_start(self) -> bool:
        cmd = [
            str(self._bin("pg_ctl")), "start", "-w", "-t", "30", "-D", str(self.data_dir),
            "-l", str(self._startup_log),
        ]  # fmt: skip
        proc = subprocess.run(
            _as_server_user(cmd), capture_output=True, text=True, env=_clean_env(), check=False
        )
        return proc.returncode == 0

    def _pg_ctl_stop(self, mode: str) -> bool:
        cmd = [str(self._bin("pg_ctl")), "stop", "-w", "-t", "30", "-m", mode, "-D"]
        proc = subprocess.run(
            _as_server_user([*cmd, str(self.data_dir)]),
            capture_output=True,
            env=_clean_env(),
            check=False,
        )
        return proc.returncode == 0

    def _write_settings(self) -> None:
        path = self.data_dir / "prodsql-sandbox.conf"
        path.write_text("".join(f"{k} = {v}\n" for k, v in self._settings().items()))
        owner = _server_owner()
        if owner is not None:
            os.chown(path, *owner)

    def _settings(self) -> dict[str, str]:
        return {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": _quote_conf(str(self.socket_dir)),
            "shared_preload_libraries": "'pgaudit'",
            "logging_collector": "on",
            "log_destination": "'stderr,csvlog,jsonlog'",
            "log_directory": _quote_conf(str(self.log_dir)),
            "log_filename": "'postgresql-%Y%m%d.log'",
            "log_file_mode": "0640",
            "log_connections": "on",
            "log_disconnections": "on",
            # Aurora's default prefix, so parsers are tested against what production writes.
            "log_line_prefix": "'%t:%r:%u@%d:[%p]:'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "password_encryption": "'scram-sha-256'",
            "max_connections": "50",
        }

    def _startup_tail(self) -> str:
        texts = []
        for path in [self._startup_log, *self.log_files("stderr")[-1:]]:
            try:
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
        return _tail("".join(texts)) or "(no server log written)"

    def _bootstrap(self) -> None:
        self.admin_execute("CREATE EXTENSION IF NOT EXISTS pgaudit")
        for spec in self.roles:
            self.create_role(spec)

    def _bin(self, name: str) -> Path:
        assert self._bindir is not None
        return self._bindir / name

    # -- connecting

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        """The superuser ``postgres`` over the unix socket (trust authentication)."""
        return make_conninfo(
            "",
            host=str(self.socket_dir),
            port=self.port,
            user=SERVER_USER,
            dbname=dbname,
            application_name="prodsql-sandbox-admin",
        )

    def conninfo(
        self, user: str, *, dbname: str = "postgres", password: str | None = None, tcp: bool = True
    ) -> str:
        """A libpq key=value conninfo; TCP needs a password (scram), the socket does not."""
        params: dict[str, Any] = {
            "host": self.host if tcp else str(self.socket_dir),
            "port": self.port,
            "user": user,
            "dbname": dbname,
        }
        if password is not None:
            params["password"] = password
        return make_conninfo("", **params)

    @contextmanager
    def _admin(self, dbname: str) -> Iterator[psycopg.Cursor[tuple[Any, ...]]]:
        try:
            with (
                psycopg.connect(self.admin_conninfo(dbname), autocommit=True) as conn,
                conn.cursor() as cur,
            ):
                yield cur
        except psycopg.Error as exc:
            state = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
            raise SandboxError(f"sandbox admin statement failed{state}: {exc}") from exc

    def admin_execute(
        self,
        sql: str | sql.Composed,
        params: Sequence[object] | None = None,
        *,
        dbname: str = "postgres",
    ) -> list[tuple[object, ...]]:
        """Run SQL as the superuser in autocommit; the rows of every result, in order."""
        with self._admin(dbname) as cur:
            cur.execute(sql, params)
            return _all_rows(cur)

    def create_role(self, spec: RoleSpec) -> None:
        """Create (or reset) a login role with its pgAudit posture and basic privileges."""
        with self._admin("postgres") as cur:
            for statement in _role_statements(spec, exists=_role_exists(cur, spec.name)):
                cur.execute(statement)

    # -- logs

    def log_files(self, kind: LogKind) -> list[Path]:
        """The server's log files of one destination, oldest first."""
        suffix = _LOG_SUFFIX[kind]
        try:
            return sorted(p for p in self.log_dir.iterdir() if p.suffix == suffix)
        except OSError:
            return []

    def read_log(self, kind: LogKind) -> str:
        return "".join(
            p.read_text(encoding="utf-8", errors="replace") for p in self.log_files(kind)
        )

    def wait_for_log(self, needle: str, kind: LogKind = "json", timeout: float = 10.0) -> str:
        """The whole log of ``kind`` once it contains ``needle``; the collector is async."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.read_log(kind)
            if needle in text:
                return text
            if time.monotonic() >= deadline:
                raise SandboxError(f"{needle!r} did not appear in the {kind} log in {timeout}s")
            time.sleep(0.05)

    # -- demo data

    def load_demo_schema(self, owner: str) -> None:
        """customers, orders and order_items with a few hundred rows, owned by ``owner``."""
        self.admin_execute(_DEMO_SCHEMA)
        for table in ("customers", "orders", "order_items"):
            self.admin_execute(
                sql.SQL("ALTER TABLE public.{} OWNER TO {}").format(
                    sql.Identifier(table), sql.Identifier(owner)
                )
            )
        self.admin_execute("ANALYZE public.customers, public.orders, public.order_items")


def _all_rows(cur: psycopg.Cursor[tuple[Any, ...]]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    while True:
        if cur.description is not None:
            rows.extend(cur.fetchall())
        if not cur.nextset():
            return rows


def _role_exists(cur: psycopg.Cursor[tuple[Any, ...]], name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    return cur.fetchone() is not None


def _role_statements(spec: RoleSpec, *, exists: bool) -> list[sql.Composed]:
    role = sql.Identifier(spec.name)
    verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
    superuser = sql.SQL("SUPERUSER" if spec.superuser else "NOSUPERUSER")
    password = sql.Literal(spec.password) if spec.password is not None else sql.SQL("NULL")
    statements = [
        sql.SQL("{} {} WITH LOGIN {} PASSWORD {}").format(verb, role, superuser, password),
        _role_setting(role, "pgaudit.log", spec.pgaudit_log),
        _role_setting(role, "pgaudit.log_parameter", "on" if spec.log_parameter else None),
        sql.SQL("GRANT CONNECT ON DATABASE postgres TO {}").format(role),
        sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(role),
    ]
    return statements


def _role_setting(role: sql.Identifier, name: str, value: str | None) -> sql.Composed:
    if value is None:
        return sql.SQL("ALTER ROLE {} RESET {}").format(role, sql.SQL(name))
    return sql.SQL("ALTER ROLE {} SET {} = {}").format(role, sql.SQL(name), sql.Literal(value))


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# Deterministic data (no random()) so the demo's output is the same on every run; order 42
# is 'pending' so the demo's UPDATE visibly changes it.
_DEMO_SCHEMA = """
DROP TABLE IF EXISTS public.order_items, public.orders, public.customers CASCADE;
CREATE TABLE public.customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    country text NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO public.customers
SELECT g, 'Customer ' || g, 'customer' || g || '@example.com',
       (ARRAY['DE', 'FR', 'GB', 'US', 'JP'])[g % 5 + 1],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 day'
FROM generate_series(1, 100) AS g;
CREATE TABLE public.orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES public.customers,
    status text NOT NULL
        CHECK (status IN ('new', 'paid', 'pending', 'shipped', 'cancelled')),
    total_cents bigint NOT NULL DEFAULT 0,
    ordered_at timestamptz NOT NULL
);
INSERT INTO public.orders (id, customer_id, status, ordered_at)
SELECT g, g % 100 + 1, (ARRAY['new', 'paid', 'pending', 'shipped', 'cancelled'])[g % 5 + 1],
       timestamptz '2024-06-01 00:00:00+00' + g * interval '7 hours'
FROM generate_series(1, 300) AS g;
CREATE TABLE public.order_items (
    order_id integer NOT NULL REFERENCES public.orders ON DELETE CASCADE,
    line integer NOT NULL,
    sku text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    price_cents bigint NOT NULL,
    PRIMARY KEY (order_id, line)
);
INSERT INTO public.order_items
SELECT o, l, 'SKU-' || lpad(((o * 7 + l * 13) % 50 + 1)::text, 3, '0'),
       (o + l) % 4 + 1, ((o * 31 + l * 17) % 9000 + 500)
FROM generate_series(1, 300) AS o, generate_series(1, 1 + o % 3) AS l;
UPDATE public.orders AS o
SET total_cents = s.total
FROM (SELECT order_id, sum(quantity * price_cents) AS total
      FROM public.order_items GROUP BY order_id) AS s
WHERE s.order_id = o.id;
"""
