"""SIGTERM and SIGHUP end a session the way Ctrl-C does: with a trail record.

The handler raises :class:`Terminated` where the main thread is. While a prompt_toolkit
prompt runs, that could be inside one of its callbacks, where its event loop would catch
the exception, print it and wait for Enter; so a running prompt registers a *deferral*
that makes the prompt itself end with :class:`Terminated` instead. Only the first signal
counts: later ones are ignored while the session ends.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from types import FrameType

# Returns True when it took care of the signal (a prompt will raise Terminated).
Deferral = Callable[[int], bool]
_deferral: Deferral | None = None
_fired: int | None = None  # the signal that is ending the session, once one has


class Terminated(BaseException):
    """SIGTERM/SIGHUP: end the session with a trail record, like Ctrl-C."""


def defer_to(deferral: Deferral | None) -> Deferral | None:
    """Route the signals to ``deferral`` (None: raise again); returns the previous one."""
    global _deferral
    previous, _deferral = _deferral, deferral
    return previous


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    global _fired
    if _fired is not None:
        # The session is already ending: a second signal (a lost SSH connection sends
        # SIGHUP twice) must not cut short the cancel, the outcome record or the close.
        return
    _fired = signum
    deferral = _deferral
    if deferral is not None and deferral(signum):
        return
    raise Terminated(signum)


def install() -> dict[int, object]:
    global _fired
    _fired = None
    previous: dict[int, object] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        # Outside the main thread (a test driving main()) signals cannot be handled.
        with contextlib.suppress(ValueError):
            previous[sig] = signal.signal(sig, _raise_terminated)
    return previous


def restore(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
