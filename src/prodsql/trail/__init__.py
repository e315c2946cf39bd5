"""The client-side trail: one append-only, hash-chained JSON-lines file per session.

The format is specified in docs/trail-format.md. A statement's intent record is
written and fsynced before the statement is sent; if the trail cannot be written,
nothing is sent.
"""

from prodsql.trail.reader import read_records
from prodsql.trail.records import FORMAT_VERSION, GENESIS, KINDS, RESERVED, canonical_bytes
from prodsql.trail.verify import VerifyResult, VerifyStatus, verify_file
from prodsql.trail.writer import TrailWriter, trail_file_name

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
