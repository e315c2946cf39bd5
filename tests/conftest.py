"""Shared pytest plugin: nothing here needs a server."""

from __future__ import annotations

import pytest

from prodsql.sandbox import describe_installation

pytest_plugins = ["awsfixtures"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    # Which server the integration tests ran against belongs in every CI log.
    return [describe_installation()]
