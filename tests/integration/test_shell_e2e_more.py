"""More of the interactive shell end to end (the real ``prodsql`` in a pseudo-terminal):
a fresh IAM token on reconnect, a COMMIT that landed although its answer was lost, vi
editing mode, and ``\\e`` with a real editor process."""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from integration import test_auth_e2e as auth_e2e
from prodsql.sandbox import RoleSpec, Sandbox
from support.cli import clean_env, trail_files
from support.proxy import TcpProxy
from support.pty import (
    Pty,
    finish,
    meta,
    of_kind,
    on_screen,
    outcome_of,
    spawn_shell,
    statements,
    wait_until,
)

# The module-scoped TLS sandbox of the IAM tests (a test CA, ssl = on): shared, not copied.
tls_sandbox = auth_e2e.tls_sandbox

Spawn = Callable[..., Pty]
RESULT_42 = r"\?column\?\s*\r\n-+\r\n\s+42\r\n\(1 row\)"


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """``spawn(args, env)``: a shell with a clean environment and its trail in tmp_path."""
    ptys: list[Pty] = []

    def start(args: Sequence[str], env: Mapping[str, str]) -> Pty:
        trail_dir = tmp_path / "trails"
        pty = spawn_shell(
            [*args, "--trail-dir", str(trail_dir)], clean_env(tmp_path, env), trail_dir
        )
        ptys.append(pty)
        return pty

    yield start
    for pty in ptys:
        pty.child.close(force=True)


def dev_shell(
    spawn: Spawn, dsn: str, *extra: str, env_extra: Mapping[str, str] | None = None
) -> Pty:
    return spawn(
        ["--ticket", "OPS-7", "--dsn", dsn, *extra],
        {"PGPASSWORD": "dev-password", **(env_extra or {})},
    )


# -- 1. a reconnect signs a new IAM token ---------------------------------------------


def moving_clock_env(env: Mapping[str, str], clock: Path) -> dict[str, str]:
    """libfaketime reading the time from ``clock`` at every call (no cache), so a test
    moves the clock of a running prodsql by rewriting the file. The file holds an absolute
    instant: the clock stands still there, so the token's signing second is known (a
    ``@`` start-at instant would run on). The monotonic clock stays real (timeouts)."""
    assert auth_e2e.FAKETIME_LIB.exists(), "libfaketime is missing: run scripts/ensure-system.sh"
    return {
        **env,
        "LD_PRELOAD": str(auth_e2e.FAKETIME_LIB),
        "FAKETIME_TIMESTAMP_FILE": str(clock),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }


def iam_config(home: Path, sandbox: Sandbox, ca: Path) -> None:
    cfg = home / "config" / "prodsql" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        f'trail_dir = "{home / "trails"}"\n'
        "[targets.aurora]\n"
        f'host = "127.0.0.1"\nport = {sandbox.port}\ndbname = "postgres"\nuser = "iam_user"\n'
        f'auth = "iam"\nregion = "eu-west-1"\nsslrootcert = "{ca}"\n'
    )


def assert_token_refused(sandbox: Sandbox, token: str, ca: Path) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1",
            port=sandbox.port,
            dbname="postgres",
            user="iam_user",
            password=token,
            sslmode="verify-full",
            sslrootcert=str(ca),
        ).close()


