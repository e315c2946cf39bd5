"""IAM tokens and keyring passwords, end to end against the sandbox.

IAM: a SigV4 token depends on the signing second. The tests run prodsql under
libfaketime with the clock frozen at a chosen instant, set the role's password to the
token for that instant, and so prove that the token prodsql generates is exactly what
reaches the server. TLS is real too: the sandbox gets a certificate from a test CA and
prodsql connects with sslmode=verify-full.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prodsql.sandbox import RoleSpec, Sandbox
from support.cli import PRODSQL, clean_env, read_trail, run_prodsql, trail_files

FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
T1 = "2027-03-01 12:00:00"
T2 = "2027-03-01 12:05:00"
CREDS = {
    "AWS_ACCESS_KEY_ID": "AKIAPRODSQLTEST00001",
    "AWS_SECRET_ACCESS_KEY": "prodsql/test/secret/key/0000000000000000",
}


def faketime_env(env: dict[str, str], instant: str) -> dict[str, str]:
    assert FAKETIME_LIB.exists(), "libfaketime is missing: run scripts/ensure-system.sh"
    return {
        **env,
        "LD_PRELOAD": str(FAKETIME_LIB),
        "FAKETIME": instant,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }


@pytest.fixture(scope="module")
def tls_sandbox(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Turn TLS on in the running sandbox with a fresh test CA; returns the CA file."""
    d = tmp_path_factory.mktemp("tls")
    ssl = ["openssl"]
    subprocess.run(
        [
            *ssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=prodsql test CA",
            "-keyout",
            str(d / "ca.key"),
            "-out",
            str(d / "ca.pem"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *ssl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(d / "server.key"),
            "-out",
            str(d / "server.csr"),
        ],
        check=True,
        capture_output=True,
    )
    (d / "ext.cnf").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    subprocess.run(
        [
            *ssl,
            "x509",
            "-req",
            "-in",
            str(d / "server.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            str(d / "ext.cnf"),
            "-out",
            str(d / "server.pem"),
        ],
        check=True,
        capture_output=True,
    )
    server_dir = sandbox.base_dir / "tls"
    server_dir.mkdir(exist_ok=True)
    for name in ("server.pem", "server.key"):
        shutil.copy(d / name, server_dir / name)
    _give_to_server(sandbox, server_dir)
    sandbox.admin_execute(f"ALTER SYSTEM SET ssl_cert_file = '{server_dir / 'server.pem'}'")
    sandbox.admin_execute(f"ALTER SYSTEM SET ssl_key_file = '{server_dir / 'server.key'}'")
    sandbox.admin_execute("ALTER SYSTEM SET ssl = on")
    sandbox.admin_execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
    assert sandbox.admin_execute("SHOW ssl")[0][0] == "on"
    return d / "ca.pem"


def _give_to_server(sandbox: Sandbox, directory: Path) -> None:
    import os
    import pwd

    (directory / "server.key").chmod(0o600)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for path in (directory, *directory.iterdir()):
            os.chown(path, pw.pw_uid, pw.pw_gid)


def token_at(instant: str, host: str, port: int, user: str, env: dict[str, str]) -> str:
    code = (
        "from prodsql.auth.iam import IamParams, generate_token; "
        f"print(generate_token(IamParams(host={host!r}, port={port}, user={user!r}, "
        "region='eu-west-1')).reveal())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=faketime_env(env, instant),
        capture_output=True,
        text=True,
        check=True,
    )
    token = proc.stdout.strip()
    assert "X-Amz-Signature=" in token
    return token


@pytest.fixture
def iam_setup(sandbox: Sandbox, tls_sandbox: Path, tmp_path: Path) -> tuple[dict[str, str], Path]:
    env = clean_env(tmp_path, CREDS)
    cfg = tmp_path / "config" / "prodsql" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        f'trail_dir = "{tmp_path / "trails"}"\n'
        "[targets.aurora]\n"
        f'host = "127.0.0.1"\nport = {sandbox.port}\ndbname = "postgres"\nuser = "iam_user"\n'
        f'auth = "iam"\nregion = "eu-west-1"\nsslrootcert = "{tls_sandbox}"\n'
    )
    return env, tmp_path / "trails"


def test_iam_token_is_what_reaches_the_server_and_never_leaks(
    sandbox: Sandbox, iam_setup: tuple[dict[str, str], Path]
) -> None:
    env, trails = iam_setup
    token1 = token_at(T1, "127.0.0.1", sandbox.port, "iam_user", env)
    token2 = token_at(T2, "127.0.0.1", sandbox.port, "iam_user", env)
    assert token1 != token2
    sandbox.create_role(RoleSpec(name="iam_user", password=token1))
    ok = run_prodsql(
        [
            "--ticket",
            "OPS-7",
            "--target",
            "aurora",
            "-c",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ],
        faketime_env(env, T1),
    )
    assert ok.code == 0, ok.stderr
    assert " t\n" in ok.stdout  # the session is TLS, verified against the test CA
    # A later connect signs a new token: the old password no longer matches.
    later = run_prodsql(
        ["--ticket", "OPS-7", "--target", "aurora", "-c", "SELECT 1"], faketime_env(env, T2)
    )
    assert later.code == 3
    assert "authentication failed" in later.stderr
    for text in (
        ok.output,
        later.output,
        *(f.read_text() for f in trail_files(trails)),
        sandbox.read_log("stderr"),
        sandbox.read_log("csv"),
        sandbox.read_log("json"),
    ):
        for token in (token1, token2):
            assert token not in text
            assert token.split("X-Amz-Signature=")[1] not in text
    assert "Traceback" not in later.output


def test_iam_token_not_in_argv(sandbox: Sandbox, iam_setup: tuple[dict[str, str], Path]) -> None:
    env, trails = iam_setup
    token = token_at(T1, "127.0.0.1", sandbox.port, "iam_user", env)
    sandbox.create_role(RoleSpec(name="iam_user", password=token))
    proc = subprocess.Popen(
        [*PRODSQL, "--ticket", "OPS-7", "--target", "aurora", "-c", "SELECT pg_sleep(3)"],
        env=faketime_env(env, T1),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            "pg_sleep" in f.read_text() for f in trail_files(trails)
        ):
            time.sleep(0.05)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert "X-Amz" not in cmdline
        assert token not in cmdline
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
        assert token not in ps.stdout
        assert "X-Amz-Signature" not in ps.stdout
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert token not in out + err


@pytest.mark.parametrize(
    ("drop", "needle"),
    [(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "credentials"), ((), "region")],
)
def test_iam_missing_credentials_or_region(
    sandbox: Sandbox, tls_sandbox: Path, tmp_path: Path, drop: tuple[str, ...], needle: str
) -> None:
    env = {k: v for k, v in clean_env(tmp_path, CREDS).items() if k not in drop}
    region = "" if needle == "region" else 'region = "eu-west-1"\n'
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[targets.a]\nhost = "127.0.0.1"\nport = {sandbox.port}\nuser = "iam_user"\n'
        f'auth = "iam"\n{region}sslrootcert = "{tls_sandbox}"\n'
    )
    run = run_prodsql(
        [
            "--config",
            str(cfg),
            "--ticket",
            "OPS-7",
            "--target",
            "a",
            "--trail-dir",
            str(tmp_path / "t"),
            "-c",
            "SELECT 1",
        ],
        env,
    )
    assert run.code == 3, run.output
    assert needle in run.stderr.lower()
    assert "Traceback" not in run.output
    assert CREDS["AWS_SECRET_ACCESS_KEY"] not in run.output
    records = read_trail(trail_files(tmp_path / "t")[0])
    assert records[-1]["kind"] == "session_end"
