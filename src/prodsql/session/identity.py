"""Who and what a session is: ticket, session id, the ``application_name`` tag."""

from __future__ import annotations

import getpass
import os
import re
import secrets
from dataclasses import dataclass

from prodsql.errors import UsageError

# pgAudit and the server log carry application_name verbatim; PG15 turns bytes
# outside 32..126 into '?', and 63 bytes is the hard limit.
_SAFE = re.compile(r"[^A-Za-z0-9._/-]")
APP_NAME_MAX = 63


@dataclass(frozen=True, slots=True)
class Identity:
    session_id: str
    ticket: str | None
    os_user: str
    break_glass: bool = False

    @property
    def application_name(self) -> str:
        return make_application_name(self.ticket, self.os_user, self.session_id, self.break_glass)


def new_session_id() -> str:
    """Eight hex characters: short enough for the tag, enough to be unique per host and day."""
    return secrets.token_hex(4)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def check_ticket(ticket: str | None, pattern: str) -> str:
    """Return the ticket when it matches the whole pattern; refuse otherwise."""
    if ticket is None or not ticket.strip():
        raise UsageError(
            "a ticket is required (--ticket OPS-123)",
            hint="every production session must name the ticket it works on",
        )
    ticket = ticket.strip()
    if len(ticket) > 64 or not re.fullmatch(pattern, ticket):
        raise UsageError(
            f"malformed ticket '{printable(ticket[:64])}': it must match {pattern!r}",
            hint="pass the ticket id exactly as the tracker shows it, e.g. --ticket OPS-123",
        )
    return ticket


def printable(text: str) -> str:
    """``text`` as typed, with control characters escaped (no terminal tricks in errors)."""
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def sanitise(text: str) -> str:
    return _SAFE.sub("_", text)


def make_application_name(
    ticket: str | None, user: str, session_id: str, break_glass: bool = False
) -> str:
    """``prodsql:<ticket>:<user>:<sid>``, at most 63 bytes, restricted characters.

    The session id is kept whole (it is what reconcile matches on); the ticket
    and the user are shortened when needed.
    """
    label = "break-glass" if break_glass else sanitise(ticket or "none")
    who = sanitise(user) or "unknown"
    room = APP_NAME_MAX - len("prodsql:") - len(session_id) - 2
    label = label[: max(8, room - min(len(who), 16))]
    who = who[: max(0, room - len(label))]
    return f"prodsql:{label}:{who}:{session_id}"[:APP_NAME_MAX]