def test_a_reconnect_signs_a_fresh_iam_token(
    spawn: Spawn, sandbox: Sandbox, tls_sandbox: Path, tmp_path: Path
) -> None:
    t1, t2 = auth_e2e.T1, auth_e2e.T2
    env = clean_env(tmp_path, auth_e2e.CREDS)
    token1 = auth_e2e.token_at(t1, "127.0.0.1", sandbox.port, "iam_user", env)
    token2 = auth_e2e.token_at(t2, "127.0.0.1", sandbox.port, "iam_user", env)
    assert token1 != token2
    sandbox.create_role(RoleSpec(name="iam_user", password=token1))
    iam_config(tmp_path, sandbox, tls_sandbox)
    clock = tmp_path / "clock"
    clock.write_text(t1 + "\n")
    pty = spawn(["--ticket", "OPS-7", "--target", "aurora"], moving_clock_env(env, clock))
    assert pty.prompt() == "idle"
    pty.run("SELECT 'before' AS phase, ssl AS tls FROM pg_stat_ssl WHERE pid = pg_backend_pid();")
    pty.expect(r"before\s*\|\s*t\r\n\(1 row\)")
    pty.prompt()
    [first] = of_kind(pty.records(), "connected")

    # Only T2's token opens a session from now on; then the session is cut.
    sandbox.create_role(RoleSpec(name="iam_user", password=token2))
    assert_token_refused(sandbox, token1, tls_sandbox)
    assert sandbox.admin_execute(
        "SELECT pg_terminate_backend(%s, 30000)", [first["backend_pid"]]
    ) == [(True,)]
    clock.write_text(t2 + "\n")

    pty.run("SELECT 'lost' AS phase;")
    pty.expect("connection to the server was lost")
    assert pty.prompt() == "disconnected"
    pty.run(
        "SELECT 'after' AS phase, ssl AS tls, pg_backend_pid() AS pid FROM pg_stat_ssl "
        "WHERE pid = pg_backend_pid();"
    )
    pty.expect("Reconnecting with fresh credentials")
    pty.expect("Reconnected")
    pty.expect(r"after\s*\|\s*t\s*\|\s*(\d+)\r\n\(1 row\)")
    shown_pid = int(pty.child.match.group(1))
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)

    kinds = [r["kind"] for r in records]
    assert kinds.count("reconnect") == 1
    [again] = of_kind(records, "reconnect")
    assert again["credentials"] == "a new IAM token"
    assert again["auth"] == "iam"
    first, second = of_kind(records, "connected")
    assert kinds.index("reconnect") < records.index(second)
    assert second["backend_pid"] != first["backend_pid"]
    assert second["backend_pid"] == shown_pid  # the statement ran on the new session
    assert second["db_user"] == "iam_user"
    # The clock prodsql read moved with the file: the new session was opened at T2.
    assert first["ts"].startswith(t1.replace(" ", "T"))
    assert second["ts"].startswith(t2.replace(" ", "T"))
    lost = [s for s in statements(records) if s["text"] == "SELECT 'lost' AS phase"]
    assert len(lost) == 1  # never re-run
    assert outcome_of(records, lost[0]["stmt"])["status"] == "connection_lost"
    for text in (
        pty.output,
        *(f.read_text() for f in trail_files(tmp_path / "trails")),
        sandbox.read_log("stderr"),
        sandbox.read_log("csv"),
        sandbox.read_log("json"),
    ):
        for token in (token1, token2):
            assert token not in text
            assert token.split("X-Amz-Signature=")[1] not in text


# -- 2. a COMMIT that landed although the connection dropped ---------------------------


@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[TcpProxy]:
    with TcpProxy(sandbox.host, sandbox.port) as p:
        yield p


@pytest.fixture
def gated_table(sandbox: Sandbox) -> tuple[str, int]:
    """A table whose deferred trigger makes COMMIT wait for an advisory lock: the test
    holds the lock, so it decides when the COMMIT may finish."""
    name = f"gated_{secrets.token_hex(3)}"
    key = secrets.randbelow(2**31)
    sandbox.admin_execute(
        f"CREATE TABLE public.{name} (id int); ALTER TABLE public.{name} OWNER TO dev; "
        f"CREATE FUNCTION public.{name}_gate() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$BEGIN PERFORM pg_advisory_xact_lock({key}); RETURN NULL; END$$; "
        f"CREATE CONSTRAINT TRIGGER {name}_gate AFTER INSERT ON public.{name} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.{name}_gate()"
    )
    return name, key


@contextmanager
def advisory_lock(sandbox: Sandbox, key: int) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(sandbox.admin_conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [key])
        yield conn


