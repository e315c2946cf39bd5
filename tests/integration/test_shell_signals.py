"""SIGTERM and SIGHUP end an interactive session with a closed, intact trail, wherever the
shell is: at the prompt, at a confirmation question, or while a statement runs."""

from __future__ import annotations

import secrets
import signal
import time
from typing import Any

import pexpect
import pytest

from integration.test_shell_e2e import shell, shell_table
from prodsql.sandbox import Sandbox
from support.pty import finish, wait_until_sent

__all__ = ["shell", "shell_table"]  # the fixtures, for pytest


def ended_by_signal(pty: Any) -> list[dict[str, Any]]:
    pty.child.expect(pexpect.EOF, timeout=30)
    records = finish(pty, code=130)
    assert records[-1]["kind"] == "session_end"
    assert records[-1]["how"] == "terminated"
    assert "Press ENTER" not in (pty.child.before or "")
    return records


@pytest.mark.parametrize("attempt", range(3))
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_at_the_prompt_ends_the_session(
    shell: Any, sig: signal.Signals, attempt: int
) -> None:
    # The handler used to raise inside prompt_toolkit's own callbacks now and then: the
    # exception was printed and the shell waited for Enter. Several attempts, to catch it.
    pty = shell()
    pty.prompt()
    pty.child.kill(sig)
    ended_by_signal(pty)


def test_a_signal_at_a_confirmation_ends_the_session_and_sends_nothing(
    shell: Any, shell_table: str
) -> None:
    pty = shell("--write", "--reason", "signal test")
    pty.prompt()
    pty.line(f"TRUNCATE public.{shell_table};")
    pty.expect("Type")
    pty.child.kill(signal.SIGTERM)
    records = ended_by_signal(pty)
    assert not [r for r in records if r["kind"] == "statement" and r["source"] == "shell"]


@pytest.mark.parametrize("write", [False, True])
def test_a_signal_during_a_statement_cancels_it_on_the_server(
    shell: Any, sandbox: Sandbox, shell_table: str, write: bool
) -> None:
    # Closing the connection alone would leave the statement running on the server
    # (and, in autocommit, committing) with nobody watching: it must be cancelled.
    marker = "signal_" + secrets.token_hex(3)
    if write:
        pty = shell("--write", "--reason", "signal test")
        sql = (
            f"INSERT INTO public.{shell_table} (id, v) SELECT 9999, pg_sleep(60)::text AS {marker};"
        )
    else:
        pty = shell()
        sql = f"SELECT pg_sleep(60) AS {marker};"
    pty.prompt()
    pty.line(sql)
    wait_until_sent(pty, marker)
    wait_for_running(sandbox, marker, running=True)
    # A lost SSH connection often brings SIGHUP twice, then a SIGTERM: only the first
    # counts, and the cancel, the outcome and the closing record all still happen.
    pty.child.kill(signal.SIGHUP)
    pty.child.kill(signal.SIGHUP)
    pty.child.kill(signal.SIGTERM)
    records = ended_by_signal(pty)
    [stmt] = [r for r in records if r["kind"] == "statement" and marker in r["text"]]
    [outcome] = [r for r in records if r["kind"] == "outcome" and r["stmt"] == stmt["stmt"]]
    assert outcome["status"] == "unknown"
    # A query's stream is abandoned (and cancels it) before the signal gets to the
    # runner; a write is cancelled by the runner itself: the trail says so either way.
    assert outcome["message"] == (
        "terminated by a signal while the statement ran; "
        "a cancel request was sent: it may or may not have completed"
    )
    wait_for_running(sandbox, marker, running=False)
    assert sandbox.admin_execute(f"SELECT count(*) FROM public.{shell_table} WHERE id = 9999") == [
        (0,)
    ]


def wait_for_running(sandbox: Sandbox, marker: str, *, running: bool) -> None:
    query = (
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'active' "
        f"AND query LIKE '%{marker}%' AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 20
    while sandbox.admin_execute(query) != [(running,)]:
        assert time.monotonic() < deadline, f"running on the server should be {running}"
        time.sleep(0.1)
