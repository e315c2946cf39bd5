"""Drive the real ``prodsql`` shell in a pseudo-terminal (pexpect) and read its trail."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pexpect

from prodsql.trail import VerifyStatus, verify_file
from support.cli import PRODSQL, only_trail, trail_files

# The transaction state word, its colour's reset, then psql's "=>".
PROMPT = r"(idle|in-txn|FAILED-txn|disconnected)(?:\x1b\[[0-9;]*m)*=>"
# What prompt_toolkit may write between two characters of an input line it redraws:
# colours (the highlighting), cursor moves and show/hide, line wrapping switches.
_TERMINAL_NOISE = r"(?:\x1b\[[0-9;?]*[A-Za-z]|[\b\r])*"


def on_screen(text: str) -> str:
    """A pattern for ``text`` as the terminal shows it: escape sequences may come between
    any two characters (the highlighter colours each token on its own)."""
    return _TERMINAL_NOISE.join(re.escape(c) for c in text)


class Pty:
    """One ``prodsql`` shell; everything it wrote is kept in ``output``."""

    def __init__(self, child: pexpect.spawn, trail_dir: Path) -> None:
        self.child, self.trail_dir = child, trail_dir
        self.log = io.StringIO()
        child.logfile_read = self.log

    @property
    def output(self) -> str:
        return self.log.getvalue()

    def prompt(self, timeout: float = 30) -> str:
        self.child.expect(PROMPT, timeout=timeout)
        return str(self.child.match.group(1))

    def line(self, text: str) -> None:
        """Type a line (an answer, or part of a statement that does not end yet)."""
        self.child.send(text + "\r")

    def run(self, text: str) -> None:
        """Submit at the main prompt; prompt_toolkit redraws the accepted prompt first."""
        self.child.send(text + "\r")
        self.child.expect(PROMPT, timeout=30)

    def expect(self, pattern: str, timeout: float = 30) -> None:
        self.child.expect(pattern, timeout=timeout)

    def records(self) -> list[dict[str, Any]]:
        return only_trail(self.trail_dir)


def spawn_shell(args: Sequence[str], env: Mapping[str, str], trail_dir: Path) -> Pty:
    """``prodsql ARGS`` in a 40x160 terminal, colours on, no cursor position requests."""
    child = pexpect.spawn(
        PRODSQL[0],
        [*PRODSQL[1:], *args],
        env={"TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", **env},
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=30,
    )
    return Pty(child, trail_dir)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def wait_until_sent(pty: Pty, needle: str) -> None:
    """Until the statement's intent record is in the trail (written right before sending)."""

    def trailed() -> bool:
        return any(needle in p.read_text(encoding="utf-8") for p in trail_files(pty.trail_dir))

    wait_until(trailed, f"{needle!r} reached the trail")


def finish(pty: Pty, code: int = 0) -> list[dict[str, Any]]:
    """Wait for the shell to exit with ``code``; its trail must verify INTACT."""
    pty.child.expect(pexpect.EOF, timeout=60)
    pty.child.close()
    assert pty.child.exitstatus == code, pty.output[-2000:]
    [path] = trail_files(pty.trail_dir)
    assert verify_file(path).status == VerifyStatus.INTACT
    return pty.records()


def statements(records: list[dict[str, Any]], source: str = "shell") -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "statement" and r["source"] == source]


def of_kind(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == kind]


def meta(records: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "meta" and r["command"] == command]


def outcome_of(records: list[dict[str, Any]], stmt: int) -> dict[str, Any]:
    [outcome] = [r for r in records if r["kind"] == "outcome" and r["stmt"] == stmt]
    return outcome
