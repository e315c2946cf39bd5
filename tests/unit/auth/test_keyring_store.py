from __future__ import annotations

import getpass
import os
import subprocess
import sys
from collections.abc import Callable

import keyring
import pytest

from awsfixtures import FileKeyring
from prodsql.auth import (
    SERVICE,
    Secret,
    delete_password,
    get_password,
    keyring_username,
    prompt_password,
    set_password,
)
from prodsql.errors import AuthError

PASSWORD = "s3cr3t-Passw0rd!"


def test_round_trip_on_the_file_backend(file_keyring: FileKeyring) -> None:
    set_password("prod", "alice", Secret(PASSWORD))
    assert get_password("prod", "alice") == Secret(PASSWORD)
    assert keyring.get_password(SERVICE, keyring_username("prod", "alice")) == PASSWORD
    assert file_keyring.path.exists()

    delete_password("prod", "alice")
    with pytest.raises(AuthError, match="no password stored for target prod"):
        get_password("prod", "alice")


def test_entries_are_per_target_and_user(file_keyring: FileKeyring) -> None:
    set_password("prod", "alice", Secret("a"))
    set_password("prod", "bob", Secret("b"))
    set_password("staging", "alice", Secret("c"))
    assert [
        get_password(t, u).reveal()
        for t, u in [("prod", "alice"), ("prod", "bob"), ("staging", "alice")]
    ] == ["a", "b", "c"]


def test_missing_entry_says_how_to_log_in(file_keyring: FileKeyring) -> None:
    with pytest.raises(AuthError) as info:
        get_password("prod", "alice")
    assert info.value.hint == "run: prodsql login prod"
    assert "prodsql login prod" in info.value.diagnostics()


def test_delete_of_missing_entry(file_keyring: FileKeyring) -> None:
    with pytest.raises(AuthError, match="no password stored"):
        delete_password("prod", "alice")


def test_subprocesses_see_the_same_keyring(file_keyring: FileKeyring) -> None:
    set_password("prod", "alice", Secret(PASSWORD))
    probe = (
        "import keyring; "
        f"print(type(keyring.get_keyring()).__name__, "
        f"keyring.get_password({SERVICE!r}, 'prod:alice') == {PASSWORD!r})"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    assert result.stdout.split() == ["PlaintextKeyring", "True"]


@pytest.fixture
def failing_keyring(file_keyring: FileKeyring) -> None:
    # file_keyring restores the original backend afterwards.
    keyring.set_keyring(keyring.core.load_keyring("keyring.backends.fail.Keyring"))


@pytest.mark.usefixtures("failing_keyring")
@pytest.mark.parametrize(
    "action",
    [
        lambda: get_password("prod", "alice"),
        lambda: set_password("prod", "alice", Secret(PASSWORD)),
        lambda: delete_password("prod", "alice"),
    ],
    ids=["get", "set", "delete"],
)
def test_no_usable_backend(action: Callable[[], object]) -> None:
    with pytest.raises(AuthError) as info:
        action()
    text = info.value.diagnostics()
    assert "keyring" in info.value.message
    assert "PYTHON_KEYRING_BACKEND" in text
    assert "keyrings.alt" in text
    assert PASSWORD not in text


def fake_getpass(monkeypatch: pytest.MonkeyPatch, *answers: str | BaseException) -> list[str]:
    prompts: list[str] = []
    queue = list(answers)

    def answer(prompt: str = "Password: ", stream: object = None) -> str:
        prompts.append(prompt)
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    monkeypatch.setattr(getpass, "getpass", answer)
    return prompts


def test_prompt_twice_and_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = fake_getpass(monkeypatch, PASSWORD, PASSWORD)
    assert prompt_password("Password for prod: ") == Secret(PASSWORD)
    assert prompts[0] == "Password for prod: "
    assert len(prompts) == 2


def test_prompt_without_confirmation_asks_once(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = fake_getpass(monkeypatch, PASSWORD)
    assert prompt_password("Password: ", confirm=False) == Secret(PASSWORD)
    assert len(prompts) == 1


def test_prompt_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_getpass(monkeypatch, PASSWORD, PASSWORD + "x")
    with pytest.raises(AuthError, match="do not match") as info:
        prompt_password("Password: ")
    assert PASSWORD not in info.value.diagnostics()


def test_prompt_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_getpass(monkeypatch, "")
    with pytest.raises(AuthError, match="empty password"):
        prompt_password("Password: ")


@pytest.mark.parametrize("interruption", [EOFError(), KeyboardInterrupt()])
def test_prompt_cancelled(monkeypatch: pytest.MonkeyPatch, interruption: BaseException) -> None:
    fake_getpass(monkeypatch, PASSWORD, interruption)
    with pytest.raises(AuthError, match=r"^cancelled$"):
        prompt_password("Password: ")


def test_prompt_never_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_getpass(monkeypatch, PASSWORD, PASSWORD)
    prompt_password("Password: ")
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
