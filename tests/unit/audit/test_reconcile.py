"""Reconciling trails with the captured server log: every category, all formats."""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prodsql.audit.cli import reconcile_main
from prodsql.audit.logs import LogProblems, read_log_file
from prodsql.audit.reconcile import Category, Finding, Reconciler
from unit.audit.trailkit import CAPTURED_STATEMENTS, DATA, Stmt, write_trail

FILES = ("session.log", "session.csv", "session.json")


def reconcile(trails: list[Path], log: Path) -> tuple[Reconciler, list[Finding]]:
    rec = Reconciler()
    for trail in trails:
        rec.add_trail(trail)
    rec.feed(read_log_file(log, rec.problems))
    rec.finish()
    return rec, list(rec.findings())


def by_category(findings: list[Finding]) -> dict[Category, list[tuple[int | None, int | None]]]:
    result: dict[Category, list[tuple[int | None, int | None]]] = {c: [] for c in Category}
    for f in findings:
        result[f.category].append((f.stmt, f.statement_id))
    return result


@pytest.mark.parametrize("name", FILES)
def test_the_captured_session_lands_in_the_right_categories(name: str, trail_dir: Path) -> None:
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    rec, findings = reconcile([trail], DATA / name)
    got = by_category(findings)
    # seq 3 failed at run time (logged); seq 4 failed in the planner, seq 5 in analysis.
    assert got[Category.MATCHED] == [(1, 1), (2, 2), (3, 3), (6, 4), (7, 5)]
    assert got[Category.EXPECTED_ABSENT] == [(4, None), (5, None)]
    assert got[Category.MISSING_IN_TRAIL] == [(None, 6)]
    assert got[Category.MISSING_ON_SERVER] == []
    extra = next(f for f in findings if f.category is Category.MISSING_IN_TRAIL)
    assert extra.text == "SELECT 'untagged'"
    assert extra.session == "cafe0001"
    assert "no trail record explains it" in extra.why
    absent = next(f for f in findings if f.stmt == 5)
    assert "42P01" in absent.why
    assert rec.problems.count == 0
    assert not rec.untracked


def test_a_statement_the_server_never_logged_is_missing_on_server(trail_dir: Path) -> None:
    statements = (*CAPTURED_STATEMENTS, Stmt("SELECT 'a,\"b\"'"), Stmt("SELECT 9"))
    trail = write_trail(trail_dir, statements, classes=("ddl",))
    _, findings = reconcile([trail], DATA / "session.csv")
    missing = [f for f in findings if f.category is Category.MISSING_ON_SERVER]
    assert [f.stmt for f in missing] == [8, 9]
    assert "does not include READ" in missing[0].why
    assert "pgaudit.log for this session (ddl)" in missing[0].why


def test_refusals_and_rollbacks_of_aborted_transactions_are_expected_absent(
    trail_dir: Path,
) -> None:
    statements = (
        *CAPTURED_STATEMENTS,
        Stmt("DELETE FROM items", refused=True, kind="write", command="DELETE"),
        Stmt("SELECT 1/0", status="error", sqlstate="22012", txn_status="failed"),
        Stmt("ROLLBACK", kind="transaction", command="ROLLBACK"),
        Stmt("SELECT pg_sleep(10)", status="cancelled", sqlstate="57014"),
        Stmt("SELECT 'crashed'", outcome=False),
    )
    trail = write_trail(trail_dir, statements, close=False)
    _, findings = reconcile([trail], DATA / "session.json")
    absent = {f.stmt: f.why for f in findings if f.category is Category.EXPECTED_ABSENT}
    assert sorted(k for k in absent if k is not None) == [4, 5, 8, 9, 10, 11, 12]
    assert absent[8].startswith("refused by policy: never sent")
    assert "aborted transaction" in absent[10]
    assert absent[11].startswith("cancelled")
    assert absent[12].startswith("no outcome recorded")


