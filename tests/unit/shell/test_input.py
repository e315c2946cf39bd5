from __future__ import annotations

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from prodsql.shell.app import _key_bindings
from prodsql.shell.input import is_complete, plain_prompt, prompt_parts


@pytest.mark.parametrize(
    ("text", "done"),
    [
        ("", True),
        ("select 1", False),
        ("select 1;", True),
        ("select ';'", False),
        ("select $$;$$", False),
        ("select 1 -- ;", False),
        ("select /* ; */ 1", False),
        ("select $$;$$;", True),
        ("\\dt", True),
        ("select 1\n\\x", True),
        ("create function f() returns int begin atomic select 1;", False),
    ],
)
def test_enter_runs_only_a_complete_buffer(text: str, done: bool) -> None:
    assert is_complete(text) is done


def test_prompt_shows_mode_and_transaction_state() -> None:
    parts = prompt_parts("prod", "OPS-1", "write", "in_transaction")
    assert plain_prompt(parts) == "prod OPS-1 WRITE in-txn=> "
    assert ("class:mode.write", "WRITE") in parts
    assert plain_prompt(prompt_parts("p", None, "read-only", "failed")).endswith("FAILED-txn=> ")


def test_multi_line_input_through_a_pipe() -> None:
    from prompt_toolkit import PromptSession

    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        session: PromptSession[str] = PromptSession(multiline=True, key_bindings=_key_bindings())
        pipe.send_text("select 'a;\r")  # inside a quote: Enter continues the statement
        pipe.send_text("b'\r")
        pipe.send_text(";\r")
        assert session.prompt() == "select 'a;\nb'\n;"
