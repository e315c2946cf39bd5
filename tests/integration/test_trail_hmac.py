"""A configured trail HMAC key seals every record a session writes, and the reviewer
commands check it with the same configuration."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from keyrings.alt.file import PlaintextKeyring

from prodsql.sandbox import Sandbox
from support.cli import clean_env, read_trail, run_prodsql, trail_files


def setup(tmp_path: Path, key_name: str, stored: dict[str, str]) -> dict[str, str]:
    env = clean_env(
        tmp_path,
        {
            "PGPASSWORD": "dev-password",
            "PYTHON_KEYRING_BACKEND": PlaintextKeyring.__module__ + ".PlaintextKeyring",
        },
    )
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "data" / "python_keyring" / PlaintextKeyring.filename)
    for name, value in stored.items():
        backend.set_password("prodsql", f"trail-hmac:{name}", value)
    cfg = tmp_path / "config" / "prodsql" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'trail_hmac_key = "{key_name}"\ntrail_dir = "{tmp_path / "trails"}"\n')
    return env


def session(sandbox: Sandbox, env: dict[str, str]) -> tuple[int, str]:
    run = run_prodsql(
        ["--ticket", "OPS-9", "--dsn", sandbox.conninfo("dev"), "-c", "SELECT 1"], env
    )
    return run.code, run.stderr


def test_sessions_seal_with_the_configured_key_and_verify_checks_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    key = secrets.token_hex(32)
    env = setup(tmp_path, "ops", {"ops": key})
    code, err = session(sandbox, env)
    assert code == 0, err
    [trail] = trail_files(tmp_path / "trails")
    records = read_trail(trail)
    assert records
    assert all(len(str(r["hmac"])) == 64 for r in records)
    assert key not in trail.read_text()
    checked = run_prodsql(["verify", "--json", str(trail)], env)
    assert checked.code == 0, checked.output
    assert json.loads(checked.stdout)["files"][0]["hmac_checked"] is True
    # The same trail against another key: every record's HMAC is wrong.
    other = setup(tmp_path / "other", "ops", {"ops": secrets.token_hex(32)})
    assert run_prodsql(["verify", str(trail)], other).code == 1
    # Without a configured key, only the chain is checked.
    plain = clean_env(tmp_path / "plain")
    unkeyed = run_prodsql(["verify", "--json", str(trail)], plain)
    assert unkeyed.code == 0, unkeyed.output
    assert json.loads(unkeyed.stdout)["files"][0]["hmac_checked"] is False


def test_a_configured_key_that_is_missing_stops_the_session(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = setup(tmp_path, "absent", {})
    code, err = session(sandbox, env)
    assert code == 2
    assert "no trail HMAC key 'absent'" in err
    assert "Traceback" not in err
    assert not trail_files(tmp_path / "trails")  # nothing written, nothing connected
