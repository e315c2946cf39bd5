from __future__ import annotations

import copy
import logging
import pickle
import traceback
from dataclasses import dataclass

import pytest
import structlog

from prodsql.auth import Secret

VALUE = "hunter2-correct-horse"
MASK = "Secret('***')"


def test_reveal_returns_the_value() -> None:
    assert Secret(VALUE).reveal() == VALUE


def test_every_rendering_is_masked() -> None:
    s = Secret(VALUE)
    renderings = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>40}", format(s)]
    assert all(r.strip() == MASK for r in renderings)


def test_containers_and_dataclasses_stay_masked() -> None:
    @dataclass(frozen=True)
    class Holder:
        password: Secret

    s = Secret(VALUE)
    for text in (repr([s]), str({"pw": s}), repr(Holder(s))):
        assert VALUE not in text
        assert MASK in text


def test_equality_by_value_only_between_secrets() -> None:
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret("other")
    assert Secret(VALUE) != VALUE
    assert len({Secret(VALUE), Secret(VALUE)}) == 1


def test_only_wraps_str() -> None:
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_immutable() -> None:
    s = Secret(VALUE)
    with pytest.raises(AttributeError):
        s._value = "changed"
    with pytest.raises(AttributeError):
        del s._value
    assert s.reveal() == VALUE


def test_not_picklable_but_copyable() -> None:
    s = Secret(VALUE)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(s)
    assert copy.copy(s) is s
    assert copy.deepcopy({"pw": s})["pw"] == s


def test_stdlib_logging_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret(VALUE)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("prodsql.test").info("password=%s args=%r", s, (s,))
        try:
            raise ValueError(s)
        except ValueError:
            logging.getLogger("prodsql.test").exception("failed with %s", s)
    assert caplog.records
    assert VALUE not in caplog.text
    assert MASK in caplog.text


def test_structlog_renderers_are_masked() -> None:
    event = {"event": "connect", "password": Secret(VALUE)}
    for render in (
        structlog.processors.JSONRenderer(),
        structlog.dev.ConsoleRenderer(colors=False),
    ):
        text = render(None, "info", dict(event))
        assert VALUE not in str(text)
        assert "***" in str(text)


def test_exception_text_is_masked() -> None:
    try:
        raise RuntimeError(f"could not connect with {Secret(VALUE)}")
    except RuntimeError:
        text = traceback.format_exc()
    assert VALUE not in text
