"""Break-glass rules without a server: reason, incident, settings, clock, summary, notifications."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest

from awsfixtures import AwsEnv
from prodsql.breakglass import (
    REQUIRED_CLASSES,
    BreakGlass,
    Watchdog,
    apply_settings,
    check_incident,
    check_reason,
    summarise,
    warn_points,
)
from prodsql.config import BreakGlassSettings, NotifySettings, Target
from prodsql.errors import ConfigError, UsageError
from prodsql.notify import send
from prodsql.trail import TrailWriter

GOOD_REASON = "orders stuck in pending since 02:40, releasing the reaper's lock"


@pytest.mark.parametrize(
    "reason", [None, "", "   ", "fix", "fixing prod now", "a b c d e f g h i j"]
)
def test_reasons_without_substance_are_refused(reason: str | None) -> None:
    with pytest.raises(UsageError) as info:
        check_reason(reason)
    assert info.value.hint
    assert "--reason" in info.value.hint


def test_reason_is_normalised() -> None:
    assert check_reason(f"  {GOOD_REASON}\n ") == GOOD_REASON
    with pytest.raises(UsageError, match="over 1000"):
        check_reason("word " * 300)


def test_incident() -> None:
    assert check_incident(None) is None
    assert check_incident(" INC-4711 ") == "INC-4711"
    with pytest.raises(UsageError, match="malformed incident"):
        check_incident("INC 4711; drop")


def test_break_glass_settings_replace_user_and_auth() -> None:
    settings = BreakGlassSettings(user="oncall_bg", auth="iam", aws_profile="bg", max_minutes=5)
    target = Target(name="prod", host="db", user="alice", auth="keyring", break_glass=settings)
    bg_target = apply_settings(target)
    assert (bg_target.user, bg_target.auth, bg_target.aws_profile) == ("oncall_bg", "iam", "bg")
    assert bg_target.required_audit == REQUIRED_CLASSES
    assert set(REQUIRED_CLASSES) == {
        "read",
        "write",
        "function",
        "role",
        "ddl",
        "misc",
        "misc_set",
    }
    with pytest.raises(ConfigError, match="no break-glass settings"):
        apply_settings(Target(name="prod"))


def test_warn_points() -> None:
    assert warn_points(3600) == (600, 300, 60)
    assert warn_points(300) == (60,)
    assert warn_points(2) == (1,)


def test_clock_and_fields() -> None:
    bg = BreakGlass.start(GOOD_REASON, "INC-1", max_minutes=60)
    assert 3599 < bg.remaining() <= 3600
    fields = bg.start_fields()
    assert fields["break_glass"] is True
    assert fields["incident"] == "INC-1"
    assert fields["max_minutes"] == 60
    assert "BREAK-GLASS" in bg.banner()
    assert GOOD_REASON in bg.banner()


def test_watchdog_warns_then_expires() -> None:
    bg = BreakGlass.start(GOOD_REASON, None, max_minutes=0.5 / 60)
    events: list[str] = []
    done = threading.Event()
    dog = Watchdog(bg, lambda left: events.append(f"warn {left:.1f}"), done.set)
    dog.start()
    assert done.wait(5)
    assert bg.expired
    assert len(events) == 1
    assert events[0].startswith("warn 0.")


def test_stopped_watchdog_does_nothing() -> None:
    bg = BreakGlass.start(GOOD_REASON, None, max_minutes=0.3 / 60)
    fired = threading.Event()
    dog = Watchdog(bg, lambda _: fired.set(), fired.set)
    dog.start()
    dog.stop()
    time.sleep(0.5)
    assert not fired.is_set()
    assert not bg.expired


def test_summary_counts_writes_per_table(tmp_path: Path) -> None:
    w = TrailWriter.create(tmp_path, session_id="abcd1234", ticket=None)
    w.append("session_start", {"break_glass": True})
    stmts: list[tuple[str, str, list[str], str, int]] = [
        ("internal", "read", [], "ok", 1),
        ("-c #1", "read", ["public.t"], "ok", 3),
        ("-c #2", "write", ["public.t"], "ok", 2),
        ("-c #3", "write", ["public.t", "public.u"], "ok", 5),
        ("-c #4", "write", ["public.u"], "error", 0),
        ("-c #5", "ddl", ["public.v"], "ok", 0),
    ]
    for n, (source, kind, objects, status, rows) in enumerate(stmts, 1):
        c = {"kind": kind, "objects": objects}
        w.append("statement", {"stmt": n, "source": source, "classification": c})
        w.append("outcome", {"stmt": n, "status": status, "rows": rows})
    w.append("refused", {"stmt": 7})
    end = w.close("completed")
    summary = summarise(w.path)
    assert summary == {
        "statements": 5,
        "refused": 1,
        "failed": 1,
        "writes": {
            "public.t": {"statements": 2, "rows": 7},
            "public.u": {"statements": 1, "rows": 5},
            "public.v": {"statements": 1, "rows": 0},
        },
        "how": "completed",
        "final_hash": end["hash"],
    }


# -- notifications -------------------------------------------------------------------------


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Hook.received, _Hook.status = [], 204
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook/SECRET-TOKEN"
    finally:
        server.shutdown()
        server.server_close()


def stdin_to_file(tmp_path: Path, *, exit_code: int = 0) -> tuple[tuple[str, ...], Path]:
    out = tmp_path / "notified.json"
    script = tmp_path / "notify.py"
    script.write_text(
        "import sys\n"
        f"open({str(out)!r}, 'w').write(sys.stdin.read())\n"
        f"print('boom', file=sys.stderr)\nsys.exit({exit_code})\n"
    )
    return (sys.executable, str(script)), out


def test_webhook_and_command_receive_the_payload(webhook: str, tmp_path: Path) -> None:
    command, out = stdin_to_file(tmp_path)
    payload = {"event": "break_glass_start", "reason": "réason", "session_id": "abcd1234"}
    results = send(NotifySettings(webhook_url=webhook, command=command), payload)
    assert [(d.channel, d.ok, d.error) for d in results] == [
        ("webhook", True, None),
        ("command", True, None),
    ]
    assert _Hook.received == [("application/json", payload)]
    assert json.loads(out.read_text()) == payload


def test_failures_are_reported_without_the_secret_url(webhook: str, tmp_path: Path) -> None:
    _Hook.status = 500
    command, _ = stdin_to_file(tmp_path, exit_code=3)
    slow = (sys.executable, "-c", "import time; time.sleep(10)")
    results = send(NotifySettings(webhook_url=webhook, command=command), {"event": "x"})
    assert [(d.ok, d.error) for d in results] == [
        (False, "HTTP 500 Internal Server Error"),
        (False, "the command exited with status 3: boom"),
    ]
    started = time.monotonic()
    [late] = send(NotifySettings(command=slow, timeout_seconds=0.5), {"event": "x"})
    assert time.monotonic() - started < 5
    assert late.error == "the command timed out after 0.5 s"
    dead = "http://127.0.0.1:9/SECRET-TOKEN"
    [refused] = send(NotifySettings(webhook_url=dead), {"event": "x"})
    assert refused.error
    assert "cannot reach the webhook" in refused.error
    assert "SECRET" not in refused.error


def test_sns_publishes_the_payload(moto_reset: str, aws_env: AwsEnv) -> None:
    sns = boto3.client("sns", endpoint_url=moto_reset)
    sqs = boto3.client("sqs", endpoint_url=moto_reset)
    topic = sns.create_topic(Name="prodsql-break-glass")["TopicArn"]
    queue = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    payload = {"event": "break_glass_end", "target": "prod", "writes": {"public.t": 1}}
    settings = NotifySettings(sns_topic_arn=topic, endpoint_url=moto_reset)
    assert [(d.channel, d.ok) for d in send(settings, payload)] == [("sns", True)]
    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == "prodsql break_glass_end prod"
    assert json.loads(envelope["Message"]) == payload


def test_sns_failure_is_reported(moto_reset: str, aws_env: AwsEnv) -> None:
    arn = "arn:aws:sns:eu-west-1:123456789012:missing"
    [d] = send(NotifySettings(sns_topic_arn=arn, endpoint_url=moto_reset), {"event": "x"})
    assert not d.ok
    assert d.error
