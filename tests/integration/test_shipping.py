"""Trail shipping end to end: a real session ships its trail to moto's CloudWatch Logs and S3,
and the copies fetched back verify with `prodsql verify` like the local file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import boto3

from awsfixtures import AwsEnv
from prodsql.sandbox import Sandbox
from prodsql.trail.sinks import fetch_trail
from support.cli import clean_env, run_prodsql, trail_files

GROUP = "/prodsql/trails"
BUCKET = "central-trails"


def sink_env(tmp_path: Path, aws: AwsEnv) -> dict[str, str]:
    return clean_env(
        tmp_path,
        {
            "PGPASSWORD": "dev-password",
            "AWS_ACCESS_KEY_ID": aws.access_key_id,
            "AWS_SECRET_ACCESS_KEY": aws.secret_access_key,
            "AWS_DEFAULT_REGION": aws.region,
            "AWS_CONFIG_FILE": str(aws.config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws.credentials_file),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )


def write_config(tmp_path: Path, endpoint: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[sinks]\ncloudwatch_group = "{GROUP}"\ns3_bucket = "{BUCKET}"\n'
        f'endpoint_url = "{endpoint}"\n'
    )
    return config


def create_sinks(endpoint: str) -> None:
    boto3.client("logs", endpoint_url=endpoint).create_log_group(logGroupName=GROUP)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        ObjectLockEnabledForBucket=True,
    )


def test_session_trail_is_shipped_and_verifies_from_the_sinks(
    sandbox: Sandbox, moto_reset: str, aws_env: AwsEnv, tmp_path: Path
) -> None:
    create_sinks(moto_reset)
    env = sink_env(tmp_path, aws_env)
    config = write_config(tmp_path, moto_reset)
    trails = tmp_path / "trails"
    base = ["--config", str(config), "--trail-dir", str(trails)]
    run = run_prodsql(
        [*base, "--ticket", "OPS-9", "--dsn", sandbox.conninfo("dev"), "-c", "SELECT 1"], env
    )
    assert run.code == 0, run.stderr
    assert "not yet shipped" not in run.stderr
    status = run_prodsql(["trail", "status", "--json", *base], env)
    assert status.code == 0, status.output
    [row] = [json.loads(line) for line in status.stdout.splitlines()]
    assert row["shipped"]
    assert row["records"] == 7
    [local] = trail_files(trails)
    for uri in (f"s3://{BUCKET}/prodsql/trails/", f"cloudwatch:{GROUP}"):
        dest = tmp_path / uri.split(":")[0]
        [copy] = fetch_trail(uri, dest, endpoint_url=moto_reset)
        assert copy.read_bytes() == local.read_bytes()
        verified = run_prodsql(["verify", str(copy)], env)
        assert verified.code == 0, verified.output
    # The reviewer commands read the sinks directly.
    direct = {**env, "AWS_ENDPOINT_URL": moto_reset}
    for uri in (f"s3://{BUCKET}/prodsql/trails/", f"cloudwatch:{GROUP}"):
        verified = run_prodsql(["verify", uri], direct)
        assert verified.code == 0, verified.output
        assert "1 file" in verified.stdout
        replayed = run_prodsql(["replay", "--format", "json", uri], direct)
        assert replayed.code == 0, replayed.output
        assert json.loads(replayed.stdout)["header"]["ticket"] == "OPS-9"


def test_unreachable_sink_does_not_block_and_trail_ship_catches_up(
    sandbox: Sandbox, moto_reset: str, aws_env: AwsEnv, tmp_path: Path
) -> None:
    create_sinks(moto_reset)
    env = sink_env(tmp_path, aws_env)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    trails = tmp_path / "trails"
    base = ["--config", str(write_config(tmp_path, dead)), "--trail-dir", str(trails)]
    run = run_prodsql(
        [*base, "--ticket", "OPS-9", "--dsn", sandbox.conninfo("dev"), "-c", "SELECT 1"], env
    )
    assert run.code == 0, run.stderr
    assert "not yet shipped to cloudwatch" in run.stderr
    assert run_prodsql(["trail", "status", *base], env).code == 1
    live = ["--config", str(write_config(tmp_path, moto_reset)), "--trail-dir", str(trails)]
    shipped = run_prodsql(["trail", "ship", *live], env)
    assert shipped.code == 0, shipped.output
    assert "cloudwatch: shipped  s3: shipped" in shipped.stdout
