"""The catalog lists (``\\dt``, ``\\dv``, ``\\di``, ``\\dn``, ``\\df``, ``\\du``, ``\\l``)
printed as psql 15 prints them: centred title, psql's columns, its row count (none for
``\\du``), byte for byte, on the schema of test_describe."""

from __future__ import annotations

import difflib
from pathlib import Path

import pexpect
import pytest

from integration.test_describe import S, run, run_psql, schema, spawn_prodsql
from prodsql.sandbox import Sandbox
from support.cli import clean_env

__all__ = ["schema"]  # the fixture, for pytest

COMMANDS = [
    f"\\dt desc_{S}.*",
    f"\\dt *.acct_{S}",
    f"\\dv *_{S}*",
    f"\\dm *_{S}*",
    f"\\ds *_{S}*",
    f"\\di acct_{S}*",
    f"\\dn desc_{S}",
    "\\du dev",
    "\\du",
    "\\l postgres",
    "\\dx",
    f"\\dp *_{S}*",
    f"\\dp desc_{S}.*",
    f"\\z acct_{S}",
    "\\dx pgaudit",
    "\\df pg_catalog.lower",
]


@pytest.fixture(scope="module")
def outputs(
    sandbox: Sandbox, schema: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[str, str]]:
    # Table and column privileges for \\dp (the policies come with the schema).
    sandbox.admin_execute(
        f"GRANT SELECT ON public.acct_{S} TO dev; GRANT UPDATE (email) ON public.acct_{S} TO weak"
    )
    home = tmp_path_factory.mktemp("lists")
    env = clean_env(home, {"PGPASSWORD": "dev-password"})
    child = spawn_prodsql(sandbox, env, home / "trails")
    files: dict[str, Path] = {}
    for n, command in enumerate(COMMANDS):
        files[command] = home / f"out{n}.txt"
        for line in (f"\\o {files[command]}", command, "\\o"):
            run(child, line)
    child.send("\\q\r")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0
    result = {}
    for command in COMMANDS:
        expected = run_psql(sandbox, env, command)
        assert expected.returncode == 0, expected.stderr
        result[command] = (expected.stdout, files[command].read_text(encoding="utf-8"))
    return result


@pytest.mark.parametrize("command", COMMANDS)
def test_lists_are_psqls_output_byte_for_byte(
    outputs: dict[str, tuple[str, str]], command: str
) -> None:
    expected, mine = outputs[command]
    assert expected.count("\n") > 3  # psql listed something
    diff = "".join(
        difflib.unified_diff(expected.splitlines(True), mine.splitlines(True), "psql", "prodsql")
    )
    assert mine == expected, diff
