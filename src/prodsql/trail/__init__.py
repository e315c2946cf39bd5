"""The client-side trail: one append-only, hash-chained JSON-lines file per session.

The format is specified in docs/trail-format.md. A statement's intent record is
written and fsynced before the statement is sent; if the trail cannot be written,
nothing is sent.

The names below load their module on first use, so a session that only writes a trail
does not pay for the reader and the verifier at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prodsql.trail.reader import read_records
    from prodsql.trail.records import FORMAT_VERSION, GENESIS, KINDS, RESERVED, canonical_bytes
    from prodsql.trail.verify import VerifyResult, VerifyStatus, verify_file
    from prodsql.trail.writer import TrailWriter, trail_file_name

_WHERE = {
    "read_records": "reader",
    "FORMAT_VERSION": "records",
    "GENESIS": "records",
    "KINDS": "records",
    "RESERVED": "records",
    "canonical_bytes": "records",
    "VerifyResult": "verify",
    "VerifyStatus": "verify",
    "verify_file": "verify",
    "TrailWriter": "writer",
    "trail_file_name": "writer",
}

__all__ = [
    "FORMAT_VERSION",
    "GENESIS",
    "KINDS",
    "RESERVED",
    "TrailWriter",
    "VerifyResult",
    "VerifyStatus",
    "canonical_bytes",
    "read_records",
    "trail_file_name",
    "verify_file",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'prodsql.trail' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"prodsql.trail.{module}"), name)
    globals()[name] = value
    return value
