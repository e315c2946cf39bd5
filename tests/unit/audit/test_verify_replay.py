"""prodsql verify over many files; replay in its three formats; intact and tampered trails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awsfixtures import FileKeyring
from prodsql.audit import replay
from prodsql.audit.cli import replay_main, verify_main
from prodsql.errors import UsageError
from unit.audit.trailkit import CAPTURED_STATEMENTS, Stmt, write_trail

KEY_HEX = "00112233445566778899aabbccddeeff"


def tamper(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def three(trail_dir: Path) -> tuple[Path, Path, Path]:
    good = write_trail(trail_dir, CAPTURED_STATEMENTS, sid="good0001")
    bad = write_trail(trail_dir, CAPTURED_STATEMENTS, sid="bad00001")
    tamper(bad, "SELECT * FROM nope", "SELECT * FROM yes!")
    open_ = write_trail(trail_dir, CAPTURED_STATEMENTS[:2], sid="open0001", close=False)
    return good, bad, open_


def test_verify_a_directory_prints_a_table_and_the_worst_exit(
    three: tuple[Path, Path, Path], trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = verify_main([str(trail_dir)])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["STATUS", "RECORDS", "SESSION", "HMAC", "FILE"]
    assert any(line.startswith("TAMPERED") and "bad00001" in line for line in lines)
    assert any(line.startswith("NOT CLOSED") and "open0001" in line for line in lines)
    assert "the record was changed" in out
    assert lines[-1] == "3 files: 1 ok, 1 tampered, 1 not closed"


def test_verify_json(three: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    good, _, open_ = three
    assert verify_main([str(good), str(open_), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert [f["status"] for f in report["files"]] == ["intact", "not_closed"]
    assert report["summary"]["exit_code"] == 3
    assert verify_main([str(good)]) == 0
    assert verify_main([str(good.parent / "absent.jsonl")]) == 2


def test_verify_checks_the_hmac_with_the_keyring_key(
    trail_dir: Path, file_keyring: FileKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    keyed = write_trail(trail_dir, CAPTURED_STATEMENTS, hmac_key=bytes.fromhex(KEY_HEX))
    file_keyring.backend.set_password("prodsql", "trail-hmac:ops", KEY_HEX)
    capsys.readouterr()
    assert verify_main([str(keyed), "--hmac-key-name", "ops", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["hmac_checked"] is True
    file_keyring.backend.set_password("prodsql", "trail-hmac:ops", "ff" * 16)
    assert verify_main([str(keyed), "--hmac-key-name", "ops"]) == 1
    assert "hmac" in capsys.readouterr().out


def test_a_named_key_that_is_absent_is_a_usage_error(
    trail_dir: Path, file_keyring: FileKeyring
) -> None:
    path = write_trail(trail_dir, CAPTURED_STATEMENTS)
    with pytest.raises(UsageError, match="no trail HMAC key 'nokey'"):
        verify_main([str(path), "--hmac-key-name", "nokey"])


def test_replay_text_shows_header_steps_and_outcomes(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_trail(trail_dir, CAPTURED_STATEMENTS)
    assert replay_main([str(path), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "TRAIL" not in out
    assert "who:            root@vm as database user dev" in out
    assert "why:            ticket OPS-9" in out
    assert "server session: 6b087a88.2e74 pid 11892" in out
    assert "(completed)" in out
    assert "#5  SELECT [read] run -> error, 0.5 ms, SQLSTATE 42P01: boom" in out
    assert "    FROM items -- trailing" in out


def test_replay_of_a_tampered_trail_has_a_banner_naming_the_break(
    three: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, bad, _ = three
    assert replay_main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("!!! TRAIL TAMPERED: line 11: seq 10: the record was changed")
    assert "the first 10 records verify" in out.splitlines()[0]
    assert "SELECT * FROM yes!" in out


def test_replay_json_and_filters(trail_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statements = (
        *CAPTURED_STATEMENTS,
        Stmt("DELETE FROM items", refused=True, kind="write", command="DELETE"),
    )
    path = write_trail(trail_dir, statements)
    replay_main([str(path), "--format", "json", "--writes-only"])
    report = json.loads(capsys.readouterr().out)
    texts = [s["text"] for s in report["steps"] if s["kind"] in ("statement", "refused")]
    assert texts == ["DO $$ BEGIN PERFORM count(*) FROM items; END $$", "DELETE FROM items"]
    assert report["integrity"]["status"] == "intact"
    assert report["header"]["ticket"] == "OPS-9"
    replay_main([str(path), "--format", "json", "--grep", "nope|yes"])
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert [s["stmt"] for s in steps if s["kind"] == "statement"] == [5]
    assert steps[-1]["outcome"]["sqlstate"] == "42P01"


def test_replay_html_is_one_self_contained_escaped_page(
    three: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, bad, _ = three
    page = tmp_path / "session.html"
    replay_main([str(bad), "--format", "html", "-o", str(page)])
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<div class="banner">TRAIL TAMPERED' in text
    for external in ("src=", "<script", "http"):
        assert external not in text
    assert "&#x27;a,&quot;b&quot;&#x27;" in text
    assert '<span class="word">SELECT</span>' in text


def test_replay_paces_steps_by_their_timestamps(trail_dir: Path) -> None:
    import io

    path = write_trail(trail_dir, CAPTURED_STATEMENTS)
    session = replay.load(path)
    pauses: list[float] = []
    replay.render(session, session.steps, "text", io.StringIO(), speed=2.0, sleep=pauses.append)
    assert len(pauses) == len(session.steps) - 1
    # the test clock advances 1 ms per record; at speed 2 a step after two records waits 1 ms
    assert all(0 < p <= 0.01 for p in pauses)


def test_replay_rejects_a_bad_grep_and_speed(trail_dir: Path) -> None:
    path = write_trail(trail_dir, CAPTURED_STATEMENTS)
    with pytest.raises(UsageError, match="--grep"):
        replay_main([str(path), "--grep", "("])
    with pytest.raises(UsageError, match="--speed"):
        replay_main([str(path), "--speed", "0"])


# -- internal statements, meta records, reasons, break-glass ----------------------------


def rich_trail(directory: Path) -> Path:
    """A break-glass shell session as prodsql writes it: the posture query, a confirmed
    destructive statement, a mode switch, a reconnect."""
    from prodsql.trail import TrailWriter
    from unit.audit.trailkit import Clock

    w = TrailWriter.create(directory, session_id="bg000001", ticket=None, now=Clock())
    w.append(
        "session_start",
        {"ticket": None, "break_glass": True, "reason": "orders stuck", "incident": "INC-42"},
    )
    connected = {
        "backend_pid": 7,
        "server_session_id": "6b000000.7",
        "server_version": "15.18",
        "db_user": "dev",
        "session_user": "dev",
        "dbname": "shop",
        "superuser": False,
        "posture": {"pgaudit_log": "all", "classes": ["read", "write"]},
        "posture_ok": True,
    }
    w.append("connected", connected)
    posture = "SELECT current_setting('pgaudit.log')"
    tag = "prodsql:bg000001:seq=1"
    w.append(
        "statement",
        {
            "stmt": 1,
            "source": "internal",
            "purpose": "read the audit posture",
            "text": posture,
            "sent": f"/* {tag} */ {posture}",
            "tag": tag,
        },
    )
    w.append("outcome", {"stmt": 1, "status": "ok", "rows": 1, "duration_ms": 0.3})
    w.append("meta", {"command": "write", "args": "", "result": "ok", "mode": "write"})
    tag = "prodsql:bg000001:seq=2"
    w.append(
        "statement",
        {
            "stmt": 2,
            "source": "shell",
            "text": "DELETE FROM order_items",
            "sent": f"/* {tag} */ DELETE FROM order_items",
            "tag": tag,
            "classification": {"kind": "write", "command": "DELETE"},
            "decision": {"action": "confirm", "reasons": ["DELETE without a condition"]},
            "confirmed_by": "typed the table name",
        },
    )
    w.append("outcome", {"stmt": 2, "status": "ok", "rows": 9, "duration_ms": 1.5})
    w.append(
        "reconnect",
        {
            "previous_backend_pid": 7,
            "previous_server_session_id": "6b000000.7",
            "mode": "write",
            "credentials": "a new IAM token",
        },
    )
    w.append("connected", {**connected, "backend_pid": 8, "server_session_id": "6b000001.8"})
    w.close("completed", {"statements": 2})
    return w.path


def test_replay_text_labels_internal_steps_and_summarises_records(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rich_trail(trail_dir)
    assert replay_main([str(path), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "None" not in out
    assert "{" not in out  # no raw JSON
    assert "why:            BREAK-GLASS: orders stuck (incident INC-42)" in out
    assert "#1  internal: read the audit posture -> ok, 1 rows, 0.3 ms" in out
    assert (
        "#2  DELETE [write] confirm (DELETE without a condition), "
        "confirmed by typed the table name -> ok, 9 rows, 1.5 ms"
    ) in out
    assert "META  write (mode=write, result=ok)" in out
    assert (
        "CONNECTED  backend pid 7, server session 6b000000.7, as dev to shop, server 15.18" in out
    )
    assert "RECONNECT  the connection was re-established; previous backend pid 7" in out
    assert "(mode write, credentials a new IAM token)" in out


def test_writes_only_never_keeps_internal_statements(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rich_trail(trail_dir)
    replay_main([str(path), "--format", "json", "--writes-only"])
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert [s["stmt"] for s in steps if s["kind"] == "statement"] == [2]
    (delete,) = [s for s in steps if s["stmt"] == 2]
    assert delete["may_write"] is True
    assert delete["label"] == "#2"
    assert "DELETE without a condition" in delete["summary"]
    replay_main([str(path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    internal = next(s for s in report["steps"] if s["stmt"] == 1)
    assert internal["may_write"] is False
    assert internal["summary"].startswith("internal: read the audit posture")
    assert report["header"]["incident"] == "INC-42"
    assert [s["label"] for s in report["steps"]] == [
        "CONNECTED", "#1", "META", "#2", "RECONNECT", "CONNECTED",
    ]  # fmt: skip


def test_replay_html_shows_the_summaries(trail_dir: Path, tmp_path: Path) -> None:
    path = rich_trail(trail_dir)
    page = tmp_path / "s.html"
    replay_main([str(path), "--format", "html", "-o", str(page)])
    text = page.read_text(encoding="utf-8")
    assert "internal: read the audit posture" in text
    assert "BREAK-GLASS: orders stuck (incident INC-42)" in text
    assert "(DELETE without a condition)" in text
    assert "None" not in text


@pytest.mark.parametrize("fmt", ["text", "html", "json"])
def test_an_empty_or_headerless_trail_does_not_pretend_to_be_break_glass(
    fmt: str, trail_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodsql.trail import TrailWriter

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    w = TrailWriter.create(trail_dir, session_id="nohead01", ticket="OPS-1")
    w.append("meta", {"command": "q", "args": ""})
    for path in (empty, w.path):
        replay_main([str(path), "--format", fmt])
        out = capsys.readouterr().out
        assert "BREAK-GLASS" not in out
        if fmt != "json":
            assert "unknown: the trail has no session_start record" in out


# -- what the trail holds cannot drive the reviewer's terminal ----------------------------

ERASE_LINE = "\r\x1b[1A\x1b[2K"


def hostile_trail(directory: Path) -> Path:
    """A write-mode session whose texts and fields carry terminal controls: a statement
    that would erase itself, a reason that would clear the screen and fake a step, a
    bidi override; prodsql's BEGIN, a write, a rollback and a COMMIT with a warning."""
    from prodsql.trail import TrailWriter
    from unit.audit.trailkit import Clock

    w = TrailWriter.create(directory, session_id="evil0001", ticket="OPS-9", now=Clock())
    w.append(
        "session_start",
        {
            "ticket": "OPS-9",
            "break_glass": False,
            "reason": "fix\x1b[2J\n2026-01-01T00:00:00Z  #9  SELECT [read] run -> ok",
            "os_user": "eve\x9b31m",
            "host": "vm",
            "mode": "write",
        },
    )
    steps: list[tuple[str, dict[str, object] | None, dict[str, object]]] = [
        ("BEGIN", None, {}),
        (
            f"UPDATE items SET v = 'x' /* {ERASE_LINE} */\nWHERE id = 1",
            {"kind": "write", "command": "UPDATE"},
            {"rows": 1},
        ),
        ("SELECT\t1 -- \u202eevil", {"kind": "read", "command": "SELECT"}, {}),
        ("ROLLBACK", {"kind": "transaction", "command": "ROLLBACK"}, {}),
        (
            "COMMIT",
            {"kind": "transaction", "command": "COMMIT"},
            {
                "notices": [
                    {"severity": "WARNING", "message": "there is no transaction in progress"}
                ]
            },
        ),
    ]
    for n, (text, classification, outcome) in enumerate(steps, start=1):
        tag = f"prodsql:evil0001:seq={n}"
        record: dict[str, object] = {"stmt": n, "text": text, "sent": f"/* {tag} */ {text}"}
        if classification is None:
            record.update(source="internal", purpose="open the write transaction the user commits")
        else:
            record.update(source="shell", classification=classification)
            record["decision"] = {"action": "run", "reasons": []}
        w.append("statement", {**record, "tag": tag})
        w.append("outcome", {"stmt": n, "status": "ok", "duration_ms": 0.2, **outcome})
    w.append("meta", {"command": "echo", "args": "\x1b]0;owned\x07", "result": "ok"})
    w.close("completed", {"statements": len(steps)})
    return w.path


