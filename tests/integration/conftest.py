"""Integration plugin: one real PostgreSQL + pgAudit for the whole session.

A missing server or pgAudit fails the run, in CI and on a laptop alike: a suite that skips
its integration tests silently reports green while testing nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from prodsql.sandbox import RoleSpec, Sandbox, SandboxError

RoleFactory = Callable[..., RoleSpec]
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    failure: str | None = None
    try:
        box.start()
    except SandboxError as exc:
        failure = exc.diagnostics()
    if failure is not None:  # outside the except: the report needs no exception chain
        pytest.fail(failure, pytrace=False)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def fresh_role(sandbox: Sandbox) -> Iterator[RoleFactory]:
    """``fresh_role(**RoleSpec fields except name)`` -> a new, uniquely named login role."""
    created: list[str] = []

    def make(**fields: Any) -> RoleSpec:
        fields.setdefault("password", f"pw-{secrets.token_hex(8)}")
        spec = RoleSpec(name=f"t_{secrets.token_hex(5)}", **fields)
        sandbox.create_role(spec)
        created.append(spec.name)
        return spec

    yield make
    for name in created:
        _drop_role(sandbox, name)


def _drop_role(sandbox: Sandbox, name: str) -> None:
    sandbox.admin_execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = %s",
        [name],
    )
    role = sql.Identifier(name)
    sandbox.admin_execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(role))
