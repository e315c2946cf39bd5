"""boto3 sessions, with the region resolved the way AWS's own tools document it.

botocore reads ``AWS_DEFAULT_REGION`` and the profile's ``region`` but not ``AWS_REGION``,
which the AWS CLI v2, the other SDKs and most CI systems set. A configured region wins;
then ``AWS_REGION``; then botocore's own chain.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def region_or_env(region: str | None, env: Mapping[str, str] = os.environ) -> str | None:
    return region or env.get("AWS_REGION") or None


def session(region: str | None = None, profile: str | None = None) -> Any:
    """A ``boto3.Session`` (boto3 imported only here, only when AWS is used)."""
    import boto3

    return boto3.Session(profile_name=profile, region_name=region_or_env(region))
