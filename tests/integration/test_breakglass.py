"""Break-glass sessions end to end: the real executable, the real server, real notifications."""

from __future__ import annotations

import http.server
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from prodsql.sandbox import RoleSpec, Sandbox
from prodsql.trail import VerifyStatus, verify_file
from support.cli import Run, clean_env, kinds, only_trail, run_prodsql, trail_files

RoleFactory = Callable[..., RoleSpec]

REASON = "orders stuck in pending since 02:40, releasing the reaper's lock"


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


class Setup:
    def __init__(self, sandbox: Sandbox, tmp_path: Path, role: RoleSpec, webhook: str) -> None:
        self.sandbox, self.role = sandbox, role
        self.trails = tmp_path / "trails"
        self.notified = tmp_path / "notified.jsonl"
        script = tmp_path / "notify.py"
        script.write_text(
            f"import sys\nopen({str(self.notified)!r}, 'a').write(sys.stdin.read() + '\\n')\n"
        )
        pgpass = tmp_path / "pgpass"
        pgpass.write_text(f"{sandbox.host}:{sandbox.port}:*:{role.name}:{role.password}\n")
        pgpass.chmod(0o600)
        self.config = tmp_path / "config.toml"
        self.webhook, self.script = webhook, script
        self.env = clean_env(tmp_path, {"PGPASSFILE": str(pgpass)})

    def write_config(self, max_minutes: float = 60) -> None:
        self.config.write_text(
            f"""
[targets.prod]
host = "{self.sandbox.host}"
port = {self.sandbox.port}
dbname = "postgres"
user = "dev"

[targets.prod.break_glass]
user = "{self.role.name}"
max_minutes = {max_minutes}

[notify]
webhook_url = "{self.webhook}"
command = [{json.dumps(sys.executable)}, {json.dumps(str(self.script))}]
"""
        )

    def run(self, *args: str, **kw: Any) -> Run:
        base = ["--config", str(self.config), "--target", "prod", "--trail-dir", str(self.trails)]
        return run_prodsql([*base, *args], self.env, **kw)

    def commanded(self) -> list[dict[str, Any]]:
        if not self.notified.exists():
            return []
        return [json.loads(line) for line in self.notified.read_text().splitlines() if line]


@pytest.fixture
def make_setup(sandbox: Sandbox, tmp_path: Path, fresh_role: RoleFactory, webhook: str) -> Any:
    def make(**role: Any) -> Setup:
        setup = Setup(sandbox, tmp_path, fresh_role(**role), webhook)
        setup.write_config()
        return setup

    return make


def test_break_glass_session_writes_and_notifies(make_setup: Any) -> None:
    s: Setup = make_setup(pgaudit_log="all", log_parameter=True)
    table = f"bg_{secrets.token_hex(4)}"
    run = s.run(
        "--break-glass",
        "--reason",
        REASON,
        "--incident",
        "INC-4711",
        "-c",
        f"CREATE TABLE {table} (id int)",
        "-c",
        f"INSERT INTO {table} SELECT generate_series(1, 3)",
    )
    assert run.code == 0, run.stderr
    assert "BREAK-GLASS SESSION" in run.stderr
    assert REASON in run.stderr
    [path] = trail_files(s.trails)
    assert "-break-glass-" in path.name
    records = only_trail(s.trails)
    start = records[0]
    assert start["break_glass"] is True
    assert start["ticket"] is None
    assert (start["reason"], start["incident"], start["mode"]) == (REASON, "INC-4711", "write")
    assert str(start["application_name"]).startswith("prodsql:break-glass:")
    notes = [r for r in records if r["kind"] == "meta" and r["command"] == "notify"]
    assert [(n["args"], n["channel"], n["ok"]) for n in notes] == [
        ("break_glass_start", "webhook", True),
        ("break_glass_start", "command", True),
    ]
    connected = next(r for r in records if r["kind"] == "connected")
    assert connected["db_user"] == s.role.name
    assert connected["posture_ok"] is True
    result = verify_file(path)
    assert result.status is VerifyStatus.INTACT
    start_note, end_note = _Hook.received
    assert s.commanded() == _Hook.received
    assert start_note["event"] == "break_glass_start"
    assert start_note["reason"] == REASON
    assert end_note["event"] == "break_glass_end"
    assert end_note["incident"] == "INC-4711"
    assert end_note["how"] == "completed"
    assert end_note["statements"] == 2
    assert end_note["writes"] == {table: {"statements": 2, "rows": 3}}
    assert end_note["final_hash"] == result.final_hash == records[-1]["hash"]
    assert end_note["replay"] == [f"prodsql replay {path}"]


def test_refused_without_a_reason_of_substance(make_setup: Any) -> None:
    s: Setup = make_setup(pgaudit_log="all", log_parameter=True)
    for reason in ([], ["--reason", "fix it"]):
        run = s.run("--break-glass", *reason, "-c", "SELECT 1")
        assert run.code == 2, run.stderr
        assert "Traceback" not in run.stderr
    assert "needs --reason" in s.run("--break-glass", "-c", "SELECT 1").stderr
    assert not trail_files(s.trails)
    assert not _Hook.received


