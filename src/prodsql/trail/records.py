"""The trail record format: reserved fields, canonical bytes, hashes, line parsing.

docs/trail-format.md is the specification; this module is its one implementation,
shared by the writer and the verifier so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, cast

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
    if type(record) is dict:
        body = record.copy()  # much cheaper than a comprehension over the items
        body.pop("hash", None)
        body.pop("hmac", None)
    else:
        body = {k: v for k, v in record.items() if k not in _UNSEALED}
    if _CANONICAL_C is not None:
        try:
            return "".join(_CANONICAL_C(body, 0)).encode("utf-8")
        except (TypeError, ValueError, RecursionError):
            pass  # json.dumps raises the same error, with its usual message
    return _dumps(body).encode("utf-8")


def _canonical_encoder() -> Callable[[object, int], tuple[str, ...]] | None:
    # What json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    # allow_nan=False) runs, built once: json.dumps builds it again for every call, which
    # is a third of the cost of verifying a record. No circular check (markers None): a
    # parsed record cannot contain itself. Used only if it agrees with json.dumps here.
    make = getattr(json.encoder, "c_make_encoder", None)
    try:
        args = (None, json.JSONEncoder().default, json.encoder.encode_basestring, None)
        encoder = make(*args, ":", ",", True, False, False) if make else None
        probe = {"b": [1.5, None, True], "a": {"z": "é\n", "y": -2}}
        same = encoder is not None and "".join(encoder(probe, 0)) == _dumps(probe)
    except (TypeError, ValueError):
        return None
    return cast(Callable[[object, int], tuple[str, ...]], encoder) if same else None


def _dumps(body: object) -> str:
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


_CANONICAL_C = _canonical_encoder()


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
        # What the decoder does for a line the writer wrote, without its Python wrapper;
        # anything else (or any error) goes the usual way, which names the problem.
        found, end = _STRICT_SCAN(text, 0)
        if type(found) is dict and end == len(text) - 1 and text.endswith("\n"):
            return found
    except (ValueError, StopIteration, RecursionError):
        pass
    try:
        # json.loads names a BOM in its message; the decoder alone would not.
        bom = text.startswith("\ufeff")
        value: object = _decode_slowly(text) if bom else _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("nested too deeply to be a trail record") from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value


def _decode_slowly(text: str) -> object:
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # Two readers could disagree on which of two equal keys counts; the hash must
    # cover exactly one meaning, so a repeated key is malformed.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"key {key!r} appears twice")
            seen.add(key)
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


_Scan = Callable[[str, int], tuple[object, int]]


def _scanner(decoder: json.JSONDecoder) -> _Scan:
    """What ``decoder.decode`` calls to read the value at an index (an attribute the
    typing stubs leave out): called directly, it spares decode's Python wrapper."""
    scan: _Scan = vars(decoder)["scan_once"]
    return scan


# Built once: json.loads with keyword arguments builds a decoder for every line.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)
_STRICT_SCAN = _scanner(_DECODER)


# -- the verifier's fast path ------------------------------------------------------------


def sealed_line(raw: bytes) -> tuple[dict[str, object], bytes] | None:
    """A complete line as the record and its canonical bytes, in one pass that costs
    less than :func:`parse_line` and :func:`canonical_bytes`; None when the line is not
    as a writer writes it (the caller then uses those two, which say what is wrong).

    A record is the same as :func:`parse_line`'s whenever this returns one: the line is
    read without the check for repeated keys, and the length of the text stands in for
    it. Every value on a line is at least as long as its canonical encoding (JSON has
    no shorter way to write a string, number or literal than the encoder's, except a
    float in another form, which :func:`_written_float` turns away; whitespace and the
    order of keys add or change nothing), so a line as long as the canonical encoding
    of what was read, with its ``hash`` and ``hmac``, holds nothing more: not a key
    twice, whose first value the reading dropped.
    """
    if _CANONICAL_C is None:
        return None
    try:
        text = raw.decode("utf-8")
        record, end = _WRITTEN_SCAN(text, 0)
    except (ValueError, StopIteration, RecursionError):
        return None
    if type(record) is not dict or end != len(text) - 1 or not text.endswith("\n"):
        return None
    body = record.copy()
    seal = _seal_length(body.pop("hash", None))
    mac = _seal_length(body.pop("hmac")) if "hmac" in body else 0
    if seal is None or mac is None or not body:
        return None
    try:
        canonical = "".join(_CANONICAL_C(body, 0))
        if len(canonical) + seal + mac != end:
            return None
        return record, canonical.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # NaN, a lone surrogate
        return None


_SEAL_NAME = len(',"hash":')  # "hmac" is as long
_encode_string = json.encoder.encode_basestring


def _seal_length(value: object) -> int | None:
    """How much ``,"hash":VALUE`` adds to the canonical text; None for what no writer
    writes (a missing hash, a value not a string)."""
    if type(value) is not str:
        return None
    return _SEAL_NAME + len(_encode_string(value))


def _written_float(text: str) -> float:
    """A float only as the encoder writes it (``repr``); any other form is refused, as
    it may be shorter than its canonical encoding (``1e5`` for ``100000.0``)."""
    value = float(text)
    if float.__repr__(value) != text:
        raise ValueError("a float the writer would write otherwise")
    return value


# Without object_pairs_hook the C scanner builds the objects itself: sealed_line's length
# check stands in for _unique_keys.
_WRITTEN_SCAN = _scanner(json.JSONDecoder(parse_float=_written_float, parse_constant=_no_constant))
