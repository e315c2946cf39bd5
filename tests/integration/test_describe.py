"""``\\d NAME`` against psql 15 itself: the same objects on the sandbox server, described by
the real ``prodsql`` executable in a pseudo-terminal and by ``psql -X`` as the same role,
compared byte for byte.

prodsql's output is taken through ``\\o FILE``: the table, title and footers go through
the shell's output exactly as they would to the terminal (the pager aside), without the
prompt and the line editor's escape sequences that a terminal capture would mix in.
"""

from __future__ import annotations

import difflib
import io
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest

from prodsql.sandbox import Sandbox
from prodsql.trail import VerifyStatus, verify_file
from support.cli import PRODSQL, clean_env, only_trail, trail_files

PSQL = "/usr/lib/postgresql/15/bin/psql"
PROMPT = r"(idle|in-txn|FAILED-txn|disconnected)(?:\x1b\[[0-9;]*m)*=>"
S = secrets.token_hex(3)  # every object's suffix: the sandbox is shared by the suite

SCHEMA = f"""
CREATE TABLE public.acct_{S} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name varchar(80) COLLATE "C",
  balance numeric(12,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
  cents bigint GENERATED ALWAYS AS ((balance * 100)::bigint) STORED,
  status text DEFAULT 'active',
  created timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT name_len_{S} CHECK (char_length(name) > 1)
);
CREATE INDEX acct_{S}_active ON public.acct_{S} (created) WHERE status = 'active';
CREATE INDEX acct_{S}_lower ON public.acct_{S} (lower(email)) INCLUDE (name);
CREATE TABLE public.ord_{S} (
  id serial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES public.acct_{S} (id) ON DELETE CASCADE,
  total numeric,
  UNIQUE (account_id, id) DEFERRABLE INITIALLY DEFERRED
);
CREATE FUNCTION public.touch_{S}() RETURNS trigger LANGUAGE plpgsql
  AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER touch BEFORE UPDATE ON public.acct_{S}
  FOR EACH ROW EXECUTE FUNCTION public.touch_{S}();
CREATE TRIGGER audit_off AFTER INSERT ON public.acct_{S}
  FOR EACH ROW EXECUTE FUNCTION public.touch_{S}();
ALTER TABLE public.acct_{S} DISABLE TRIGGER audit_off;
ALTER TABLE public.acct_{S} ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON public.acct_{S} FOR SELECT TO dev USING (email = current_user);
CREATE POLICY strict ON public.acct_{S} AS RESTRICTIVE USING (status <> 'x') WITH CHECK (true);
CREATE VIEW public.rich_{S} AS SELECT id, email FROM public.acct_{S} WHERE balance > 1000;
CREATE MATERIALIZED VIEW public.tot_{S} AS
  SELECT account_id, sum(total) AS s FROM public.ord_{S} GROUP BY 1;
CREATE SEQUENCE public.tick_{S} START 100 INCREMENT 5 CACHE 10 CYCLE;
CREATE TABLE public.evt_{S} (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.evt_{S}_2024 PARTITION OF public.evt_{S}
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.evt_{S}_other PARTITION OF public.evt_{S} DEFAULT;
CREATE INDEX evt_{S}_id ON public.evt_{S} (id);
CREATE TABLE public.kid_{S} (c int, x int) INHERITS (public.ord_{S});
CREATE TABLE public.ruled_{S} (id int PRIMARY KEY, v text);
CREATE RULE r_ins AS ON INSERT TO public.ruled_{S} DO INSTEAD NOTHING;
CREATE STATISTICS public.st_{S} (ndistinct, dependencies) ON id, v FROM public.ruled_{S};
CREATE FOREIGN DATA WRAPPER fdw_{S};
CREATE SERVER srv_{S} FOREIGN DATA WRAPPER fdw_{S};
CREATE FOREIGN TABLE public.ft_{S} (a int OPTIONS (column_name 'aa'), b text NOT NULL DEFAULT 'x')
  SERVER srv_{S} OPTIONS (table_name 'remote');
CREATE TABLE public."Mixed_{S}" ("Col" int);
CREATE SCHEMA desc_{S};
CREATE TABLE desc_{S}.acct_{S} (other int);
GRANT USAGE ON SCHEMA desc_{S} TO dev;
"""
CLEANUP = f"""
DROP SCHEMA desc_{S} CASCADE;
DROP TABLE public.kid_{S}, public.ord_{S}, public.acct_{S}, public.evt_{S}, public.ruled_{S},
  public."Mixed_{S}" CASCADE;
DROP SEQUENCE public.tick_{S};
DROP FOREIGN DATA WRAPPER fdw_{S} CASCADE;
DROP FUNCTION public.touch_{S}();
"""

