"""Verifying a trail file: the hash chain, the order, the session, the HMAC.

Streaming and constant-memory. Stops at the first problem and names it by line and
seq; every problem is a status, never an exception.
"""

from __future__ import annotations

import dataclasses
import hmac
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from prodsql.trail.records import (
    FORMAT_VERSION,
    GENESIS,
    HEX64_RE,
    KIND_RE,
    KINDS,
    MAX_LINE_BYTES,
    canonical_bytes,
    iter_lines,
    parse_line,
    record_hash,
    record_hmac,
    sealed_line,
)


class VerifyStatus(IntEnum):
    """The verdict on one file; also the exit code of ``prodsql verify``."""

    INTACT = 0
    TAMPERED = 1
    UNREADABLE = 2
    NOT_CLOSED = 3


@dataclass(frozen=True)
class VerifyResult:
    """What verify_file found. ``records`` and ``final_hash`` describe the intact
    prefix: the records that verified before the first problem."""

    path: Path
    status: VerifyStatus
    records: int
    session_id: str | None
    problem: str | None
    problem_seq: int | None
    final_hash: str | None
    hmac_checked: bool
    torn_tail: bool
    problem_line: int | None = None


class _Found(Exception):
    """A problem at the current line; carries the status it gives the file."""

    def __init__(self, status: VerifyStatus, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(slots=True)
class _Chain:
    """What the records verified so far promise about the next one."""

    key: bytes | None
    records: int = 0
    last_hash: str = GENESIS
    session_id: str | None = None
    end_line: int | None = None


def verify_file(path: Path, *, hmac_key: bytes | None = None) -> VerifyResult:
    """Check every record of a trail file; see docs/trail-format.md for the verdicts."""
    return verify_reading(path, hmac_key=hmac_key)[0]


def verify_reading(
    path: Path,
    *,
    hmac_key: bytes | None = None,
    reader: Callable[[Iterator[dict[str, object]]], object] | None = None,
) -> tuple[VerifyResult, object]:
    """verify_file, with ``reader`` given the records as they verify (one parse for
    both); returns the verdict and what ``reader`` returned. ``reader`` saw every record
    of the file only when the verdict is INTACT."""
    chain = _Chain(key=hmac_key)
    box: list[VerifyResult] = []
    read: object = None
    try:
        with path.open("rb") as stream:
            records = _verify_lines(path, iter_lines(stream), chain, box)
            if reader is not None:
                read = reader(records)
            for _ in records:
                pass
    except OSError as exc:
        problem = f"cannot read: {exc.strerror or exc}"
        return _result(path, chain, VerifyStatus.UNREADABLE, problem, line=None), read
    return box[0], read


def _verify_lines(
    path: Path, lines: Iterator[bytes], chain: _Chain, box: list[VerifyResult]
) -> Iterator[dict[str, object]]:
    """Each record once it verifies; the verdict is appended to ``box`` at the end."""
    line = 0
    for line, raw in enumerate(lines, start=1):
        if not raw.endswith(b"\n"):
            box.append(_torn(path, chain, line, raw))
            return
        try:
            record = _check_line(raw, line, chain)
        except _Found as found:
            problem = f"line {line}: {found.text}"
            box.append(_result(path, chain, found.status, problem, line=line))
            return
        yield record
    if line == 0:
        box.append(_result(path, chain, VerifyStatus.NOT_CLOSED, "empty file: no records", None))
    elif chain.end_line is None:
        text = "no session_end: the session did not end cleanly, or its tail was removed"
        box.append(_result(path, chain, VerifyStatus.NOT_CLOSED, text, line=None))
    else:
        box.append(_result(path, chain, VerifyStatus.INTACT, None, line=None))


def _torn(path: Path, chain: _Chain, line: int, fragment: bytes) -> VerifyResult:
    if chain.end_line is not None:
        text = f"line {line}: data after the session_end at line {chain.end_line}"
        return _result(path, chain, VerifyStatus.TAMPERED, text, line=line)
    if line == 1 and not _could_be_record(fragment):
        text = "line 1: not a prodsql trail record (and no newline)"
        return _result(path, chain, VerifyStatus.UNREADABLE, text, line=line)
    if len(fragment) > MAX_LINE_BYTES:
        text = f"line {line}: longer than {MAX_LINE_BYTES} bytes: not a trail record"
        status = VerifyStatus.UNREADABLE if line == 1 else VerifyStatus.TAMPERED
        return _result(path, chain, status, text, line=line)
    text = f"line {line}: incomplete last record (torn by a crash mid-write); the rest verifies"
    return _result(path, chain, VerifyStatus.NOT_CLOSED, text, line=line, torn=True)


def _could_be_record(fragment: bytes) -> bool:
    # The writer's lines all begin like this; a crash can cut anywhere after byte 0.
    start = b'{"v":'
    return fragment.startswith(start) or start.startswith(fragment)


def _result(
    path: Path,
    chain: _Chain,
    status: VerifyStatus,
    problem: str | None,
    line: int | None,
    *,
    torn: bool = False,
) -> VerifyResult:
    return VerifyResult(
        path=path,
        status=status,
        records=chain.records,
        session_id=chain.session_id,
        problem=problem,
        problem_seq=None if line is None else line - 1,
        final_hash=chain.last_hash if chain.records else None,
        hmac_checked=chain.key is not None and chain.records > 0,
        torn_tail=torn,
        problem_line=line,
    )


def _check_line(raw: bytes, line: int, chain: _Chain) -> dict[str, object]:
    sealed = sealed_line(raw)
    if sealed is not None and _passes(sealed[0], chain, sealed[1]):
        record = sealed[0]
    else:
        record = _parse(raw, line)
        if not _passes(record, chain, None):
            _find_problem(record, line, chain)
    chain.records += 1
    chain.last_hash = str(record["hash"])
    if chain.session_id is None:
        chain.session_id = str(record["sid"])
    if record["kind"] == "session_end":
        chain.end_line = line
    return record


def _find_problem(record: dict[str, object], line: int, chain: _Chain) -> None:
    """Run every check in order; raise for the first that fails (each names its problem)."""
    for check in _CHECKS:
        problem = check(record, line, chain)
        if problem:
            seq = record.get("seq")
            where = f"seq {seq}: " if type(seq) is int else ""
            raise _Found(VerifyStatus.TAMPERED, where + problem)


def _passes(record: dict[str, object], chain: _Chain, payload: bytes | None) -> bool:
    """Whether every one of _CHECKS would pass, answered in one go for the usual record;
    ``payload`` is its canonical bytes when already known.

    Stricter than the checks, never looser: a False only sends the record through them.
    ``prev`` needs no hex check when it equals the last hash (hex, or GENESIS), nor
    ``hash`` when it equals a SHA-256 hexdigest.
    """
    get = record.get
    seq, kind, sid, prev = get("seq"), get("kind"), get("sid"), get("prev")
    if (
        type(seq) is not int
        or seq != chain.records
        or get("v") != FORMAT_VERSION
        or type(get("v")) is not int
        or type(kind) is not str
        or kind not in _PLAIN_KINDS
        or type(sid) is not str
        or type(get("ts")) is not str
        or prev != chain.last_hash
        or chain.end_line is not None
        or (chain.session_id is not None and sid != chain.session_id)
        or (kind == "session_end" and get("final_hash", prev) != prev)
    ):
        return False
    if payload is None:
        try:
            payload = canonical_bytes(record)
        except (ValueError, RecursionError):
            return False
    if record_hash(payload) != get("hash"):
        return False
    return chain.key is None or _hmac_matches(chain.key, payload, get("hmac"))


def _hmac_matches(key: bytes, payload: bytes, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(record_hmac(key, payload), given)


def _parse(raw: bytes, line: int) -> dict[str, object]:
    """The line as a record; the first line decides whether this is a trail at all."""
    first = line == 1
    try:
        record = parse_line(raw)
    except ValueError as exc:
        status = VerifyStatus.UNREADABLE if first else VerifyStatus.TAMPERED
        raise _Found(status, f"{exc}{': not a prodsql trail' if first else ''}") from None
    version = record.get("v")
    if first and "v" not in record:
        raise _Found(VerifyStatus.UNREADABLE, "no format version 'v': not a prodsql trail")
    if first and version != FORMAT_VERSION:
        raise _Found(VerifyStatus.UNREADABLE, f"format version {version!r} is not supported")
    return record


def _check_shape(record: dict[str, object], line: int, chain: _Chain) -> str | None:
    missing = [k for k in ("seq", "ts", "sid", "kind", "prev", "hash") if k not in record]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    version, seq = record.get("v"), record["seq"]
    if type(version) is not int or version != FORMAT_VERSION:
        return f"format version {version!r} where {FORMAT_VERSION} was expected"
    if type(seq) is not int or seq < 0:
        return f"seq {seq!r} is not a sequence number"
    if not isinstance(record["kind"], str) or not KIND_RE.fullmatch(record["kind"]):
        return f"kind {record['kind']!r} is not a record kind"
    if not isinstance(record["sid"], str) or not isinstance(record["ts"], str):
        return "sid and ts must be strings"
    for name in ("prev", "hash"):
        if not _is_hex64(record[name]):
            return f"{name} is not a SHA-256 hex digest"
    return None


def _check_hash(record: dict[str, object], line: int, chain: _Chain) -> str | None:
    try:
        payload = canonical_bytes(record)
    except (ValueError, RecursionError) as exc:
        # Only a hand-made line gets here: the writer never produces one (1e400, "\ud800").
        return f"the record has content the writer cannot produce ({exc})"
    if record_hash(payload) != record["hash"]:
        return "the record was changed (its content does not match its hash)"
    return None


def _check_hmac(record: dict[str, object], line: int, chain: _Chain) -> str | None:
    if chain.key is None:
        return None
    given = record.get("hmac")
    if given is None:
        return "no hmac, but a key was given (written without the key, or the hmac removed)"
    expected = record_hmac(chain.key, canonical_bytes(record))
    if not isinstance(given, str) or not hmac.compare_digest(expected, given):
        return "hmac mismatch (wrong key, or the record was rewritten)"
    return None


def _check_session(record: dict[str, object], line: int, chain: _Chain) -> str | None:
    if chain.session_id is not None and record["sid"] != chain.session_id:
        return (
            f"record from another session (sid {record['sid']!r}; "
            f"this file's session is {chain.session_id!r})"
        )
    return None


def _check_after_end(record: dict[str, object], line: int, chain: _Chain) -> str | None:
    if chain.end_line is not None:
        return f"record after the session_end at line {chain.end_line}: session_end must be last"
    return None


def _check_order(record: dict[str, object], line: int, chain: _Chain) -> str | None:
    seq, expected = record["seq"], chain.records
    assert isinstance(seq, int)
    if seq == expected and record["prev"] == chain.last_hash:
        return None
    if seq == expected:
        if expected == 0:
            return "the first record's prev is not the zero hash: the file's head was replaced"
        return f"prev does not match the hash of line {line - 1}: a record was replaced"
    if chain.records and record["hash"] == chain.last_hash:
        return f"duplicate of line {line - 1}"
    if seq < expected:
        return f"seq already used (last was {expected - 1}): a duplicated, inserted or moved record"
    return (
        f"seq {expected} was expected here: {seq - expected} record(s) removed before this "
        "line, or records out of order"
    )


def _check_end_hash(record: dict[str, object], line: int, chain: _Chain) -> str | None:
    if (
        record["kind"] == "session_end"
        and record.get("final_hash", record["prev"]) != (record["prev"])
    ):
        return "session_end's final_hash does not match the chain"
    return None


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and HEX64_RE.fullmatch(value) is not None


# Kinds the fast path knows match KIND_RE; any other kind goes through _check_shape.
_PLAIN_KINDS = frozenset(k for k in KINDS if KIND_RE.fullmatch(k))
_Check = Callable[[dict[str, object], int, _Chain], str | None]
_CHECKS: tuple[_Check, ...] = (
    _check_shape,
    _check_hash,
    _check_hmac,
    _check_session,
    _check_after_end,
    _check_order,
    _check_end_hash,
)


# -- many files at once ------------------------------------------------------------------

# A plain interpreter, not multiprocessing: its spawn and forkserver re-import the caller's
# __main__ (a script without a __main__ guard would run again), and fork is unsafe with
# threads. The key travels on stdin, never on the command line.
_WORKER = "from prodsql.trail.verify import serve_verify; serve_verify()"


class BackgroundVerify:
    """verify_file for many files in worker processes, while the caller does other work.

    The results are those of verify_file on each path, in order; any share a worker could
    not deliver (it could not start, died, or answered nonsense) is verified here instead.

    ``reader`` ("module:function") also reads each file in the worker, from the records
    verification parses: the function gets the path and an iterator of the records (None
    when the file did not verify: it then reads the file itself) and returns a JSON value,
    which :meth:`readings` gives back (None for a share verified here).

    With ``verify`` False the workers only read (``reader`` then gets None for every
    file), and :meth:`results` is empty.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        hmac_key: bytes | None = None,
        workers: int | None = None,
        reader: str | None = None,
        verify: bool = True,
    ) -> None:
        if not (verify or reader):
            raise ValueError("nothing to do: neither verify nor a reader")
        self._key = hmac_key
        self._reader = reader
        self._verify = verify
        count = max(1, min(len(paths), workers or os.cpu_count() or 1))
        self._shares = [list(paths[i::count]) for i in range(count)]
        self._readings: list[object] = [None] * len(paths)
        self._procs = [self._start(share) for share in self._shares]

    def _start(self, share: list[Path]) -> subprocess.Popen[bytes] | None:
        if not share:
            return None
        key = self._key.hex() if self._key is not None else None
        paths = [str(p) for p in share]
        request = {"key": key, "paths": paths, "reader": self._reader, "verify": self._verify}
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_worker_env(),
            )
        except OSError:
            return None
        return _send(proc, json.dumps(request).encode())

    def results(self) -> list[VerifyResult]:
        """Every file's result, in the order given; waits for the workers."""
        if not self._verify:
            self._collect_readings()
            return []
        results: list[VerifyResult | None] = [None] * sum(len(s) for s in self._shares)
        count = len(self._shares)
        for i, (share, proc) in enumerate(zip(self._shares, self._procs, strict=True)):
            collected = _collect(proc, share)
            if collected is None:
                results[i::count] = verify_files(share, self._key)
            else:
                results[i::count] = collected[0]
                self._readings[i::count] = collected[1]
        self._procs = [None] * count
        return [r for r in results if r is not None]

    def readings(self) -> list[object]:
        """What ``reader`` returned for each file (None where a worker did not deliver);
        complete once :meth:`results` returned (without ``verify``, this waits for it)."""
        if not self._verify:
            self._collect_readings()
        return self._readings

    def _collect_readings(self) -> None:
        count = len(self._shares)
        for i, (share, proc) in enumerate(zip(self._shares, self._procs, strict=True)):
            if proc is not None:
                self._readings[i::count] = _collect_read(proc, share) or [None] * len(share)
        self._procs = [None] * count

    def close(self) -> None:
        """Stop the workers that are still running."""
        for proc in self._procs:
            if proc is not None:
                _stop(proc)
        self._procs = [None] * len(self._procs)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _worker_env() -> dict[str, str]:
    # The worker imports this very copy of prodsql, wherever it was imported from.
    here = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(x for x in (here, env.get("PYTHONPATH")) if x)
    return env


def _send(proc: subprocess.Popen[bytes], request: bytes) -> subprocess.Popen[bytes] | None:
    assert proc.stdin is not None
    try:
        with proc.stdin:
            proc.stdin.write(request)
    except OSError:
        proc.kill()
        proc.wait()
        return None
    return proc


def _worker_items(proc: subprocess.Popen[bytes] | None) -> list[Any] | None:
    """The JSON list a worker printed, or None when it failed or printed something else."""
    if proc is None or proc.stdout is None:
        return None
    with proc.stdout:
        answer = proc.stdout.read()
    if proc.wait() != 0:
        return None
    try:
        items = json.loads(answer)
    except ValueError:
        return None
    return items if isinstance(items, list) else None


def _collect(
    proc: subprocess.Popen[bytes] | None, share: list[Path]
) -> tuple[list[VerifyResult], list[object]] | None:
    items = _worker_items(proc)
    if items is None:
        return None
    try:
        results = [_from_json(item) for item in items]
        readings = [item.get("reading") for item in items]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    same = len(results) == len(share) and all(
        r.path == p for r, p in zip(results, share, strict=False)
    )
    return (results, readings) if same else None


def _collect_read(proc: subprocess.Popen[bytes], share: list[Path]) -> list[object] | None:
    """A read-only worker's readings, or None when it did not deliver them."""
    items = _worker_items(proc)
    if items is None:
        return None
    try:
        readings = [item["reading"] for item in items]
    except (TypeError, KeyError):
        return None
    return readings if len(readings) == len(share) else None


def serve_verify() -> None:
    """The worker: a JSON request on stdin, a JSON list of results on stdout."""
    request = json.load(sys.stdin.buffer)
    key = bytes.fromhex(request["key"]) if request["key"] is not None else None
    paths = [Path(p) for p in request["paths"]]
    name = request.get("reader")
    if not name:
        answer: list[dict[str, object]] = [_to_json(r) for r in verify_files(paths, key)]
    else:
        module, _, function = name.partition(":")
        read = getattr(importlib.import_module(module), function)
        if request.get("verify", True):
            answer = [_verify_and_read(path, key, read) for path in paths]
        else:
            answer = [{"reading": read(path, None)} for path in paths]
    sys.stdout.write(json.dumps(answer))


def _verify_and_read(
    path: Path,
    key: bytes | None,
    read: Callable[[Path, Iterator[dict[str, object]] | None], object],
) -> dict[str, object]:
    result, reading = verify_reading(path, hmac_key=key, reader=lambda rs: read(path, rs))
    if result.status is not VerifyStatus.INTACT:
        reading = read(path, None)  # verification stopped early: the reader saw a prefix
    return {**_to_json(result), "reading": reading}


def _to_json(result: VerifyResult) -> dict[str, object]:
    return {**dataclasses.asdict(result), "path": str(result.path), "status": int(result.status)}


def _from_json(item: dict[str, Any]) -> VerifyResult:
    fields = {k: v for k, v in item.items() if k != "reading"}
    return VerifyResult(
        **{**fields, "path": Path(item["path"]), "status": VerifyStatus(item["status"])}
    )


def verify_files(paths: Sequence[Path], hmac_key: bytes | None = None) -> list[VerifyResult]:
    return [verify_file(path, hmac_key=hmac_key) for path in paths]