def raw_controls(text: str) -> list[str]:
    return [ch for ch in text if ch != "\n" and (ch < " " or "\x7f" <= ch <= "\x9f")]


@pytest.mark.parametrize("color", ["never", "always"])
def test_replay_text_shows_control_characters_escaped(
    trail_dir: Path, capsys: pytest.CaptureFixture[str], color: str
) -> None:
    import re

    path = hostile_trail(trail_dir)
    assert replay_main([str(path), "--color", color]) == 0
    out = capsys.readouterr().out
    assert raw_controls(re.sub(r"\x1b\[[0-9;]*m", "", out)) == []  # only replay's own colours
    if color == "never":
        assert "    UPDATE items SET v = 'x' /* \\r\\x1b[1A\\x1b[2K */\n    WHERE id = 1\n" in out
        assert "    SELECT  1 -- \\u202eevil\n" in out  # a tab as spaces, a bidi override shown
    assert "why:            ticket OPS-9 (fix\\x1b[2J\\n2026-01-01T00:00:00Z  #9" in out
    assert "eve\\x9b31m@vm" in out
    assert "echo \\x1b]0;owned\\x07" in out
    assert not any(line.startswith("2026-01-01T00:00:00Z  #9") for line in out.splitlines())


def test_replay_html_shows_control_characters_escaped(trail_dir: Path, tmp_path: Path) -> None:
    page = tmp_path / "s.html"
    replay_main([str(hostile_trail(trail_dir)), "--format", "html", "-o", str(page)])
    text = page.read_text(encoding="utf-8")
    assert raw_controls(text) == []
    assert "/* \\r\\x1b[1A\\x1b[2K */" in text
    assert "\u202e" not in text
    assert "WARNING: there is no transaction in progress" in text


