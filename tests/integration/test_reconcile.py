"""Real prodsql sessions on the sandbox, reconciled with the server's own pgAudit logs."""

from __future__ import annotations

import gzip
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from prodsql.audit.cli import reconcile_main
from prodsql.sandbox import Sandbox
from support.cli import clean_env, read_trail, run_prodsql, trail_files

LogKinds = ("stderr", "csv", "json")
RoleFactory = Callable[..., Any]


@pytest.fixture(scope="module")
def items(sandbox: Sandbox) -> str:
    sandbox.admin_execute(
        "DROP TABLE IF EXISTS public.rc_items; "
        "CREATE TABLE public.rc_items (id int PRIMARY KEY, v text); "
        "INSERT INTO public.rc_items SELECT g, 'item' || g FROM generate_series(1, 5) g; "
        "GRANT SELECT ON public.rc_items TO PUBLIC; ALTER TABLE public.rc_items OWNER TO dev"
    )
    return "public.rc_items"


class LogSlice:
    """The server's log files from now on: what this test's sessions wrote."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.start = {kind: self._sizes(kind) for kind in LogKinds}

    def _sizes(self, kind: str) -> dict[Path, int]:
        return {p: p.stat().st_size for p in self.sandbox.log_files(kind)}  # type: ignore[arg-type]

    def write(self, kind: str, dest: Path, needle: str, *, compress: bool = False) -> Path:
        self.sandbox.wait_for_log(needle, kind=kind)  # type: ignore[arg-type]
        data = b""
        for path in self.sandbox.log_files(kind):  # type: ignore[arg-type]
            with path.open("rb") as f:
                f.seek(self.start[kind].get(path, 0))
                data += f.read()
        dest.write_bytes(gzip.compress(data) if compress else data)
        return dest


def prodsql(sandbox: Sandbox, env: dict[str, str], trail_dir: Path, *args: str) -> Any:
    base = ["--ticket", "OPS-77", "--dsn", sandbox.conninfo("dev"), "--trail-dir", str(trail_dir)]
    return run_prodsql([*base, *args], env)


def reconcile(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    # In-process: the statement path above is the real executable; reconcile reads files.
    capsys.readouterr()
    code = reconcile_main(["--json", *args])
    return code, json.loads(capsys.readouterr().out)


def keyed(report: dict[str, Any], category: str) -> list[tuple[str, int | None]]:
    return sorted((e["session"], e["stmt"]) for e in report[category])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, {"PGPASSWORD": "dev-password"})


def test_sessions_reconcile_with_all_three_log_formats(
    sandbox: Sandbox,
    items: str,
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs = LogSlice(sandbox)
    trails = tmp_path / "trails"
    m = secrets.token_hex(4)
    runs = [
        prodsql(
            sandbox,
            env,
            trails,
            "-c",
            f"SELECT '{m}' AS m",
            "-c",
            f"SELECT id,\n  v\nFROM {items}\nWHERE id < 3 -- a trailing comment",
            "-c",
            f"SELECT id / (id - 1) FROM {items}",  # fails at run time: logged
        ),
        prodsql(sandbox, env, trails, "-c", "SELECT 1/0"),  # fails in the planner
        prodsql(sandbox, env, trails, "-c", "SELECT * FROM rc_no_such_table"),
        prodsql(sandbox, env, trails, "-c", f"DELETE FROM {items}"),  # refused: read-only
    ]
    assert [r.code for r in runs] == [1, 1, 1, 5], [r.stderr for r in runs]
    sids = [str(read_trail(p)[0]["sid"]) for p in trail_files(trails)]
    last = f"/* prodsql:{sids[0]}:seq="
    for kind, name in (("stderr", "x.log"), ("csv", "x.csv"), ("json", "x.json.gz")):
        log = logs.write(kind, tmp_path / name, last, compress=name.endswith(".gz"))
        code, report = reconcile(capsys, "--trail", str(trails), "--server-log", str(log))
        assert report["missing_on_server"] == [], kind
        assert report["missing_in_trail"] == [], kind
        # every tagged line's text is the text the trail says was sent
        assert report["text_mismatch"] == [], kind
        assert report["summary"]["malformed_lines"] == 0, kind
        ours = {e["session"] for e in report["untracked_sessions"]} & set(sids)
        assert not ours
        for entry in report["untracked_sessions"]:
            assert {"session", "stmt", "text", "why"} <= set(entry), kind
        matched = report["matched"]
        texts = [e["text"] for e in matched]
        assert any(t.endswith("-- a trailing comment") for t in texts), kind
        assert any(t.startswith("SELECT id / (id - 1)") for t in texts), kind
        absent = {e["text"]: e["why"] for e in report["expected_absent"]}
        assert set(absent) == {
            "SELECT 1/0",
            "SELECT * FROM rc_no_such_table",
            f"DELETE FROM {items}",
        }
        assert "22012" in absent["SELECT 1/0"]
        assert "42P01" in absent["SELECT * FROM rc_no_such_table"]
        assert absent[f"DELETE FROM {items}"].startswith("refused by policy")
        # each session's posture query and its statements, and nothing else
        assert len(matched) == 4 + 1 + 1 + 1 + 0
        assert code == (1 if report["untracked_sessions"] else 0)


def test_a_statement_outside_prodsql_with_the_sessions_application_name(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = LogSlice(sandbox)
    trails = tmp_path / "trails"
    assert prodsql(sandbox, env, trails, "-c", "SELECT 1").code == 0
    (path,) = trail_files(trails)
    app = str(read_trail(path)[0]["application_name"])
    sneaky = f"SELECT 'sneaky-{secrets.token_hex(3)}'"
    conninfo = sandbox.conninfo("dev", password="dev-password") + f" application_name={app}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sneaky)
    log = logs.write("csv", tmp_path / "x.csv", sneaky)
    code, report = reconcile(capsys, "--trail", str(path), "--server-log", str(log))
    assert code == 1
    (extra,) = report["missing_in_trail"]
    assert extra["text"] == sneaky
    assert extra["session"] == read_trail(path)[0]["sid"]
    assert "another connection" in extra["why"]


def test_a_role_without_read_auditing_leaves_its_selects_missing_on_server(
    sandbox: Sandbox,
    fresh_role: RoleFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = fresh_role(pgaudit_log="write, ddl")
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[targets.weakread]\nhost = "{sandbox.host}"\nport = {sandbox.port}\n'
        f'dbname = "postgres"\nuser = "{role.name}"\nrequired_audit = ["write"]\n'
    )
    env = clean_env(tmp_path, {"PGPASSWORD": str(role.password)})
    logs = LogSlice(sandbox)
    trails = tmp_path / "trails"
    run = run_prodsql(
        [
            "--config",
            str(cfg),
            "--target",
            "weakread",
            "--ticket",
            "OPS-5",
            "--trail-dir",
            str(trails),
            "-c",
            "SELECT 42",
            "--write",
            "-c",
            "CREATE TEMP TABLE rc_t (x int)",
        ],
        env,
    )
    assert run.code == 0, run.output
    (path,) = trail_files(trails)
    log = logs.write("json", tmp_path / "x.json", "CREATE TEMP TABLE rc_t")
    code, report = reconcile(capsys, "--trail", str(path), "--server-log", str(log))
    assert code == 1
    missing = {e["text"]: e["why"] for e in report["missing_on_server"]}
    assert "SELECT 42" in missing
    assert "does not include READ" in missing["SELECT 42"]
    assert any(e["text"] == "CREATE TEMP TABLE rc_t (x int)" for e in report["matched"])
    # prodsql's own posture query is a READ too, and said so (it used to be "MISC").
    posture = [why for text, why in missing.items() if "pgaudit.log" in text]
    assert posture
    assert all("does not include READ" in why for why in posture)


def test_a_resealed_trail_that_hides_what_ran_is_a_text_mismatch(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodsql.trail import VerifyStatus, verify_file
    from unit.audit.test_reconcile import reseal, rewrite

    logs = LogSlice(sandbox)
    trails = tmp_path / "trails"
    table = f"rc_f_{secrets.token_hex(3)}"
    run = prodsql(
        sandbox,
        env,
        trails,
        "--write",
        "--allow-destructive",
        "-c",
        f"CREATE TEMP TABLE {table} (id int)",
        "-c",
        f"DELETE FROM {table}",
    )
    assert run.code == 0, run.output
    (path,) = trail_files(trails)
    stmt = next(r["stmt"] for r in read_trail(path) if r.get("text") == f"DELETE FROM {table}")
    reseal(path, rewrite(stmt, f"DELETE FROM {table}", f"DELETE FROM {table} WHERE id = 1"))
    assert verify_file(path).status is VerifyStatus.INTACT
    for kind, name in (("stderr", "x.log"), ("csv", "x.csv"), ("json", "x.json")):
        log = logs.write(kind, tmp_path / name, f"DELETE FROM {table}")
        code, report = reconcile(capsys, "--trail", str(path), "--server-log", str(log))
        assert code == 1, kind
        (entry,) = report["text_mismatch"]
        assert entry["stmt"] == stmt
        assert entry["server_text"].endswith(f"*/ DELETE FROM {table}")
        assert entry["trail_text"].endswith(f"*/ DELETE FROM {table} WHERE id = 1")


@pytest.fixture(scope="module")
def latin1_db(sandbox: Sandbox) -> str:
    """A database in LATIN1, with pgAudit, owned by dev."""
    db = f"rc_latin1_{secrets.token_hex(3)}"
    sandbox.admin_execute(
        f"CREATE DATABASE {db} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
        "TEMPLATE template0 OWNER dev"
    )
    sandbox.admin_execute("CREATE EXTENSION pgaudit", dbname=db)
    return db


def in_latin1(
    sandbox: Sandbox, db: str, env: dict[str, str], tmp_path: Path, sql: str
) -> tuple[Any, Path]:
    """Run ``sql`` through prodsql in the LATIN1 database; the run and its trail."""
    base = ["--ticket", "OPS-78", "--dsn", sandbox.conninfo("dev", dbname=db)]
    run = run_prodsql([*base, "--trail-dir", str(tmp_path / "trails"), "-c", sql], env)
    assert run.code == 0, run.output
    (path,) = trail_files(tmp_path / "trails")
    return run, path


def test_a_database_in_latin1_reconciles_its_non_ascii_statements(
    sandbox: Sandbox,
    latin1_db: str,
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # pgAudit's lines carry the statement in the database's encoding: LATIN1 bytes, not
    # UTF-8, in all three formats. The trail names the encoding; reconcile decodes with it.
    logs = LogSlice(sandbox)
    m = secrets.token_hex(4)
    run, path = in_latin1(sandbox, latin1_db, env, tmp_path, f"SELECT 'café crème {m}' AS drink")
    assert "café crème" in run.stdout
    [connected] = [r for r in read_trail(path) if r["kind"] == "connected"]
    assert connected["server_encoding"] == "LATIN1"
    for kind, name in (("stderr", "x.log"), ("csv", "x.csv"), ("json", "x.json")):
        log = logs.write(kind, tmp_path / name, m)
        assert "café".encode("latin-1") in log.read_bytes(), kind  # really not UTF-8
        code, report = reconcile(capsys, "--trail", str(path), "--server-log", str(log))
        assert report["text_mismatch"] == [], kind
        assert report["missing_on_server"] == [], kind
        assert report["missing_in_trail"] == [], kind
        assert any(f"café crème {m}" in e["text"] for e in report["matched"]), kind
        assert code == (1 if report["untracked_sessions"] else 0), kind
        capsys.readouterr()
        text_code = reconcile_main(["--trail", str(path), "--server-log", str(log)])
        out = capsys.readouterr().out
        assert text_code == code, kind
        assert "text mismatch 0" in out, kind


def test_in_latin1_a_forged_text_with_the_same_bytes_as_utf8_is_a_mismatch(
    sandbox: Sandbox,
    latin1_db: str,
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 'Ã©' in LATIN1 is C3 A9, the UTF-8 bytes of 'é'. A trail rewritten (and resealed) to
    # say 'é' must not match the log's bytes read as UTF-8: in a LATIN1 session only the
    # text decoded as LATIN1 counts.
    from unit.audit.test_reconcile import reseal, rewrite

    logs = LogSlice(sandbox)
    m = secrets.token_hex(4)
    _run, path = in_latin1(sandbox, latin1_db, env, tmp_path, f"SELECT 'Ã© {m}' AS x")
    stmt = next(r["stmt"] for r in read_trail(path) if m in str(r.get("text")))
    reseal(path, rewrite(stmt, f"'Ã© {m}'", f"'é {m}'"))
    for kind, name in (("stderr", "x.log"), ("csv", "x.csv"), ("json", "x.json")):
        log = logs.write(kind, tmp_path / name, m)
        assert f"'é {m}'".encode() in log.read_bytes(), kind  # the same bytes
        code, report = reconcile(capsys, "--trail", str(path), "--server-log", str(log))
        assert code == 1, kind
        (entry,) = report["text_mismatch"]
        assert entry["stmt"] == stmt
        assert entry["server_text"].endswith(f"SELECT 'Ã© {m}' AS x"), kind
