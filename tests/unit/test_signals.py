"""SIGTERM/SIGHUP routing: the first signal ends the session, later ones are ignored, and a
prompt that returns after a signal still ends with it."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest

from prodsql import _signals
from prodsql.shell.app import _PromptSignals


@pytest.fixture
def installed() -> Any:
    previous = _signals.install()
    yield
    _signals.restore(previous)


def test_only_the_first_signal_raises(installed: None) -> None:
    with pytest.raises(_signals.Terminated):
        _signals._raise_terminated(signal.SIGTERM, None)
    # The session is ending: a second signal must not cut its clean-up short.
    _signals._raise_terminated(signal.SIGHUP, None)
    _signals._raise_terminated(signal.SIGTERM, None)


def test_install_arms_the_handler_again(installed: None) -> None:
    with pytest.raises(_signals.Terminated):
        _signals._raise_terminated(signal.SIGTERM, None)
    _signals.install()
    with pytest.raises(_signals.Terminated):
        _signals._raise_terminated(signal.SIGHUP, None)


class FakeApp:
    """A prompt whose answer is already set (Enter was pressed) but still running."""

    is_running = True

    def __init__(self) -> None:
        self.future: asyncio.Future[str] | None = None
        self.exits: list[BaseException] = []

    def exit(self, exception: BaseException) -> None:
        self.exits.append(exception)


def prompt_returns_after_a_signal(signals: _PromptSignals) -> None:
    with signals:
        _signals._raise_terminated(signal.SIGTERM, None)  # deferred to the prompt...
        # ...which returns its text all the same: what was typed must not run.


def test_a_signal_as_the_prompt_returns_still_ends_the_session(installed: None) -> None:
    loop = asyncio.new_event_loop()
    try:
        signals = _PromptSignals()
        signals.app, signals.loop = FakeApp(), loop
        with pytest.raises(_signals.Terminated):
            prompt_returns_after_a_signal(signals)
        assert signals.signum == signal.SIGTERM
    finally:
        loop.close()


def test_a_prompt_without_a_signal_returns_normally(installed: None) -> None:
    with _PromptSignals() as signals:
        pass
    assert signals.signum is None


def test_outside_a_prompt_the_signal_raises_where_it_lands(installed: None) -> None:
    with pytest.raises(_signals.Terminated):
        prompt_returns_after_a_signal(_PromptSignals())  # no app running: raised at once
