"""``prodsql demo`` without a terminal: the scripted session on its own sandbox server.

The demo starts and stops its own PostgreSQL (not the suite's), in a directory of its
own under the temporary directory; these tests read what it prints, as a user would.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from support.cli import PRODSQL, clean_env, read_trail, run_prodsql, trail_files

DEMO_TIMEOUT = 600  # seconds; a shared 2-core machine can be slow, and this is no benchmark
_STARTED_LINE = r"Starting a throwaway PostgreSQL .* in (/\S+) \.\.\."
_STARTED = re.compile(f"^{_STARTED_LINE}$", re.MULTILINE)


@pytest.fixture
def demo_dirs() -> Iterator[list[Path]]:
    """Directories the demo made; removed afterwards, whatever the test found."""
    dirs: list[Path] = []
    yield dirs
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


def started_in(text: str, dirs: list[Path]) -> Path:
    match = _STARTED.search(text)
    assert match is not None, text
    out_dir = Path(match.group(1))
    dirs.append(out_dir)
    return out_dir


def follow_up_commands(stdout: str) -> list[str]:
    """The shell commands under "Look at them:", as printed."""
    tail = stdout.split("\nLook at them:\n", 1)
    assert len(tail) == 2, stdout
    return [line.strip() for line in tail[1].splitlines() if line.startswith("  ")]


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )


def processes_using(path: Path) -> list[str]:
    """Processes whose command line names ``path`` or whose working directory is in it
    (a postmaster is started with -D inside it; its children run in its data directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd") if str(path) not in cmdline else str(path)
        except OSError:  # gone, a zombie, or not ours to look at
            continue
        if str(path) in cmdline or Path(cwd).is_relative_to(path):
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


def wait_until_no_process_uses(path: Path) -> None:
    # The server's logger exits just after the postmaster, so allow it a moment.
    deadline = time.monotonic() + 60
    while processes_using(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_using(path) == []


def demo_records(trail_dir: Path) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(session_start, the records of the statements typed, with outcomes) for each trail."""
    sessions = []
    for path in trail_files(trail_dir):
        records = read_trail(path)
        assert records[0]["kind"] == "session_start"
        assert records[-1]["kind"] == "session_end"
        typed = [r for r in records if r.get("source") not in (None, "internal")]
        numbers = {r["stmt"] for r in typed}
        typed += [r for r in records if r["kind"] == "outcome" and r["stmt"] in numbers]
        sessions.append((records[0], typed))
    return sessions


def find_session(
    sessions: list[tuple[dict[str, Any], list[dict[str, Any]]]], kind: str, text: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    hits = [
        (start, recs)
        for start, recs in sessions
        if any(r["kind"] == kind and r.get("text") == text for r in recs)
    ]
    assert len(hits) == 1, f"{kind} {text!r}: {len(hits)} sessions"
    return hits[0]


def outcome_of(records: list[dict[str, Any]], text: str) -> dict[str, Any]:
    stmt = next(r["stmt"] for r in records if r["kind"] == "statement" and r["text"] == text)
    return next(r for r in records if r["kind"] == "outcome" and r["stmt"] == stmt)


def test_scripted_demo_and_its_follow_up_commands(tmp_path: Path, demo_dirs: list[Path]) -> None:
    env = clean_env(tmp_path / "home")
    run = run_prodsql(["demo"], env, stdin="", timeout=DEMO_TIMEOUT)
    out_dir = started_in(run.stdout, demo_dirs)
    assert run.code == 0, run.output
    assert "Traceback" not in run.output
    assert "did not end as expected" not in run.stdout

    wait_until_no_process_uses(out_dir)
    assert not (out_dir / "server").exists()  # the sandbox's data directory is gone

    trail_dir = out_dir / "trails"
    sessions = demo_records(trail_dir)
    assert len(sessions) == 5
    assert {start["ticket"] for start, _ in sessions} == {"DEMO-1"}
    _assert_the_steps(sessions)

    commands = follow_up_commands(run.stdout)
    assert [c.split()[1] for c in commands[:3]] == ["verify", "replay", "reconcile"]
    assert commands[3].startswith("grep AUDIT ")
    verify, replay, reconcile, grep = (shell(c, env) for c in commands)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "5 files: 5 ok" in verify.stdout
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "confirmed by --allow-destructive" in replay.stdout
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    assert "missing on server 0, missing in trail 0, expected absent 2" in reconcile.stdout
    assert grep.returncode == 0, grep.stderr
    assert "WHERE id = 42" in grep.stdout
    assert "DELETE FROM order_items" in grep.stdout
    assert "nobody" not in grep.stdout  # the tamper attempt never reached the server


def _assert_the_steps(sessions: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    read = "SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY status"
    start, recs = find_session(sessions, "statement", read)
    assert start["mode"] == "read-only"
    assert outcome_of(recs, read)["status"] == "ok"

    write = "UPDATE orders SET status = 'shipped' WHERE id = 42"
    start, recs = find_session(sessions, "statement", write)
    assert (start["mode"], start["reason"]) == ("write", "fix a stuck order")
    assert (outcome_of(recs, write)["status"], outcome_of(recs, write)["rows"]) == ("ok", 1)

    tamper = "SET application_name = 'nobody'"
    start, recs = find_session(sessions, "refused", tamper)
    assert start["mode"] == "write"
    refused = next(r for r in recs if r["kind"] == "refused")
    assert (refused["decision"]["action"], refused["why"]) == ("refuse", "refused by policy")
    assert not any(r["kind"] == "statement" for r in recs)

    delete = "DELETE FROM order_items"
    start, recs = find_session(sessions, "refused", delete)
    assert next(r["why"] for r in recs if r["kind"] == "refused") == "not confirmed"
    start, recs = find_session(sessions, "statement", delete)
    assert start["allow_destructive"] is True
    sent = next(r for r in recs if r["kind"] == "statement")
    assert sent["decision"]["action"] == "confirm"
    assert sent["confirmed_by"] == "--allow-destructive"
    assert outcome_of(recs, delete)["status"] == "ok"


def postmaster_of(out_dir: Path) -> int | None:
    """The pid of the demo's postmaster (``postgres -D OUT_DIR/server/data``), if running."""
    data = str(out_dir / "server" / "data")
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if Path(argv[0]).name == "postgres" and data in argv:
            return int(proc.name)
    return None


def test_a_terminated_demo_stops_its_server(tmp_path: Path, demo_dirs: list[Path]) -> None:
    """SIGTERM mid-session: the server (its own session, so no terminal signal reaches it)
    is stopped by the demo, which exits 130 and removes its directory."""
    with subprocess.Popen(
        [*PRODSQL, "demo"],
        env=clean_env(tmp_path / "home"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            out_dir = started_in(proc.stdout.readline(), demo_dirs)
            postmaster = _stop_demo_while_its_server_runs(proc, out_dir)
            owner = Path(f"/proc/{postmaster}").stat().st_uid
            expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
            assert owner == expected  # as root, the server runs as the postgres user
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGCONT)
            stdout, stderr = proc.communicate(timeout=DEMO_TIMEOUT)
        finally:
            if proc.poll() is None:  # a failed assertion: let the demo clean up, then wait
                proc.send_signal(signal.SIGTERM)
                proc.send_signal(signal.SIGCONT)
                proc.communicate(timeout=DEMO_TIMEOUT)
    assert proc.returncode == 130, stdout + stderr
    assert "prodsql: interrupted" in stderr
    assert "Traceback" not in stdout + stderr
    wait_until_no_process_uses(out_dir)
    assert not out_dir.exists()


def _stop_demo_while_its_server_runs(proc: subprocess.Popen[str], out_dir: Path) -> int:
    """SIGSTOP the demo once its server is up; the postmaster's pid."""
    while proc.poll() is None:
        postmaster = postmaster_of(out_dir)
        if postmaster is not None:
            proc.send_signal(signal.SIGSTOP)
            # still there: the demo cannot have stopped it after we saw it, it is stopped
            if postmaster_of(out_dir) == postmaster:
                return postmaster
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    pytest.fail(f"the demo ended (exit {proc.returncode}) before its server was seen running")


# The transaction state word, its colour's reset, then psql's "=>" (as in test_shell_e2e).
PROMPT = r"(idle|in-txn|FAILED-txn|disconnected)(?:\x1b\[[0-9;]*m)*=>"


def spawn_demo(tmp_path: Path, *extra: str) -> pexpect.spawn:
    """``prodsql demo`` in a pseudo-terminal: it opens the shell."""
    env = clean_env(tmp_path / "home", {"TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"})
    return pexpect.spawn(
        PRODSQL[0],
        [*PRODSQL[1:], "demo", *extra],
        env=env,
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=DEMO_TIMEOUT,
    )


def at_the_shell(child: pexpect.spawn, demo_dirs: list[Path]) -> Path:
    """Wait for the demo's shell prompt; the demo's directory."""
    child.expect(_STARTED_LINE)
    out_dir = started_in(child.after.strip(), demo_dirs)
    child.expect(PROMPT)
    return out_dir


def test_in_a_terminal_ctrl_c_cancels_a_statement_not_the_demo(
    tmp_path: Path, demo_dirs: list[Path]
) -> None:
    """With a terminal the demo opens the shell; Ctrl-C there reaches the demo process too,
    which must leave it to the shell (a cancel) instead of ending the demo."""
    child = spawn_demo(tmp_path)
    try:
        out_dir = at_the_shell(child, demo_dirs)
        child.send("SELECT pg_sleep(60);\r")
        _wait_for_trail_text(out_dir / "trails", "pg_sleep(60)")
        child.sendintr()
        child.expect("Cancel sent to the server")
        child.expect(PROMPT)
        child.send("SELECT 40 + 2 AS answer;\r")
        child.expect(r"\b42\b")
        child.expect(PROMPT)
        child.send("\\q\r")
        child.expect("The demo is over")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    wait_until_no_process_uses(out_dir)
    assert not (out_dir / "server").exists()
    [(start, typed)] = demo_records(out_dir / "trails")
    assert start["ticket"] == "DEMO-1"
    sleep = next(r for r in typed if r["kind"] == "statement" and "pg_sleep" in r["text"])
    assert outcome_of(typed, sleep["text"])["status"] == "cancelled"


def _wait_for_trail_text(trail_dir: Path, needle: str) -> None:
    """Until a statement's intent record is in the trail (written right before sending)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(needle in p.read_text(encoding="utf-8") for p in trail_files(trail_dir)):
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never reached the trail in {trail_dir}")


def test_in_a_terminal_sigterm_ends_the_shells_session_then_the_demo(
    tmp_path: Path, demo_dirs: list[Path]
) -> None:
    """SIGTERM to the demo while its shell is open: the shell gets SIGTERM too (not a
    SIGKILL), ends its session with a closed trail, and the demo then stops its server."""
    child = spawn_demo(tmp_path, "--keep")
    try:
        out_dir = at_the_shell(child, demo_dirs)
        child.kill(signal.SIGTERM)
        child.expect("prodsql: terminated by a signal")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    wait_until_no_process_uses(out_dir)
    [path] = trail_files(out_dir / "trails")
    records = read_trail(path)
    assert (records[-1]["kind"], records[-1]["how"]) == ("session_end", "terminated")
