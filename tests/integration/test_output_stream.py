"""Results stream from the server to the output: psql's layouts, bounded memory, and the
same rows whichever way psycopg hands them over."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import psycopg
import pytest

from prodsql.sandbox import Sandbox
from prodsql.session import fetch
from support.cli import PRODSQL, clean_env, run_prodsql

TRICKY = (
    "SELECT g AS id, CASE WHEN g % 3 = 0 THEN NULL ELSE 'v' || g END AS v, "
    "g * 1.5 AS num, E'two\\nlines' AS ml, '漢字' AS wide, 'a,b \"q\"' AS punct, "
    "'' AS empty, 'tail  ' AS trailing FROM generate_series(1, 5) g"
)
# Widths settle in the first batch, so even across batches the layout is psql's own.
LONG = "SELECT g + 10000 AS n, 'row' || (g % 10) AS label FROM generate_series(1, 2500) g"
EMPTY = "SELECT 1 AS a, 'x'::text AS b WHERE false"
# Control characters: psql shows them escaped (\r, \x1B, \u0085), tabs as spaces to the next
# multiple of 8, line feeds as continuation lines; CSV keeps the raw bytes.
CONTROL = (
    "SELECT g, E'a\\rb' AS cr, E'x\\x01y' AS soh, E'\\x1b[2J' AS esc, E'p\\tq' AS tab, "
    "E'\\x7f' AS del, chr(128) || chr(155) || chr(160) AS c1, E'l1\\nl2\\tz' AS ml, "
    "E'ab\\tc漢\\td' AS wide, CASE WHEN g = 2 THEN E'\\x1b]0;title\\x07' END AS osc "
    "FROM generate_series(1, 3) g"
)
HEADERS = (
    'SELECT 1 AS U&"a\\000Ab", 2 AS U&"t\\0009x", \'v\' AS U&"e\\001Bx", '
    "E'\\r\\n' AS crlf, NULL AS U&\"\\0085\", E'a\\nb' AS n"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, {"PGPASSWORD": "dev-password"})


def ours(sandbox: Sandbox, env: dict[str, str], tmp: Path, *args: str) -> str:
    base = ["--ticket", "OPS-7", "--dsn", sandbox.conninfo("dev"), "--trail-dir", str(tmp)]
    run = run_prodsql([*base, *args], env)
    assert run.code == 0, run.stderr
    return run.stdout


def psql(sandbox: Sandbox, env: dict[str, str], *args: str) -> str:
    cmd = ["psql", "-X", "-d", sandbox.conninfo("dev"), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize(
    "sql",
    [TRICKY, LONG, EMPTY, CONTROL, HEADERS],
    ids=["tricky", "2500-rows", "empty", "control-chars", "control-headers"],
)
@pytest.mark.parametrize("fmt", ["aligned", "csv"])
def test_output_is_psqls_byte_for_byte(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, sql: str, fmt: str
) -> None:
    flag = ["--csv"] if fmt == "csv" else []
    assert ours(sandbox, env, tmp_path, "--format", fmt, "-c", sql) == psql(
        sandbox, env, *flag, "-c", sql
    )


def test_control_characters_reach_the_terminal_only_escaped(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    aligned = ours(sandbox, env, tmp_path, "-c", CONTROL)
    assert not [ch for ch in aligned if ch != "\n" and (ch < " " or "\x7f" <= ch <= "\x9f")]
    assert "\\x1B]0;title\\x07" in aligned
    # JSON keeps the data exact; what a terminal would act on is written as \u escapes.
    text = ours(sandbox, env, tmp_path, "--format", "json", "-c", CONTROL)
    assert not [ch for ch in text if ch != "\n" and (ch < " " or "\x7f" <= ch <= "\x9f")]
    rows = json.loads(text)
    assert rows[1]["osc"] == "\x1b]0;title\x07"
    assert rows[0]["c1"] == "\x80\x9b\xa0"
    assert rows[0]["del"] == "\x7f"


def test_a_large_result_streams_in_bounded_memory(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    # 400,000 rows are ~150 MiB once held as Python tuples; streamed, the process stays
    # near its start-up size. Peak RSS is read from the kernel, not timed.
    sql = "SELECT g, md5(g::text) AS h, g * 2 AS twice FROM generate_series(1, 400000) g"
    base = ["--ticket", "OPS-8", "--dsn", sandbox.conninfo("dev"), "--trail-dir", str(tmp_path)]
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    for fmt in ("aligned", "csv", "json"):
        cmd = [sys.executable, "-c", probe, *PRODSQL, *base, "--format", fmt, "-c", sql]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        code, max_kib = map(int, done.stdout.split())
        assert code == 0, done.stderr
        assert max_kib < 110 * 1024, f"{fmt}: peak RSS {max_kib} KiB"


@pytest.fixture
def conn(sandbox: Sandbox) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(sandbox.conninfo("dev", password="dev-password"), autocommit=True) as c:
        yield c


def collect(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> list[list[object]]:
    with conn.cursor() as cur:
        return [list(b) for b in fetch.batches(cur, sql, 100)]


def test_chunked_and_portable_paths_return_the_same(
    conn: psycopg.Connection[tuple[object, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    with conn.cursor() as cur:
        assert fetch.uses_chunks(cur), "the pinned psycopg should allow the chunked path"
    sql = "SELECT g, repeat('x', g % 5) FROM generate_series(1, 250) g"
    fast = collect(conn, sql)
    monkeypatch.setattr(fetch, "uses_chunks", lambda cur: False)
    slow = collect(conn, sql)
    assert [len(b) for b in fast] == [100, 100, 50]
    assert [r for b in fast for r in b] == [r for b in slow for r in b]


def test_no_rows_keeps_the_columns(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    with conn.cursor() as cur:
        assert list(fetch.batches(cur, EMPTY, 100)) == []
        assert cur.description is not None
        assert [c.name for c in cur.description] == ["a", "b"]


def test_an_error_mid_stream_leaves_the_connection_usable(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero):
        collect(conn, "SELECT 1 / (g - 300) FROM generate_series(1, 1000) g")
    assert collect(conn, "SELECT 42") == [[(42,)]]


def test_stopping_early_cancels_and_recovers(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    with conn.cursor() as cur:
        stream = fetch.batches(cur, "SELECT g FROM generate_series(1, 5000000) g", 100)
        assert isinstance(stream, Generator)
        assert len(next(stream)) == 100
        stream.close()  # the consumer gives up: the query is cancelled, the rest drained
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert collect(conn, "SELECT 'again'") == [[("again",)]]
