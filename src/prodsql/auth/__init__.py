"""Credentials for a connection: RDS IAM tokens and keyring-stored passwords.

Every credential is a :class:`Secret`, which never prints its value.
"""

from prodsql.auth._secret import Secret
from prodsql.auth.iam import IamParams, generate_token
from prodsql.auth.keyring_store import (
    SERVICE,
    delete_password,
    get_password,
    keyring_username,
    prompt_password,
    set_password,
)

__all__ = [
    "SERVICE",
    "IamParams",
    "Secret",
    "delete_password",
    "generate_token",
    "get_password",
    "keyring_username",
    "prompt_password",
    "set_password",
]
