"""Operational logging through structlog, paid for only when asked for.

structlog costs ~0.1 s to import, so a plain ``prodsql -c`` never imports it:
until :func:`configure` runs, :func:`log` does nothing. Never pass a secret here.
"""

from __future__ import annotations

import sys
from typing import Any

_logger: Any = None


def configure(*, verbose: bool, fmt: str | None) -> None:
    global _logger
    if not verbose and fmt is None:
        return
    import logging

    import structlog

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.INFO
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _logger = structlog.get_logger("prodsql")


def log(event: str, **fields: Any) -> None:
    if _logger is not None:
        _logger.info(event, **fields)


def debug(event: str, **fields: Any) -> None:
    if _logger is not None:
        _logger.debug(event, **fields)
