"""Shell history: one 0600 file per target; statements carrying passwords are never stored."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from prodsql.policy.redact import mentions_secret

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def carries_secret(text: str) -> bool:
    """CREATE/ALTER ROLE ... PASSWORD, \\password, conninfo strings with password= or a URI
    password, and the usual spellings (the words the trail's redaction looks for): better
    to forget a harmless line than to keep a secret."""
    return mentions_secret(text)


class PrivateFileHistory(FileHistory):
    """A FileHistory whose file is created 0600 and which skips secret-bearing lines."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)  # an older file with wider permissions is tightened
        super().__init__(str(path))

    def store_string(self, string: str) -> None:
        if not carries_secret(string):
            super().store_string(string)


def history_path(env: Mapping[str, str], target: str, dsn_redacted: str) -> Path | None:
    """``$XDG_STATE_HOME/prodsql/history/<target>``; None when ``PRODSQL_HISTORY=off``."""
    setting = env.get("PRODSQL_HISTORY", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting).expanduser()
    base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    name = target
    if target in ("dsn", "libpq-defaults"):
        name += "-" + hashlib.sha256(dsn_redacted.encode()).hexdigest()[:12]
    return base / "prodsql" / "history" / (_UNSAFE.sub("_", name) or "_")


def open_history(path: Path | None) -> History:
    if path is None:
        return InMemoryHistory()
    return PrivateFileHistory(path)
