from __future__ import annotations

import pytest

from prodsql.auth import aws


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    return monkeypatch


def test_configured_region_wins(no_region: pytest.MonkeyPatch) -> None:
    no_region.setenv("AWS_REGION", "eu-west-3")
    assert aws.session("ap-south-1").region_name == "ap-south-1"


def test_aws_region_then_botocores_own_chain(no_region: pytest.MonkeyPatch) -> None:
    assert aws.session().region_name is None
    no_region.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert aws.session().region_name == "us-east-2"
    no_region.setenv("AWS_REGION", "eu-west-3")
    assert aws.session().region_name == "eu-west-3"