def test_refused_on_a_weaker_posture(make_setup: Any) -> None:
    s: Setup = make_setup(pgaudit_log="all", log_parameter=False)
    run = s.run("--break-glass", "--reason", REASON, "-c", "SELECT 1")
    assert run.code == 4, run.stderr
    assert f'ALTER ROLE "{s.role.name}" SET pgaudit.log_parameter = on;' in run.stderr
    records = only_trail(s.trails)
    assert records[-1]["how"] == "PostureError"
    assert "statement" not in kinds(records[4:])  # only the internal posture query ran
    end = _Hook.received[-1]
    assert end["event"] == "break_glass_end"
    assert end["how"] == "PostureError"


def test_weaker_classes_name_all(make_setup: Any) -> None:
    s: Setup = make_setup(pgaudit_log="read, write, ddl", log_parameter=True)
    run = s.run("--break-glass", "--reason", REASON, "-c", "SELECT 1")
    assert run.code == 4, run.stderr
    assert f"ALTER ROLE \"{s.role.name}\" SET pgaudit.log = 'all';" in run.stderr


def test_session_expires_with_a_trail_record(make_setup: Any) -> None:
    s: Setup = make_setup(pgaudit_log="all", log_parameter=True)
    s.write_config(max_minutes=0.05)  # three seconds
    started = time.monotonic()
    run = s.run("--break-glass", "--reason", REASON, "-c", "SELECT pg_sleep(30)", "-c", "SELECT 2")
    assert time.monotonic() - started < 20
    assert run.code == 130, run.stderr
    assert re.search(r"the break-glass session ends in [0-9] s", run.stderr)
    assert "reached its maximum" in run.stderr
    records = only_trail(s.trails)
    outcome = [r for r in records if r["kind"] == "outcome"][-1]
    assert outcome["status"] == "cancelled"
    assert [r["command"] for r in records if r["kind"] == "meta"][-1] == "break_glass_expired"
    assert records[-1]["kind"] == "session_end"
    assert records[-1]["how"] == "expired"
    assert not any(r.get("text") == "SELECT 2" for r in records)
    assert s.commanded()[-1]["how"] == "expired"


def test_interactive_break_glass_prompt_and_deadline(make_setup: Any) -> None:
    import pexpect

    from support.cli import PRODSQL

    s: Setup = make_setup(pgaudit_log="all", log_parameter=True)
    s.write_config(max_minutes=0.1)  # six seconds
    args = [
        "--config",
        str(s.config),
        "--target",
        "prod",
        "--trail-dir",
        str(s.trails),
        "--break-glass",
        "--reason",
        REASON,
    ]
    child = pexpect.spawn(
        PRODSQL[0],
        [*PRODSQL[1:], *args],
        env=s.env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )
    try:
        child.expect("BREAK-GLASS")  # the banner
        child.expect("idle=>")
        assert "BREAK-GLASS" in str(child.before)  # the prompt says it too
        assert "WRITE" in str(child.before)
        child.sendline("SELECT 40 + 2 AS answer;")
        child.expect("42")
        child.expect("reached its maximum duration")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    records = only_trail(s.trails)
    assert records[0]["break_glass"] is True
    assert records[0]["reason"] == REASON
    assert records[-1]["kind"] == "session_end"
    assert records[-1]["how"] == "expired"
    assert any(r.get("text") == "SELECT 40 + 2 AS answer" for r in records)
    assert verify_file(trail_files(s.trails)[0]).status == VerifyStatus.INTACT


def test_a_deadline_warning_is_printed_above_the_prompt(make_setup: Any) -> None:
    """The watchdog's warning comes from another thread while the user types: it goes
    above the prompt, which is drawn again with what was typed, not over it."""
    import pexpect

    from support.cli import PRODSQL
    from support.pty import on_screen

    s: Setup = make_setup(pgaudit_log="all", log_parameter=True)
    s.write_config(max_minutes=0.1)  # six seconds
    args = ["--config", str(s.config), "--target", "prod", "--trail-dir", str(s.trails)]
    child = pexpect.spawn(
        PRODSQL[0],
        [*PRODSQL[1:], *args, "--break-glass", "--reason", REASON],
        env={**s.env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )
    try:
        child.expect("idle=>")
        child.send("SELECT 1")  # typed, not sent
        child.expect(on_screen("SELECT 1"))
        child.expect(r"prodsql: warning: the break-glass session ends in [0-9]+ s\r?\n")
        # The prompt line was erased first (ESC[J, then only terminal modes): the warning
        # starts on a line of its own instead of after "SELECT 1".
        assert re.search(r"\x1b\[J(?:\x1b\[[0-9;?]*[A-Za-z])*$", str(child.before))
        child.expect("idle=>")  # the prompt, drawn again under the warning
        child.expect(on_screen("SELECT 1"))  # with what was typed
        child.expect("reached its maximum duration")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