def test_replay_json_keeps_the_trail_exact(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay_main([str(hostile_trail(trail_dir)), "--format", "json"])
    out = capsys.readouterr().out
    assert raw_controls(out) == []  # JSON escapes them, C1 included
    report = json.loads(out)
    update = next(s for s in report["steps"] if s["stmt"] == 2)
    assert ERASE_LINE in update["text"]
    assert report["header"]["os_user"] == "eve\x9b31m"


def test_writes_only_keeps_transaction_control_and_notices_are_shown(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_trail(trail_dir)
    replay_main([str(path), "--format", "json", "--writes-only"])
    steps = json.loads(capsys.readouterr().out)["steps"]
    kept = [s["text"].split()[0] for s in steps if s["kind"] == "statement"]
    assert kept == ["BEGIN", "UPDATE", "ROLLBACK", "COMMIT"]  # the rollback stays visible
    assert [s["may_write"] for s in steps if s["kind"] == "statement"] == [
        False, True, False, False,
    ]  # fmt: skip
    replay_main([str(path), "--color", "never", "--writes-only"])
    out = capsys.readouterr().out
    assert "#5  COMMIT [transaction] run -> ok, 0.2 ms; WARNING: there is no transaction in" in out
    assert "SELECT" not in out.split("\n\n", 1)[1]


def test_replay_says_a_transaction_was_open_at_the_end(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodsql.trail import TrailWriter
    from unit.audit.trailkit import Clock

    w = TrailWriter.create(trail_dir, session_id="ot000001", ticket="OPS-1", now=Clock())
    w.append("session_start", {"ticket": "OPS-1", "mode": "write", "reason": "fix"})
    lost = "rolled back by the server as the connection closed"
    w.close("terminated", {"statements": 0, "open_transaction": lost})
    assert replay_main([str(w.path)]) == 0
    out = capsys.readouterr().out
    assert f"(terminated); open transaction: {lost}" in out
    assert replay_main([str(w.path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["header"]["open_transaction"] == lost
