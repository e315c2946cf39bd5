"""The trail record format: reserved fields, canonical bytes, hashes, line parsing.

docs/trail-format.md is the specification; this module is its one implementation,
shared by the writer and the verifier so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO

FORMAT_VERSION = 1
KINDS = (
    "session_start",
    "statement",
    "outcome",
    "refused",
    "meta",
    "connected",
    "reconnect",
    "session_end",
)
RESERVED = frozenset({"v", "seq", "ts", "sid", "kind", "prev", "hash", "hmac"})
GENESIS = "0" * 64
_UNSEALED = frozenset({"hash", "hmac"})
# A bound on one line, so a file that is not a trail (no newlines for gigabytes)
# cannot make the reader hold it all in memory.
MAX_LINE_BYTES = 64 * 1024 * 1024

KIND_RE = re.compile(r"[a-z_]+")
HEX64_RE = re.compile(r"[0-9a-f]{64}")


def canonical_bytes(record: Mapping[str, object]) -> bytes:
    """The bytes the hash and HMAC cover: the record without ``hash``/``hmac``,
    keys sorted, no whitespace, UTF-8. Raises TypeError/ValueError for values JSON
    cannot carry exactly (objects, NaN) and UnicodeEncodeError for lone surrogates."""
    body = {k: v for k, v in record.items() if k not in _UNSEALED}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def record_hash(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def record_hmac(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def encode_line(record: Mapping[str, object]) -> bytes:
    """The record as one line of the file, fields in the order they were set."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def utc_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z``; a naive datetime is taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines of a binary stream, each with its ``\\n`` unless it is a torn tail.

    A line longer than MAX_LINE_BYTES is yielded cut at that length, without its
    newline, so callers see it as incomplete and stop.
    """
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        yield raw
        if not raw.endswith(b"\n"):
            return


def parse_line(raw: bytes) -> dict[str, object]:
    """One complete line as a JSON object. Raises ValueError saying what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("nested too deeply to be a trail record") from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # Two readers could disagree on which of two equal keys counts; the hash must
    # cover exactly one meaning, so a repeated key is malformed.
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")
