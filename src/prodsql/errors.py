"""One error root for everything prodsql tells a user.

Library code raises a subclass of :class:`Error`; the CLI prints
:meth:`Error.diagnostics` and exits with :attr:`Error.exit_code`. Errors from
psycopg, boto3, keyring or the OS are translated where they enter, so no
traceback ever reaches a user unless ``--verbose`` asks for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the statement path (``-c``/``-f`` and the shell)."""

    OK = 0
    STATEMENT_FAILED = 1
    USAGE = 2
    CONNECTION = 3
    POSTURE = 4
    REFUSED = 5
    TRAIL = 6
    INTERRUPTED = 130


class Error(Exception):
    """Root of every error prodsql explains to a user."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The text shown to the user: what went wrong, then what to do next."""
        text = f"prodsql: error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class UsageError(Error):
    """Bad command line, ticket or input file."""


class ConfigError(Error):
    """The configuration file is missing, malformed or has a wrong key or type."""


class AuthError(Error):
    """Credentials could not be obtained (IAM token, keyring, password)."""

    exit_code = ExitCode.CONNECTION


class ConnectError(Error):
    """The server could not be reached or refused the connection."""

    exit_code = ExitCode.CONNECTION


class PostureError(Error):
    """The server would not audit this session as required."""

    exit_code = ExitCode.POSTURE


class TrailError(Error):
    """The trail could not be written; nothing is sent without it."""

    exit_code = ExitCode.TRAIL


class TrailFormatError(Error):
    """A trail file could not be read or parsed."""


class PolicyRefusal(Error):
    """A statement was refused by the statement policy, or needs a confirmation."""

    exit_code = ExitCode.REFUSED


class StatementError(Error):
    """A statement failed on the server.

    ``hint`` is prodsql's own next step; what the server said beside its message is
    ``server`` (psql's ``LINE``/caret, ``DETAIL``, ``HINT``, ``QUERY``, ``CONTEXT``)."""

    exit_code = ExitCode.STATEMENT_FAILED

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        hint: str | None = None,
        status: str = "error",
        server: ServerDiagnostics | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate
        self.status = status
        self.server = server or ServerDiagnostics()

    def diagnostics(self) -> str:
        code = f" (SQLSTATE {self.sqlstate})" if self.sqlstate else ""
        lines = [f"prodsql: ERROR{code}: {self.message}", *self.server.lines()]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ServerDiagnostics:
    """The fields psql prints after an error's message, in psql's order (libpq's
    pqBuildErrorMessage3 at the default verbosity)."""

    position: tuple[str, ...] = ()  # ``LINE n: ...`` and the caret line
    detail: str | None = None
    hint: str | None = None
    query: str | None = None
    context: str | None = None

    def lines(self) -> list[str]:
        labelled = [
            ("DETAIL", self.detail),
            ("HINT", self.hint),
            ("QUERY", self.query),
            ("CONTEXT", self.context),
        ]
        return [*self.position, *(f"{label}:  {text}" for label, text in labelled if text)]
