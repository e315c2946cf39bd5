"""Warnings from background threads (the break-glass watchdog) while a prompt is shown.

Printed straight to the terminal, such a line lands in the middle of the prompt and what
the user is typing. While the shell shows a prompt it registers a hook that prints the
line above the prompt (prompt_toolkit's ``run_in_terminal``) and redraws it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

# Returns True when it took the line (a prompt is shown and will print it above itself).
Hook = Callable[[str], bool]
_hook: Hook | None = None


def say_through(hook: Hook | None) -> Hook | None:
    """Route ``say`` to ``hook`` (None: straight to the stream); returns the previous one."""
    global _hook
    previous, _hook = _hook, hook
    return previous


def say(line: str, stream: IO[str]) -> None:
    """Print one line for the user, above the prompt when one is shown."""
    hook = _hook
    if hook is not None and hook(line):
        return
    print(line, file=stream, flush=True)
