"""AWS and keyring fixtures: a moto server, isolated AWS settings, a file keyring.

Registered by the lead with ``pytest_plugins``. Nothing here reads the developer's
``~/.aws`` or desktop keyring: every test sees only what its fixtures put in ``tmp_path``.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyrings.alt.file import PlaintextKeyring
from moto.server import ThreadedMotoServer

_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_RDS",
)


@dataclass(frozen=True)
class AwsEnv:
    """The static test credentials and the (initially empty) AWS files a test may fill."""

    access_key_id: str
    secret_access_key: str
    region: str
    config_file: Path
    credentials_file: Path


@dataclass(frozen=True)
class FileKeyring:
    """The keyring backend in use and the file it writes."""

    backend: KeyringBackend
    path: Path


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto server (real HTTP) shared by the session; see ``moto_reset``."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_reset(moto_endpoint: str) -> str:
    """The moto URL, with every service's state emptied before the test."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return moto_endpoint


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AwsEnv:
    """Static test credentials in the environment; empty AWS config and credentials files."""
    aws_dir = tmp_path / "aws"
    aws_dir.mkdir()
    env = AwsEnv(
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="eu-west-1",
        config_file=aws_dir / "config",
        credentials_file=aws_dir / "credentials",
    )
    env.config_file.touch()
    env.credentials_file.touch()
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", env.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", env.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", env.region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(env.config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(env.credentials_file))
    # A developer's SSO cache and IMDS must not answer for a test.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return env


@pytest.fixture
def file_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FileKeyring]:
    """A plaintext file keyring in ``tmp_path``, in this process and in its subprocesses."""
    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    backend = PlaintextKeyring()
    # The path a subprocess derives from XDG_DATA_HOME; pinned here so a later
    # change of the variable inside the test cannot move this process's file.
    path = data_home / "python_keyring" / PlaintextKeyring.filename
    backend.file_path = str(path)
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield FileKeyring(backend=backend, path=path)
    finally:
        keyring.set_keyring(previous)
