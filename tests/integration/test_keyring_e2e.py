"""Keyring passwords end to end: `prodsql login` in a real pty, then a session with it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect

from prodsql.sandbox import RoleSpec, Sandbox
from support.cli import clean_env, only_trail, run_prodsql

PASSWORD = "kr-Secret-0f9a"


def keyring_env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"})


def write_config(sandbox: Sandbox, tmp_path: Path) -> Path:
    cfg = tmp_path / "config" / "prodsql" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        f'trail_dir = "{tmp_path / "trails"}"\n'
        f'[targets.kr]\nhost = "127.0.0.1"\nport = {sandbox.port}\ndbname = "postgres"\n'
        'user = "kr_user"\nauth = "keyring"\n'
    )
    return cfg


def login(env: dict[str, str], first: str, second: str) -> tuple[int, str]:
    child = pexpect.spawn(
        sys.executable, ["-m", "prodsql", "login", "kr"], env=env, encoding="utf-8", timeout=30
    )
    child.expect("password for kr_user on kr: ")
    child.sendline(first)
    child.expect(r"(?i)again|repeat|confirm")
    child.sendline(second)
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus or 0), str(child.before)


def test_login_stores_password_and_session_uses_it(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.create_role(RoleSpec(name="kr_user", password=PASSWORD))
    env = keyring_env(tmp_path)
    write_config(sandbox, tmp_path)
    code, shown = login(env, PASSWORD, PASSWORD)
    assert code == 0, shown
    assert PASSWORD not in shown  # never echoed
    run = run_prodsql(["--ticket", "OPS-5", "--target", "kr", "-c", "SELECT current_user"], env)
    assert run.code == 0, run.stderr
    assert "kr_user" in run.stdout
    records = only_trail(tmp_path / "trails")
    assert records[0]["auth"] == "keyring"
    assert PASSWORD not in json.dumps(records)
    for kind in ("stderr", "csv", "json"):
        assert PASSWORD not in sandbox.read_log(kind)


def test_login_mismatch_stores_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    env = keyring_env(tmp_path)
    write_config(sandbox, tmp_path)
    code, shown = login(env, PASSWORD, PASSWORD + "x")
    assert code != 0
    assert "Traceback" not in shown
    run = run_prodsql(["--ticket", "OPS-5", "--target", "kr", "-c", "SELECT 1"], env)
    assert run.code == 3
    assert "prodsql login kr" in run.stderr
    assert "Traceback" not in run.output


def test_non_iam_session_does_not_import_boto3(sandbox: Sandbox, tmp_path: Path) -> None:
    env = clean_env(tmp_path, {"PGPASSWORD": "dev-password"})
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['prodsql'] + sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('prodsql', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    heavy = sorted(m for m in ('boto3', 'botocore', 'structlog', 'prompt_toolkit')\n"
        "                   if m in sys.modules)\n"
        "    print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
        "    raise\n"
    )
    import subprocess

    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            "--ticket",
            "OPS-1",
            "--dsn",
            sandbox.conninfo("dev"),
            "--trail-dir",
            str(tmp_path / "t"),
            "-c",
            "SELECT 1",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stderr