def backend(sandbox: Sandbox, pid: int) -> tuple[object, ...]:
    """(state, wait_event_type, wait_event, query) of one backend, or () once it is gone."""
    rows = sandbox.admin_execute(
        "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity WHERE pid = %s",
        [pid],
    )
    return rows[0] if rows else ()


def test_a_commit_that_landed_although_the_connection_dropped_is_reported(
    spawn: Spawn, sandbox: Sandbox, proxy: TcpProxy, gated_table: tuple[str, int]
) -> None:
    table, key = gated_table
    dsn = make_conninfo("", host="127.0.0.1", port=proxy.port, user="dev", dbname="postgres")
    pty = dev_shell(spawn, dsn, "--write", "--reason", "commit through a proxy")
    assert pty.prompt() == "idle"
    pty.run(f"INSERT INTO {table} VALUES (1);")
    pty.expect("INSERT 0 1")
    assert pty.prompt() == "in-txn"
    [first] = of_kind(pty.records(), "connected")
    pid = first["backend_pid"]
    count = f"SELECT count(*) FROM public.{table}"

    with advisory_lock(sandbox, key) as gate:
        pty.child.send("COMMIT;\r")

        def commit_at_the_gate() -> bool:
            b = backend(sandbox, pid)
            return b[:3] == ("active", "Lock", "advisory") and str(b[3]).endswith("*/ COMMIT")

        wait_until(commit_at_the_gate, "the COMMIT waits for the advisory lock")
        proxy.blackhole()  # the client will never hear the COMMIT's answer
        gate.execute("SELECT pg_advisory_unlock(%s)", [key])
        wait_until(lambda: sandbox.admin_execute(count) == [(1,)], "the row is committed")
        wait_until(lambda: backend(sandbox, pid)[:1] == ("idle",), "the COMMIT is done")
        wait_until(lambda: proxy.dropped > 0, "the COMMIT's answer reached the proxy")
    accepted = proxy.accepted
    proxy.cut()

    pty.expect("connection to the server was lost", timeout=60)
    pty.expect("Reconnected", timeout=60)
    pty.expect("The COMMIT in flight when the connection dropped: committed", timeout=60)
    assert pty.prompt() == "idle"
    pty.run(f"SELECT count(*) AS n FROM {table};")
    pty.expect(r"n\s*\r\n-+\r\n\s+1\r\n\(1 row\)")
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)

    assert proxy.accepted > accepted  # the reconnect went through the proxy too
    assert sandbox.admin_execute(count) == [(1,)]  # exactly once
    [xmin] = sandbox.admin_execute(f"SELECT xmin::text FROM public.{table}")
    [status] = meta(records, "commit_status")
    assert status["txid_status"] == "committed"
    assert status["args"] == xmin[0]  # the transaction asked about is the row's
    commits = [r for r in records if r["kind"] == "statement" and "COMMIT" in r["text"]]
    assert [c["text"] for c in commits] == ["COMMIT"]  # sent once, never re-run
    assert outcome_of(records, commits[0]["stmt"])["status"] == "connection_lost"
    [asked] = [r for r in records if r.get("purpose") == "did the COMMIT in flight land?"]
    assert asked["text"] == f"SELECT txid_status({xmin[0]})"
    kinds = [r["kind"] for r in records]
    assert kinds.count("reconnect") == 1
    first, second = of_kind(records, "connected")
    assert second["backend_pid"] != first["backend_pid"]
    assert records.index(commits[0]) < kinds.index("reconnect") < records.index(asked)
    assert records.index(status) > records.index(asked)


# -- 3. vi editing mode ------------------------------------------------------------------

CURSOR_LEFT = r"(?:\x08|\x1b\[1?D)"
CURSOR_RIGHT = r"\x1b\[1?C"
ERASE_TO_END = r"\x1b\[K"