def test_a_tag_the_trail_does_not_have_is_missing_in_trail(trail_dir: Path) -> None:
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS[:5])
    _, findings = reconcile([trail], DATA / "session.log")
    extras = [f for f in findings if f.category is Category.MISSING_IN_TRAIL]
    extras.sort(key=lambda f: f.statement_id or 0)
    assert [(f.stmt, f.statement_id) for f in extras] == [(6, 4), (7, 5), (None, 6)]
    assert "seq=6, which the trail does not record" in extras[0].why


def test_a_session_without_a_trail_is_untracked(trail_dir: Path) -> None:
    rec, findings = reconcile([], DATA / "session.csv")
    assert findings == []
    (untracked,) = rec.untracked.values()
    assert untracked.application_name == "prodsql:OPS-9:root:cafe0001"
    assert untracked.audit_lines == 7


def test_another_connection_with_the_sessions_application_name(trail_dir: Path) -> None:
    # The trail says prodsql's connection was another one: everything in the log is foreign.
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS, server_id="6b000000.1", pid=1)
    _, findings = reconcile([trail], DATA / "session.csv")
    extras = [f for f in findings if f.category is Category.MISSING_IN_TRAIL]
    assert {f.statement_id for f in extras} == {1, 2, 3, 4, 5, 6}
    assert any("another connection" in f.why for f in extras)
    assert any("ran on a connection the trail does not show" in f.why for f in extras)


def test_untagged_lines_match_by_text_and_time(trail_dir: Path, tmp_path: Path) -> None:
    lines = (DATA / "session.log").read_text(encoding="utf-8")
    stripped = tmp_path / "untagged.log"
    stripped.write_text(lines.replace("/* prodsql:cafe0001:seq=1 */ ", ""), encoding="utf-8")
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    _, findings = reconcile([trail], stripped)
    first = next(f for f in findings if f.stmt == 1)
    assert first.category is Category.MATCHED
    assert "text and time" in first.why


