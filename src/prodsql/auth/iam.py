"""RDS IAM authentication tokens.

A token is a SigV4 presigned URL, signed locally from whatever AWS credentials
boto3 resolves (static keys, a profile, an assumed role, SSO). It lives 15
minutes and is good for one connection attempt's authentication, so one is
generated at every connect and none is ever cached.

boto3 is imported inside :func:`generate_token` only: it costs a noticeable
fraction of a second, and targets that use a password never need it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from prodsql.auth._secret import Secret
from prodsql.errors import AuthError


@dataclass(frozen=True)
class IamParams:
    """Where and as whom to authenticate; ``region=None`` means boto3's default."""

    host: str
    port: int
    user: str
    region: str | None
    profile: str | None = None
    endpoint_url: str | None = None


def generate_token(p: IamParams) -> Secret:
    """A fresh RDS IAM authentication token for ``p``; raises AuthError when none can be made."""
    import botocore.exceptions

    from prodsql.auth import aws

    try:
        session = aws.session(p.region, p.profile)
        region = p.region or session.region_name
        if not region:
            raise AuthError(
                f"no AWS region for IAM authentication to {p.host}",
                hint="set region in the target, or AWS_REGION (or AWS_DEFAULT_REGION)",
            )
        client = session.client("rds", region_name=region, endpoint_url=p.endpoint_url)
        token = client.generate_db_auth_token(
            DBHostname=p.host, Port=p.port, DBUsername=p.user, Region=region
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _translate(exc, p) from exc
    return Secret(token)


def _translate(exc: Exception, p: IamParams) -> AuthError:
    import botocore.exceptions as bce

    where = f"IAM authentication to {p.host}"
    profile = p.profile or os.environ.get("AWS_PROFILE") or "<profile>"
    if isinstance(exc, bce.ProfileNotFound):
        return AuthError(
            f"{where}: AWS profile {_profile_name(exc, p)!r} not found",
            hint="check the profile in the target, AWS_PROFILE, and ~/.aws/config",
        )
    if isinstance(exc, _sso_errors(bce)):
        return AuthError(
            f"{where}: the AWS SSO session is missing or expired",
            hint=f"run: aws sso login --profile {profile}",
        )
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return AuthError(
            f"{where}: no usable AWS credentials ({_describe(exc)})",
            hint="set AWS_PROFILE or the target's profile, or run: aws sso login --profile "
            + profile,
        )
    return AuthError(
        f"{where} failed: {_describe(exc)}",
        hint="check the AWS credentials and that the role may call rds-db:connect",
    )


def _sso_errors(bce: Any) -> tuple[type[Exception], ...]:
    names = ("SSOError", "SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError")
    return tuple(getattr(bce, n) for n in names if hasattr(bce, n))


def _profile_name(exc: Exception, p: IamParams) -> str:
    kwargs: dict[str, object] = getattr(exc, "kwargs", {})
    return str(kwargs.get("profile", p.profile))


def _describe(exc: Exception) -> str:
    # botocore messages name the failing call and the reason; they never carry keys
    # or tokens, but the class name alone would hide the useful part.
    return f"{type(exc).__name__}: {exc}"