# What is described, as typed: tables, constraints of every kind, a view, a materialized
# view, sequences (plain, serial, identity), indexes, partitions, inheritance, rules,
# statistics, a foreign table, a quoted name, and a name that only a schema tells apart.
NAMES = [
    f"acct_{S}",
    f"ord_{S}",
    f"rich_{S}",
    f"tot_{S}",
    f"tick_{S}",
    f"ord_{S}_id_seq",
    f"acct_{S}_id_seq",
    f"acct_{S}_pkey",
    f"acct_{S}_active",
    f"acct_{S}_lower",
    f"evt_{S}",
    f"evt_{S}_2024",
    f"evt_{S}_id",
    f"kid_{S}",
    f"ruled_{S}",
    f"ft_{S}",
    f'"Mixed_{S}"',
    f"desc_{S}.acct_{S}",
    f"PUBLIC.ACCT_{S.upper()}",
    f"*.ord_{S}",  # psql's wildcard schema; a listing in prodsql (see the test)
]


@dataclass
class Described:
    psql: dict[str, subprocess.CompletedProcess[str]]
    prodsql: dict[str, str]
    records: list[dict[str, Any]]
    screen: str


@pytest.fixture(scope="module")
def schema(sandbox: Sandbox) -> Iterator[None]:
    sandbox.admin_execute(SCHEMA)
    yield
    sandbox.admin_execute(CLEANUP)


@pytest.fixture(scope="module")
def described(
    sandbox: Sandbox, schema: None, tmp_path_factory: pytest.TempPathFactory
) -> Described:
    home = tmp_path_factory.mktemp("describe")
    env = clean_env(home, {"PGPASSWORD": "dev-password"})
    psql = {name: run_psql(sandbox, env, f"\\d {name}") for name in NAMES}
    child = spawn_prodsql(sandbox, env, home / "trails")
    outputs: dict[str, Path] = {}
    for n, name in enumerate(NAMES):
        outputs[name] = home / f"out{n}.txt"
        for command in (f"\\o {outputs[name]}", f"\\d {name}", "\\o"):
            run(child, command)
    run(child, f"\\d nope_{S}")
    child.send("\\q\r")
    child.expect(pexpect.EOF, timeout=30)
    screen = child.logfile_read.getvalue()
    child.close()
    assert child.exitstatus == 0
    [trail] = trail_files(home / "trails")
    assert verify_file(trail).status == VerifyStatus.INTACT
    prodsql = {name: path.read_text(encoding="utf-8") for name, path in outputs.items()}
    return Described(psql, prodsql, only_trail(home / "trails"), screen)


