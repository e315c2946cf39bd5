"""Fixtures for trail tests: real trail files in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from prodsql.trail import TrailWriter

MakeTrail = Callable[..., Path]


class Clock:
    """A deterministic clock: each call is one millisecond later."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment


def write_session(
    directory: Path,
    *,
    sid: str = "abcd1234",
    statements: int = 2,
    key: bytes | None = None,
    close: bool = True,
) -> Path:
    """A realistic session: start, then statement + outcome pairs, then session_end."""
    w = TrailWriter.create(directory, session_id=sid, ticket="OPS-1", hmac_key=key, now=Clock())
    w.append("session_start", {"ticket": "OPS-1", "os_user": "alice", "mode": "read-only"})
    for n in range(1, statements + 1):
        w.append("statement", {"stmt": n, "source": "-c", "text": f"select {n}"})
        w.append("outcome", {"stmt": n, "status": "ok", "rows": 1}, sync=False)
    if close:
        w.close("eof", {"statements": statements})
    return w.path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_trail(tmp_path: Path) -> MakeTrail:
    counter = iter(range(1000))

    def make(
        *, sid: str = "abcd1234", statements: int = 2, key: bytes | None = None, close: bool = True
    ) -> Path:
        directory = tmp_path / f"trails{next(counter)}"
        return write_session(directory, sid=sid, statements=statements, key=key, close=close)

    return make