def test_vi_editing_mode_from_the_environment(spawn: Spawn, sandbox: Sandbox) -> None:
    pty = dev_shell(spawn, sandbox.conninfo("dev"), env_extra={"PRODSQL_EDITING_MODE": "vi"})
    assert pty.prompt() == "idle"
    pty.child.send("SELECT 7")
    pty.expect(on_screen("SELECT 7"))
    # Each key waits for what it visibly does: an Escape read together with the next key
    # could be taken for Alt+key.
    pty.child.send("\x1b")  # to navigation mode: the cursor steps back onto the 7
    pty.expect(CURSOR_LEFT)
    pty.child.send("x")  # deletes the 7
    pty.expect(ERASE_TO_END)
    pty.child.send("a")  # appends after the cursor (the space)
    pty.expect(CURSOR_RIGHT)
    pty.run("8;")
    pty.expect(on_screen("SELECT 8;"))
    pty.expect(r"\?column\?\s*\r\n-+\r\n\s+8\r\n\(1 row\)")
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    [stmt] = statements(records)
    assert stmt["text"] == "SELECT 8"
    assert outcome_of(records, stmt["stmt"])["status"] == "ok"


# -- 4. \e with a real editor ------------------------------------------------------------


def editor(tmp_path: Path, name: str, body: str) -> tuple[Path, str]:
    """An executable editor script; returns it and the EDITOR value naming it."""
    script = tmp_path / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script, shlex.quote(str(script))


def test_edit_puts_the_editors_text_in_the_buffer_and_enter_runs_it(
    spawn: Spawn, sandbox: Sandbox, tmp_path: Path
) -> None:
    script, value = editor(tmp_path, "edit.sh", "printf 'SELECT 41 + 1;\\n' > \"$1\"\n")
    pty = dev_shell(spawn, sandbox.conninfo("dev"), env_extra={"EDITOR": value})
    assert pty.prompt() == "idle"
    pty.run("\\e")
    assert pty.prompt() == "idle"
    pty.expect(on_screen("SELECT 41 + 1;"))  # the pending buffer: nothing ran yet
    assert not statements(pty.records())
    assert not re.search(RESULT_42, pty.output)
    pty.run("")  # Enter runs the buffer
    pty.expect(RESULT_42)
    assert pty.prompt() == "idle"
    pty.run("\\q")
    records = finish(pty)
    [edit] = meta(records, "e")
    assert edit["result"] == "ok"
    assert edit["editor"] == str(script)
    assert edit["chars"] == len("SELECT 41 + 1;")
    [stmt] = statements(records)
    assert stmt["text"] == "SELECT 41 + 1"
    assert stmt["tag"] in stmt["sent"]
    assert outcome_of(records, stmt["stmt"])["status"] == "ok"
    assert records.index(edit) < records.index(stmt)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("printf 'SELECT 41 + 1;\\n' > \"$1\"\nexit 1\n", id="editor-fails"),
        pytest.param(': > "$1"\n', id="file-left-empty"),
    ],
)
def test_edit_that_fails_or_leaves_nothing_runs_nothing(
    spawn: Spawn, sandbox: Sandbox, tmp_path: Path, body: str
) -> None:
    _script, value = editor(tmp_path, "edit.sh", body)
    pty = dev_shell(spawn, sandbox.conninfo("dev"), env_extra={"EDITOR": value})
    assert pty.prompt() == "idle"
    pty.run("SELECT 'before' AS phase;")
    pty.expect(r"\(1 row\)")
    assert pty.prompt() == "idle"
    pty.run("\\e")  # on an empty buffer: the editor gets the last statement
    assert pty.prompt() == "idle"
    assert [s["text"] for s in statements(pty.records())] == ["SELECT 'before' AS phase"]
    assert [m["command"] for m in of_kind(pty.records(), "meta")] == ["e"]
    pty.run("")  # Enter: whatever the editor left in the buffer would run now
    pty.run("\\q")
    records = finish(pty)
    assert [s["text"] for s in statements(records)] == ["SELECT 'before' AS phase"]
    assert not re.search(RESULT_42, pty.output)
