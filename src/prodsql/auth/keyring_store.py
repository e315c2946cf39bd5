"""Database passwords in the operating system's keyring.

Only long-lived passwords belong here; an IAM token expires after 15 minutes
and is generated afresh at every connect instead. Every keyring failure comes
back as an :class:`~prodsql.errors.AuthError` that says how to fix it.
"""

from __future__ import annotations

import getpass

import keyring
import keyring.errors

from prodsql.auth._secret import Secret
from prodsql.errors import AuthError

SERVICE = "prodsql"

_BACKEND_HINT = (
    "unlock or install a desktop keyring; on a headless host, pip install keyrings.alt and "
    "set PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring (stores in clear)"
)


def keyring_username(target: str, user: str) -> str:
    """The keyring entry name: one password per target and database user."""
    return f"{target}:{user}"


def get_password(target: str, user: str) -> Secret:
    """The stored password for ``user`` on ``target``; AuthError when absent or unreadable."""
    try:
        value = keyring.get_password(SERVICE, keyring_username(target, user))
    except keyring.errors.KeyringError as exc:
        raise _backend_error("read", exc) from exc
    if value is None:
        raise _missing(target, user)
    return Secret(value)


def set_password(target: str, user: str, password: Secret) -> None:
    """Store ``password`` for ``user`` on ``target``, replacing any previous one."""
    try:
        keyring.set_password(SERVICE, keyring_username(target, user), password.reveal())
    except keyring.errors.KeyringError as exc:
        raise _backend_error("store", exc) from exc


def delete_password(target: str, user: str) -> None:
    """Forget the password for ``user`` on ``target``; AuthError when none was stored."""
    try:
        keyring.delete_password(SERVICE, keyring_username(target, user))
    except keyring.errors.PasswordDeleteError as exc:
        raise _missing(target, user) from exc
    except keyring.errors.KeyringError as exc:
        raise _backend_error("delete", exc) from exc


def prompt_password(prompt: str, *, confirm: bool = True) -> Secret:
    """Read a password without echo; with ``confirm``, twice, and both must match."""
    first = _ask(prompt)
    if confirm and _ask("Repeat to confirm: ") != first:
        raise AuthError("the passwords do not match", hint="try again")
    return first


def _ask(prompt: str) -> Secret:
    try:
        value = Secret(getpass.getpass(prompt))
    except (EOFError, KeyboardInterrupt):
        raise AuthError("cancelled") from None
    if not value.reveal():
        raise AuthError("empty password", hint="type the password, or Ctrl-C to cancel")
    return value


def _missing(target: str, user: str) -> AuthError:
    return AuthError(
        f"no password stored for target {target} (user {user})",
        hint=f"run: prodsql login {target}",
    )


def _backend_error(action: str, exc: keyring.errors.KeyringError) -> AuthError:
    backend = type(keyring.get_keyring()).__qualname__
    return AuthError(
        f"cannot {action} the password in the keyring ({backend}): {exc}",
        hint=_BACKEND_HINT,
    )
