from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.exceptions
import pytest

from awsfixtures import AwsEnv
from prodsql.auth import IamParams, Secret, generate_token
from prodsql.errors import AuthError

HOST = "prod.cluster-abc123.eu-west-1.rds.amazonaws.com"


def params(**overrides: object) -> IamParams:
    fields: dict[str, object] = {"host": HOST, "port": 5432, "user": "alice", "region": None}
    fields.update(overrides)
    return IamParams(**fields)  # type: ignore[arg-type]


def parse(token: Secret) -> tuple[str, dict[str, str]]:
    url = urlsplit("https://" + token.reveal())
    query = {k: v[0] for k, v in parse_qs(url.query, strict_parsing=True).items()}
    return f"{url.netloc}{url.path}", query


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_token_is_a_presigned_connect_url(aws_env: AwsEnv) -> None:
    token = generate_token(params())
    where, q = parse(token)
    assert where == f"{HOST}:5432/"
    assert q["Action"] == "connect"
    assert q["DBUser"] == "alice"
    assert q["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert q["X-Amz-Expires"] == "900"
    key, _date, region, service, _ = q["X-Amz-Credential"].split("/")
    assert (key, region, service) == (aws_env.access_key_id, aws_env.region, "rds-db")
    assert len(q["X-Amz-Signature"]) == 64
    assert "X-Amz-Security-Token" not in q
    assert aws_env.secret_access_key not in token.reveal()


def test_region_of_the_target_wins(aws_env: AwsEnv) -> None:
    _, q = parse(generate_token(params(region="us-east-2")))
    assert q["X-Amz-Credential"].split("/")[2] == "us-east-2"


def test_aws_region_alone_is_enough(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore itself reads only AWS_DEFAULT_REGION; AWS_REGION is what most tools set.
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    _, q = parse(generate_token(params()))
    assert q["X-Amz-Credential"].split("/")[2] == "eu-west-3"


def test_a_fresh_token_at_every_call(aws_env: AwsEnv) -> None:
    first = generate_token(params())
    time.sleep(1.1)  # X-Amz-Date has one-second resolution
    second = generate_token(params())
    assert parse(first)[1]["X-Amz-Date"] != parse(second)[1]["X-Amz-Date"]
    assert first != second


@pytest.mark.parametrize("via", ["argument", "AWS_PROFILE"])
def test_profile_from_the_aws_files(
    aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    write(aws_env.config_file, "[profile dev]\nregion = eu-central-1\n")
    write(
        aws_env.credentials_file,
        "[dev]\naws_access_key_id = AKIADEVEXAMPLE000001\n"
        "aws_secret_access_key = devSecretKeyExampleExampleExample000001\n",
    )
    if via == "AWS_PROFILE":
        monkeypatch.setenv("AWS_PROFILE", "dev")
    _, q = parse(generate_token(params(profile="dev" if via == "argument" else None)))
    key, _, region, _, _ = q["X-Amz-Credential"].split("/")
    assert (key, region) == ("AKIADEVEXAMPLE000001", "eu-central-1")


def test_assumed_role_through_sts(
    aws_env: AwsEnv, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_reset)
    write(
        aws_env.config_file,
        "[profile base]\nregion = eu-west-1\n"
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/dba\n"
        "source_profile = base\nregion = eu-west-1\n",
    )
    write(
        aws_env.credentials_file,
        "[base]\naws_access_key_id = AKIABASEEXAMPLE00001\n"
        "aws_secret_access_key = baseSecretKeyExampleExampleExample00001\n",
    )
    _, q = parse(generate_token(params(profile="ops")))
    key = q["X-Amz-Credential"].split("/")[0]
    assert key != "AKIABASEEXAMPLE00001"
    assert key.startswith("ASIA")  # temporary credentials, as STS issues them
    assert q["X-Amz-Security-Token"]


def assert_no_secret(err: AuthError, *secrets: str) -> None:
    for text in (str(err), err.message, err.diagnostics(), repr(err)):
        for secret in secrets:
            assert secret not in text


def test_missing_region(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(AuthError) as info:
        generate_token(params())
    assert info.value.message == f"no AWS region for IAM authentication to {HOST}"
    assert info.value.hint is not None
    assert "AWS_REGION" in info.value.hint
    assert_no_secret(info.value, aws_env.secret_access_key)


def test_missing_credentials(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    with pytest.raises(AuthError, match="no usable AWS credentials") as info:
        generate_token(params())
    assert "AWS_PROFILE" in info.value.diagnostics()


def test_partial_credentials(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with pytest.raises(AuthError, match="no usable AWS credentials") as info:
        generate_token(params())
    assert_no_secret(info.value, aws_env.secret_access_key)


def test_unknown_profile(aws_env: AwsEnv) -> None:
    with pytest.raises(AuthError, match="AWS profile 'nope' not found") as info:
        generate_token(params(profile="nope"))
    assert "AWS_PROFILE" in info.value.diagnostics()
    assert_no_secret(info.value, aws_env.secret_access_key)


def test_expired_sso_session(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    write(
        aws_env.config_file,
        "[profile sso-dev]\nsso_start_url = https://example.awsapps.com/start\n"
        "sso_region = eu-west-1\nsso_account_id = 123456789012\n"
        "sso_role_name = DBA\nregion = eu-west-1\n",
    )
    with pytest.raises(AuthError, match="SSO session") as info:
        generate_token(params(profile="sso-dev"))
    assert info.value.hint == "run: aws sso login --profile sso-dev"


def test_other_aws_errors(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(**_: object) -> None:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized to assume dba"}},
            "AssumeRole",
        )

    monkeypatch.setattr(boto3, "Session", denied)
    with pytest.raises(AuthError, match="AccessDenied") as info:
        generate_token(params())
    assert "not authorized to assume dba" in info.value.message
    assert_no_secret(info.value, aws_env.secret_access_key)