def run_psql(sandbox: Sandbox, env: dict[str, str], command: str) -> Any:
    return subprocess.run(
        [PSQL, "-X", "-P", "pager=off", sandbox.conninfo("dev"), "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def spawn_prodsql(sandbox: Sandbox, env: dict[str, str], trail_dir: Path) -> pexpect.spawn:
    args = ["--ticket", "OPS-7", "--dsn", sandbox.conninfo("dev"), "--trail-dir", str(trail_dir)]
    child = pexpect.spawn(
        PRODSQL[0],
        [*PRODSQL[1:], *args],
        env={**env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=20,
    )
    child.logfile_read = io.StringIO()  # the whole screen, for what goes to stderr
    child.expect(PROMPT)
    return child


def run(child: pexpect.spawn, command: str) -> None:
    """Type a line at the prompt (the line editor redraws it with the prompt once run)."""
    child.send(command + "\r")
    child.expect(PROMPT)


@pytest.mark.parametrize("name", [n for n in NAMES if "*" not in n])
def test_d_name_is_psqls_output_byte_for_byte(described: Described, name: str) -> None:
    expected = described.psql[name]
    assert expected.returncode == 0, expected.stderr
    assert expected.stdout.count("\n") > 3  # psql did describe it
    mine = described.prodsql[name]
    diff = "".join(
        difflib.unified_diff(
            expected.stdout.splitlines(True), mine.splitlines(True), "psql", "prodsql"
        )
    )
    assert mine == expected.stdout, diff


def test_an_unqualified_name_is_the_one_on_the_search_path(described: Described) -> None:
    first_line = described.prodsql[f"acct_{S}"].splitlines()[0]
    assert first_line.strip() == f'Table "public.acct_{S}"'
    other = described.prodsql[f"desc_{S}.acct_{S}"]
    assert other.splitlines()[0].strip() == f'Table "desc_{S}.acct_{S}"'


def test_a_wildcard_lists_instead_of_describing(described: Described) -> None:
    # Intended difference: psql describes every match of a wildcard in full (three or more
    # queries each); prodsql lists them, and \d NAME describes the one wanted.
    name = f"*.ord_{S}"
    assert described.psql[name].stdout.splitlines()[0].strip() == f'Table "public.ord_{S}"'
    assert described.prodsql[name].lstrip().startswith("List of relations\n")
    assert f" public | ord_{S} | table | postgres\n" in described.prodsql[name]


def test_a_missing_name_is_psqls_message(
    sandbox: Sandbox, described: Described, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": "dev-password"})
    expected = run_psql(sandbox, env, f"\\d nope_{S}").stderr
    assert expected == f'Did not find any relation named "nope_{S}".\n'
    assert expected.replace("\n", "\r\n") in described.screen


def test_the_trail_has_each_catalog_query_and_the_meta_command(described: Described) -> None:
    records = described.records
    internal = [r for r in records if r["kind"] == "statement" and r["source"] == "internal"]
    by_purpose: dict[str, int] = {}
    for r in internal:
        by_purpose[r["purpose"]] = by_purpose.get(r["purpose"], 0) + 1
        assert r["tag"] in r["sent"]
    described_relations = len(NAMES) - 1  # the wildcard lists (its query is a "\\d" too)
    assert by_purpose["\\d"] == len(NAMES) + 1  # + the missing name
    assert by_purpose["\\d columns"] == described_relations
    # No footer query for a view without triggers.
    assert by_purpose["\\d footers"] == described_relations - 1
    metas = [r for r in records if r["kind"] == "meta" and r["command"] == "d"]
    assert len(metas) == len(NAMES) + 1
    acct = next(m for m in metas if m["args"] == f"acct_{S}")
    assert (acct["result"], acct["rows"], acct["relations"]) == ("ok", 7, [f"public.acct_{S}"])
    missing = metas[-1]
    assert (missing["args"], missing["rows"], missing["relations"]) == (f"nope_{S}", 0, [])
    outcomes = {r["stmt"]: r for r in records if r["kind"] == "outcome"}
    assert all(outcomes[r["stmt"]]["status"] == "ok" for r in internal)


def test_d_inside_a_transaction_leaves_it_usable(
    sandbox: Sandbox, schema: None, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": "dev-password"})
    child = spawn_prodsql(sandbox, env, tmp_path / "trails")
    # A missing name, an unterminated quote, regex metacharacters, too many dots: with
    # to_regclass() or the raw pattern as a regex, the server would raise an error and
    # abort the open transaction.
    patterns = [f"nope_{S}", '"weird(', "a[b", "x|y)", f"w.x.y.acct_{S}", f"acct_{S}"]
    try:
        run(child, "BEGIN;")
        for n, pattern in enumerate(patterns):
            run(child, f"\\d {pattern}")
            # Paced by each answer: a statement after the \\d must still work.
            run(child, f"SELECT {n} AS after_{S};")
            child.expect(rf"after_{S} \r\n-+\r\n +{n}\r\n\(1 row\)")
        run(child, "ROLLBACK;")
        run(child, "\\q")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    records = only_trail(tmp_path / "trails")
    outcomes = [r for r in records if r["kind"] == "outcome"]
    assert [r for r in outcomes if r["status"] != "ok"] == []
    after = {r["stmt"] for r in records if f"after_{S}" in r.get("text", "")}
    assert len(after) == len(patterns)
    states = [r["txn_status"] for r in outcomes if r["stmt"] in after]
    assert states == ["in_transaction"] * len(patterns)  # the same transaction, never failed
    stderr = child.logfile_read.getvalue()
    assert f'Did not find any relation named "w.x.y.acct_{S}".' not in stderr
    assert f"improper qualified name (too many dotted names): w.x.y.acct_{S}" in stderr