def test_cli_json_has_the_documented_keys_and_exit_codes(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    code = reconcile_main(
        ["--trail", str(trail_dir), "--server-log", str(DATA / "session.csv"), "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    for key in (
        "matched",
        "missing_on_server",
        "missing_in_trail",
        "expected_absent",
        "untracked_sessions",
    ):
        assert key in report
    assert len(report["matched"]) == 5
    assert report["matched"][0]["session"] == "cafe0001"
    assert report["missing_in_trail"][0]["text"] == "SELECT 'untagged'"
    assert report["summary"]["audit_lines"] == 7
    assert report["sessions"][0]["trail"] == str(trail)


def test_cli_exits_0_when_nothing_is_missing(
    trail_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_trail(trail_dir, CAPTURED_STATEMENTS)
    log = tmp_path / "clean.csv"
    text = (DATA / "session.csv").read_text(encoding="utf-8")
    log.write_text(
        "".join(x for x in text.splitlines(True) if "'untagged'" not in x), encoding="utf-8"
    )
    code = reconcile_main(["--trail", str(trail_dir), "--server-log", str(log)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "matched 5, missing on server 0, missing in trail 0, expected absent 2" in out


def test_cli_reports_malformed_lines_and_exit_2_on_unreadable_input(
    trail_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodsql.audit.logs import LogReadError

    write_trail(trail_dir, CAPTURED_STATEMENTS)
    log = tmp_path / "noisy.log"
    log.write_text("noise\n" + (DATA / "session.log").read_text(encoding="utf-8"), encoding="utf-8")
    reconcile_main(["--trail", str(trail_dir), "--server-log", str(log), "--log-format", "stderr"])
    assert "malformed log lines: 1 (skipped)" in capsys.readouterr().out
    with pytest.raises(LogReadError) as caught:
        reconcile_main(["--trail", str(trail_dir), "--server-log", str(tmp_path / "nope.log")])
    assert caught.value.exit_code == 2


def test_problems_are_shared_across_sources() -> None:
    problems = LogProblems()
    list(read_log_file(DATA / "session.csv", problems))
    assert problems.count == 0


def test_no_verify_skips_the_chain_and_says_so(
    trail_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    trail.write_text(trail.read_text(encoding="utf-8").replace("SELECT 1", "SELECT 2", 1))
    args = ["--trail", str(trail), "--server-log", str(DATA / "session.csv"), "--json"]
    reconcile_main(args)
    assert json.loads(capsys.readouterr().out)["sessions"][0]["integrity"] == "tampered"
    reconcile_main([*args, "--no-verify"])
    assert json.loads(capsys.readouterr().out)["sessions"][0]["integrity"] == "not checked"


def _mixed_trail(trail_dir: Path, sid: str = "cafe0002") -> Path:
    statements = (
        *CAPTURED_STATEMENTS,
        Stmt("DELETE FROM items", refused=True, kind="write", command="DELETE"),
        Stmt("SELECT 1/0", status="error", sqlstate="22012", txn_status="failed"),
        Stmt("ROLLBACK", kind="transaction", command="ROLLBACK"),
        Stmt("SELECT 'crashed'", outcome=False),
    )
    return write_trail(trail_dir, statements, sid=sid, server_id=None, pid=1, close=False)


def test_scan_expected_agrees_with_scan_trail(trail_dir: Path) -> None:
    from prodsql.audit.trails import TrailInfo, scan_expected, scan_trail

    trail = _mixed_trail(trail_dir)
    full = [(st.stmt, st.may_be_absent is not None) for st in scan_trail(trail, TrailInfo(trail))]
    assert list(scan_expected(trail, TrailInfo(trail))) == full
    assert {absent for _, absent in full} == {True, False}


def test_add_trails_verifies_in_the_background_as_add_trail_does(
    trail_dir: Path, tmp_path: Path
) -> None:
    intact = write_trail(trail_dir, CAPTURED_STATEMENTS)
    other = tmp_path / "other"
    other.mkdir()
    tampered = _mixed_trail(other)
    tampered.write_text(tampered.read_text(encoding="utf-8").replace("SELECT 1", "SELECT 2", 1))
    paths = [intact, tampered]
    results = []
    for parallel in (False, True):
        rec = Reconciler()
        if parallel:
            rec.add_trails(paths)
        else:
            for path in paths:
                rec.add_trail(path)
        rec.feed(read_log_file(DATA / "session.csv", rec.problems))
        rec.finish()
        states = [(t.integrity, t.integrity_problem) for t in rec.trails.values()]
        results.append((states, list(rec.findings())))
    assert results[0] == results[1]
    assert [s for s, _ in results[1][0]] == ["intact", "tampered"]


def _three_trails(trail_dir: Path, tmp_path: Path) -> list[Path]:
    """The captured session (intact), a bigger one of its own, and a small tampered one."""
    intact = write_trail(trail_dir, CAPTURED_STATEMENTS)
    bigger = tmp_path / "bigger"
    bigger.mkdir()
    big = write_trail(bigger, [*CAPTURED_STATEMENTS] * 4, sid="cafe0003", server_id=None, pid=2)
    small = tmp_path / "small"
    small.mkdir()
    tampered = _mixed_trail(small)
    tampered.write_text(tampered.read_text(encoding="utf-8").replace("SELECT 1", "SELECT 2", 1))
    return [intact, big, tampered]


def _outcome(rec: Reconciler) -> tuple[object, ...]:
    rec.feed(read_log_file(DATA / "session.csv", rec.problems))
    rec.finish()
    states = [(sid, t.integrity, t.integrity_problem) for sid, t in rec.trails.items()]
    return states, list(rec.findings()), dict(rec.untracked), rec.problems


def test_add_trails_verifies_a_share_while_the_log_is_read(trail_dir: Path, tmp_path: Path) -> None:
    from prodsql.audit.reconcile import _verify_later

    paths = _three_trails(trail_dir, tmp_path)
    assert _verify_later(paths, 10**9) == {2}  # the last, up to half the bytes
    assert _verify_later(paths, 0) == set()
    one_by_one = Reconciler()
    for path in paths:
        one_by_one.add_trail(path)
    overlapped = Reconciler()
    overlapped.add_trails(paths, log_bytes=10**9)
    assert [[s.integrity for s in states] for states, _ in overlapped._verifying] == [
        ["not checked"]
    ]
    assert _outcome(overlapped) == _outcome(one_by_one)
    assert not overlapped._verifying
    assert [t.integrity for t in overlapped.trails.values()] == ["intact", "intact", "tampered"]


def test_add_trails_without_verifying_reads_in_the_background_as_add_trail_does(
    trail_dir: Path, tmp_path: Path
) -> None:
    paths = _three_trails(trail_dir, tmp_path)
    one_by_one = Reconciler()
    for path in paths:
        one_by_one.add_trail(path, verify=False)
    background = Reconciler()
    background.add_trails(paths, verify=False)
    assert _outcome(background) == _outcome(one_by_one)
    assert {t.integrity for t in background.trails.values()} == {"not checked"}


def test_add_trails_names_the_first_unreadable_trail_whichever_is_verified_later(
    trail_dir: Path, tmp_path: Path
) -> None:
    from prodsql.errors import TrailFormatError

    paths = _three_trails(trail_dir, tmp_path)
    for path in (paths[0], paths[2]):
        path.write_text("not json\n", encoding="utf-8")
    for log_bytes in (0, 10**9):
        with pytest.raises(TrailFormatError, match=str(paths[0])):
            Reconciler().add_trails(paths, log_bytes=log_bytes)
    with pytest.raises(TrailFormatError, match=str(paths[0])):
        Reconciler().add_trails(paths, verify=False)


def test_the_text_report_counts_what_the_findings_say(
    trail_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodsql.audit.report import Tally, write_text

    # Without the untagged line, a trail of the first three statements matches in full.
    lines = (DATA / "session.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    log = tmp_path / "tagged.csv"
    log.write_text("".join(x for x in lines if "untagged" not in x), encoding="utf-8")
    paths = _three_trails(trail_dir, tmp_path)
    paths[0].unlink()
    paths[0] = write_trail(trail_dir, CAPTURED_STATEMENTS[:3])
    rec = Reconciler()
    rec.add_trails(paths)
    rec.feed(read_log_file(log, rec.problems))
    rec.finish()
    assert [rec.matched_count(sid) for sid in rec.trails] == [3, None, None]
    expected = Tally()
    for finding in rec.findings():
        expected.take(finding)
    got = write_text(rec, sys.stdout)
    assert got.counts == expected.counts
    assert got.exceptions == expected.exceptions
    assert "matched 3, missing on server 0" in capsys.readouterr().out


# -- the text pgAudit logged under a tag is the text the trail says was sent ------------


def reseal(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit every record with ``edit`` and recompute the hash chain, as a trail's author
    can (docs/trail-format.md: canonical bytes, prev, hash)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    prev = "0" * 64
    lines = []
    for record in records:
        edit(record)
        record["prev"] = prev
        if record["kind"] == "session_end":
            record["final_hash"] = prev
        body = {k: v for k, v in record.items() if k not in ("hash", "hmac")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        record["hash"] = prev = hashlib.sha256(canonical.encode()).hexdigest()
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def rewrite(
    stmt: int, old: str, new: str, *, sent: bool = True
) -> Callable[[dict[str, Any]], None]:
    def edit(record: dict[str, Any]) -> None:
        if record.get("stmt") == stmt and record["kind"] == "statement":
            record["text"] = record["text"].replace(old, new)
            if sent:
                record["sent"] = record["sent"].replace(old, new)

    return edit


def clean_log(tmp_path: Path, name: str) -> Path:
    """The captured log without its untagged line: the captured trail matches it in full."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines(keepends=True)
    log = tmp_path / f"clean-{name}"
    log.write_text("".join(x for x in lines if "'untagged'" not in x), encoding="utf-8")
    return log


@pytest.mark.parametrize("name", FILES)
def test_a_resealed_forgery_of_a_statements_text_is_a_text_mismatch(
    name: str, trail_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodsql.trail import VerifyStatus, verify_file

    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    log = clean_log(tmp_path, name)
    # the runtime failure's text, made to look harmless; the chain is resealed
    reseal(trail, rewrite(3, "SELECT id/0 FROM items", "SELECT id/0 FROM items WHERE id = 1"))
    assert verify_file(trail).status is VerifyStatus.INTACT
    _, findings = reconcile([trail], log)
    (forged,) = [f for f in findings if f.category is Category.TEXT_MISMATCH]
    assert (forged.session, forged.stmt, forged.statement_id) == ("cafe0001", 3, 3)
    assert forged.text == "SELECT id/0 FROM items WHERE id = 1"
    assert forged.trail_text == "/* prodsql:cafe0001:seq=3 */ SELECT id/0 FROM items WHERE id = 1"
    assert forged.server_text == "/* prodsql:cafe0001:seq=3 */ SELECT id/0 FROM items"
    assert "pgAudit logged other text" in forged.why
    assert str(forged.where).startswith(str(log))
    assert 3 not in [f.stmt for f in findings if f.category is Category.MATCHED]
    code = reconcile_main(["--trail", str(trail), "--server-log", str(log), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (entry,) = report["text_mismatch"]
    assert entry["session"] == "cafe0001"
    assert entry["stmt"] == 3
    assert entry["server_text"] == forged.server_text
    assert entry["trail_text"] == forged.trail_text
    assert report["summary"]["text_mismatch"] == 1
    assert len(report["matched"]) == 4
    assert reconcile_main(["--trail", str(trail), "--server-log", str(log)]) == 1
    out = capsys.readouterr().out
    assert "TEXT MISMATCH      stmt 3" in out
    assert "| /* prodsql:cafe0001:seq=3 */ SELECT id/0 FROM items WHERE id = 1\n" in out
    assert "| /* prodsql:cafe0001:seq=3 */ SELECT id/0 FROM items\n" in out
    assert "text mismatch 1" in out


def test_a_forged_multi_line_statement_is_compared_whole(trail_dir: Path, tmp_path: Path) -> None:
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    reseal(trail, rewrite(2, "-- trailing", "WHERE id = 1 -- trailing"))
    _, findings = reconcile([trail], clean_log(tmp_path, "session.log"))
    assert [f.stmt for f in findings if f.category is Category.TEXT_MISMATCH] == [2]


def test_a_text_that_is_not_what_the_trail_says_was_sent_is_a_text_mismatch(
    trail_dir: Path, tmp_path: Path
) -> None:
    # Only ``text`` (what replay shows) rewritten; ``sent`` still agrees with the server.
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    reseal(trail, rewrite(1, "SELECT 1", "SELECT 2", sent=False))
    _, findings = reconcile([trail], clean_log(tmp_path, "session.csv"))
    (forged,) = [f for f in findings if f.category is Category.TEXT_MISMATCH]
    assert forged.stmt == 1
    assert forged.text == "SELECT 2"
    assert "is not the text it records as sent" in forged.why


def test_a_statement_the_trail_calls_refused_but_the_server_ran_is_missing_in_trail(
    trail_dir: Path, tmp_path: Path
) -> None:
    statements = list(CAPTURED_STATEMENTS)
    statements[6] = Stmt(statements[6].text, refused=True)
    trail = write_trail(trail_dir, statements)
    _, findings = reconcile([trail], clean_log(tmp_path, "session.json"))
    extras = [f for f in findings if f.category is Category.MISSING_IN_TRAIL]
    assert [(f.stmt, f.statement_id) for f in extras] == [(7, 5)]
    assert "records as refused (never sent)" in extras[0].why
    assert [f.stmt for f in findings if f.category is Category.MATCHED] == [1, 2, 3, 6]


def test_line_ends_do_not_make_a_mismatch_but_everything_else_does() -> None:
    from prodsql.audit.trails import text_digest

    assert text_digest("SELECT 1,\r\n2") == text_digest("SELECT 1,\n2")
    assert text_digest("SELECT 1,\r2") == text_digest("SELECT 1,\n2")
    for other in ("SELECT 1, 2", "SELECT 1,\n2 ", "select 1,\n2", "SELECT 1,\n\t2"):
        assert text_digest(other) != text_digest("SELECT 1,\n2")


STDERR_HEAD = 5  # the captured stderr log up to its connection authorized line


@pytest.mark.parametrize("text", ["SELECT 1,\r\n  2", "SELECT 1,\r  2", "SELECT '\t',\n\t2"])
def test_statements_with_carriage_returns_and_tabs_match_in_a_stderr_log(
    text: str, trail_dir: Path, tmp_path: Path
) -> None:
    trail = write_trail(trail_dir, [Stmt(text)])
    head = (DATA / "session.log").read_text(encoding="utf-8").splitlines(keepends=True)
    prefix = head[STDERR_HEAD - 1].split("LOG:  ")[0]
    sent = f"/* prodsql:cafe0001:seq=1 */ {text}"
    # pgAudit quotes a field with CR or LF; the server puts a TAB after each LF
    logged = '"' + sent.replace("\n", "\n\t") + '"'
    line = f"{prefix}LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,{logged},<not logged>\n"
    log = tmp_path / "cr.log"
    log.write_bytes(("".join(head[:STDERR_HEAD]) + line).encode())
    rec, findings = reconcile([trail], log)
    assert [(f.category, f.stmt) for f in findings] == [(Category.MATCHED, 1)]
    assert rec.problems.count == 0


# -- logs that cannot be read -----------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_a_garbage_line_before_a_log_does_not_change_its_format(
    name: str, trail_dir: Path, tmp_path: Path
) -> None:
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    log = tmp_path / f"noisy-{name}"
    log.write_text("garbage\n{not json\n\n" + (DATA / name).read_text(encoding="utf-8"))
    rec, findings = reconcile([trail], log)
    assert rec.audit_lines == 7
    assert rec.problems.count == 2
    assert len([f for f in findings if f.category is Category.MATCHED]) == 5


@pytest.mark.parametrize(
    ("content", "args"),
    [
        ("no log here\nat all\n", []),
        ((DATA / "session.log").read_text(encoding="utf-8"), ["--log-line-prefix", "%m [%p] "]),
        ((DATA / "session.csv").read_text(encoding="utf-8"), ["--log-format", "jsonlog"]),
    ],
    ids=["garbage", "wrong-prefix", "wrong-format"],
)
def test_a_log_without_one_readable_record_is_an_input_error(
    content: str, args: list[str], trail_dir: Path, tmp_path: Path
) -> None:
    from prodsql.audit.logs import LogReadError

    write_trail(trail_dir, CAPTURED_STATEMENTS)
    log = tmp_path / "bad.log"
    log.write_text(content, encoding="utf-8")
    with pytest.raises(LogReadError) as caught:
        reconcile_main(["--trail", str(trail_dir), "--server-log", str(log), *args])
    assert caught.value.exit_code == 2
    assert f"no readable log record in {log}" in str(caught.value)
    assert "--log-format" in caught.value.diagnostics()
    assert "--log-line-prefix" in caught.value.diagnostics()


@pytest.mark.parametrize("packed", [False, True])
def test_an_empty_log_while_the_trail_says_statements_ran_is_an_input_error(
    packed: bool, trail_dir: Path, tmp_path: Path
) -> None:
    from prodsql.audit.logs import LogReadError

    write_trail(trail_dir, CAPTURED_STATEMENTS)
    log = tmp_path / ("empty.log.gz" if packed else "empty.log")
    log.write_bytes(gzip.compress(b"") if packed else b"")
    with pytest.raises(LogReadError, match="the server log is empty") as caught:
        reconcile_main(["--trail", str(trail_dir), "--server-log", str(log)])
    assert caught.value.exit_code == 2


def test_an_empty_log_is_skipped_next_to_a_readable_one_and_fine_when_nothing_ran(
    trail_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trail = write_trail(trail_dir, CAPTURED_STATEMENTS)
    empty = tmp_path / "quiet-hour.log"
    empty.write_bytes(b"")
    args = [
        "--trail",
        str(trail),
        "--server-log",
        str(empty),
        str(clean_log(tmp_path, "session.csv")),
    ]
    assert reconcile_main(args) == 0
    captured = capsys.readouterr()
    assert f"{empty} is empty; skipped" in captured.err
    assert "matched 5" in captured.out
    refused = tmp_path / "refused"
    refused.mkdir()
    write_trail(refused, [Stmt("DELETE FROM items", refused=True, kind="write")])
    assert reconcile_main(["--trail", str(refused), "--server-log", str(empty)]) == 0


# -- untracked sessions name their session and text ------------------------------------


def test_an_untracked_session_names_its_session_and_first_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec, _ = reconcile([], DATA / "session.csv")
    (untracked,) = rec.untracked.values()
    entry = untracked.as_json()
    assert entry["session"] == "cafe0001"
    assert entry["stmt"] is None
    assert entry["text"] == "/* prodsql:cafe0001:seq=1 */ SELECT 1"
    assert "no given trail covers it" in str(entry["why"])
    other = tmp_path / "other"
    other.mkdir()
    write_trail(other, [Stmt("SELECT 1")], sid="beef0001", server_id="6b000000.1", pid=1)
    reconcile_main(["--trail", str(other), "--server-log", str(DATA / "session.csv"), "--json"])
    (entry,) = json.loads(capsys.readouterr().out)["untracked_sessions"]
    assert (entry["session"], entry["stmt"]) == ("cafe0001", None)


# -- --since / --until on files -----------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "until", "matched"),
    [
        (None, None, 5),
        ("2026-11-26T18:29:28Z", "2026-11-26T18:29:28Z", 5),
        ("2026-11-26T18:29:28.900Z", None, 5),  # the log's %t is cut to the second
        ("2026-11-26T18:29:29Z", None, 0),
        (None, "2026-11-26T18:29:27Z", 0),
        ("2026-11-26T19:29:00+01:00", "1795717800", 5),
    ],
)
@pytest.mark.parametrize("name", FILES)
def test_since_and_until_filter_the_records_of_log_files(
    name: str,
    since: str | None,
    until: str | None,
    matched: int,
    trail_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_trail(trail_dir, CAPTURED_STATEMENTS)
    args = ["--trail", str(trail_dir), "--server-log", str(clean_log(tmp_path, name)), "--json"]
    args += ["--since", since] if since else []
    args += ["--until", until] if until else []
    code = reconcile_main(args)
    report = json.loads(capsys.readouterr().out)
    assert len(report["matched"]) == matched
    # without its line, seq 3 (failed at run time) is expected_absent, not missing
    assert len(report["missing_on_server"]) == (0 if matched else 4)
    assert code == (0 if matched == 5 else 1)


def test_since_after_until_is_a_usage_error(trail_dir: Path) -> None:
    from prodsql.errors import UsageError

    write_trail(trail_dir, CAPTURED_STATEMENTS)
    window = ["--since", "2026-11-27", "--until", "2026-11-26"]
    with pytest.raises(UsageError, match="--since is later than --until"):
        reconcile_main(
            ["--trail", str(trail_dir), "--server-log", str(DATA / "session.csv"), *window]
        )
