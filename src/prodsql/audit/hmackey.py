"""The trail HMAC key, kept in the OS keyring.

Stored under service ``prodsql``, username ``trail-hmac:<name>`` (default name
``default``), as hex digits (``python -c 'import secrets; print(secrets.token_hex(32))'``).
An absent key means no HMAC check: the hash chain is still verified.
"""

from __future__ import annotations

import keyring
import keyring.errors

from prodsql.auth.keyring_store import SERVICE
from prodsql.errors import UsageError

DEFAULT_NAME = "default"


def keyring_username(name: str) -> str:
    return f"trail-hmac:{name}"


def load_hmac_key(name: str | None) -> bytes | None:
    """The key named ``name`` (or the default one), or None when none is stored.

    An explicitly named key must be readable; the default one is optional, so a host
    without a keyring backend simply verifies without HMAC.
    """
    try:
        value = keyring.get_password(SERVICE, keyring_username(name or DEFAULT_NAME))
    except keyring.errors.KeyringError as exc:
        if name is None:
            return None
        raise UsageError(
            f"cannot read the trail HMAC key {name!r} from the keyring: {exc}"
        ) from None
    if value is None:
        if name is not None:
            raise UsageError(
                f"no trail HMAC key {name!r} in the keyring",
                hint=f"store it as service {SERVICE!r}, username {keyring_username(name)!r}",
            )
        return None
    return _decode(value, name or DEFAULT_NAME)


def _decode(value: str, name: str) -> bytes:
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        key = b""
    if not key:
        raise UsageError(
            f"the trail HMAC key {name!r} in the keyring is not hex digits",
            hint="store e.g. the output of: "
            "python -c 'import secrets; print(secrets.token_hex(32))'",
        )
    return key
