"""verify and replay on trails the real executable wrote against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodsql.audit.cli import replay_main, verify_main
from prodsql.sandbox import Sandbox
from support.cli import clean_env, run_prodsql, trail_files


@pytest.fixture
def trails(sandbox: Sandbox, tmp_path: Path) -> list[Path]:
    env = clean_env(tmp_path, {"PGPASSWORD": "dev-password"})
    base = ["--dsn", sandbox.conninfo("dev"), "--trail-dir", str(tmp_path / "t")]
    for ticket, sql in (("OPS-1", "SELECT 1 AS one"), ("OPS-2", "SELECT 'two'\n-- done")):
        run = run_prodsql(["--ticket", ticket, *base, "-c", sql], env)
        assert run.code == 0, run.output
    return trail_files(tmp_path / "t")


def test_verify_and_replay_intact_sessions(
    trails: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify_main([str(trails[0].parent)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 files: 2 ok"
    assert replay_main([str(trails[1]), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["header"]["ticket"] == "OPS-2"
    assert report["header"]["how"] == "completed"
    assert report["header"]["server_session_id"]
    assert "read" in report["header"]["audit_classes"]
    user = [
        s
        for s in report["steps"]
        if s["kind"] == "statement" and s["details"]["source"] != "internal"
    ]
    assert [s["text"] for s in user] == ["SELECT 'two'\n-- done"]
    assert user[0]["outcome"]["status"] == "ok"


def test_tampered_trail_fails_verify_and_replay_shows_the_break(
    trails: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = trails[0]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[-2]  # the user statement's outcome removed
    path.write_text("".join(lines), encoding="utf-8")
    assert verify_main([str(path.parent), "--json"]) == 1
    files = json.loads(capsys.readouterr().out)["files"]
    assert [f["status"] for f in files] == ["tampered", "intact"]
    assert replay_main([str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("!!! TRAIL TAMPERED: ")
    assert "SELECT 1 AS one" in out
