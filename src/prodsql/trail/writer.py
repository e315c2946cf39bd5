"""The trail writer: one append-only, hash-chained JSON-lines file per session.

Fail closed: a record that cannot be written and synced raises TrailError, the file
is cut back to its last complete record, and the writer refuses everything after.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import re
import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from prodsql.errors import TrailError
from prodsql.trail.records import (
    FORMAT_VERSION,
    GENESIS,
    KIND_RE,
    MAX_LINE_BYTES,
    RESERVED,
    canonical_bytes,
    encode_line,
    utc_timestamp,
)

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_NAME_PART_MAX = 64
# Signals whose Python handlers raise (Ctrl-C, SIGTERM/SIGHUP in prodsql): held back
# while a record is written, so an interrupt never lands between the bytes reaching
# the file and the writer's chain state moving on. The mask is per thread; when another
# thread takes the signal, _write rolls the record back instead.
_HELD_SIGNALS = frozenset(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGALRM")
    if hasattr(signal, name)
)
_sync = getattr(os, "fdatasync", os.fsync)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TrailWriter:
    """Appends records to one session's trail file; see docs/trail-format.md."""

    def __init__(
        self,
        path: Path,
        fd: int,
        *,
        session_id: str,
        hmac_key: bytes | None,
        now: Callable[[], datetime],
    ) -> None:
        self.path = path
        self.session_id = session_id
        self.last_hash = GENESIS
        self.next_seq = 0
        self._fd: int | None = fd
        self._size = 0
        self._mac = hmac.new(hmac_key, digestmod=hashlib.sha256) if hmac_key is not None else None
        self._now = now
        self._failure: str | None = None
        self._end: dict[str, object] | None = None

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        session_id: str,
        ticket: str | None,
        hmac_key: bytes | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> TrailWriter:
        """Create a new trail file (never reuse one) in ``directory``, made 0700."""
        clock = now or _utc_now
        _prepare_directory(directory)
        path = directory / trail_file_name(clock(), ticket, session_id)
        flags = os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise _os_error("cannot create the trail file", path, exc) from None
        _sync_directory(directory)
        return cls(path, fd, session_id=session_id, hmac_key=hmac_key, now=clock)

    @property
    def closed(self) -> bool:
        """True once nothing more can be written: after close() or a failed write."""
        return self._fd is None

    def append(
        self, kind: str, fields: Mapping[str, object], *, sync: bool = True
    ) -> dict[str, object]:
        """Write one record (and fsync it unless ``sync`` is False); return it.

        Raises ValueError for a bad kind or a reserved field name, TrailError when
        the record cannot be encoded (nothing written, the writer stays usable) or
        written (the writer is then closed for good).
        """
        self._check_writable()
        record = self._build(kind, fields)
        line = self._encode(record)
        size, seq, digest = self._size + len(line), self.next_seq + 1, str(record["hash"])
        with _signals_held():
            self._write(line, sync=sync)
            # One assignment without calls: a Python signal handler cannot run halfway.
            self._size, self.next_seq, self.last_hash = size, seq, digest
        return record

    def close(self, how: str, fields: Mapping[str, object] | None = None) -> dict[str, object]:
        """Append ``session_end`` (fsynced) and close the file; a second call returns
        the same record. Raises TrailError if the trail already failed."""
        if self._end is not None:
            return self._end
        end: dict[str, object] = {"how": how, **(fields or {})}
        end["how"] = how
        end["final_hash"] = self.last_hash
        record = self.append("session_end", end, sync=True)
        self._end = record
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                raise _os_error("cannot close the trail file", self.path, exc) from None
        return record

    def _check_writable(self) -> None:
        if self._failure is not None:
            raise TrailError(
                f"the trail {self.path} failed earlier ({self._failure}); nothing more is sent",
                hint="end this session and start a new one once the trail directory is writable",
            )
        if self._fd is None:
            raise TrailError(f"the trail {self.path} is closed; nothing more is sent")

    def _build(self, kind: str, fields: Mapping[str, object]) -> dict[str, object]:
        if not KIND_RE.fullmatch(kind):
            raise ValueError(f"trail record kind {kind!r} is not [a-z_]+")
        clash = RESERVED.intersection(fields)
        if clash:
            raise ValueError(f"trail record fields use reserved names: {sorted(clash)}")
        return {
            "v": FORMAT_VERSION,
            "seq": self.next_seq,
            "ts": utc_timestamp(self._now()),
            "sid": self.session_id,
            "kind": kind,
            **fields,
            "prev": self.last_hash,
        }

    def _encode(self, record: dict[str, object]) -> bytes:
        """Seal the record with its hash (and HMAC) and return its line."""
        try:
            payload = canonical_bytes(record)
            record["hash"] = hashlib.sha256(payload).hexdigest()
            if self._mac is not None:
                mac = self._mac.copy()
                mac.update(payload)
                record["hmac"] = mac.hexdigest()
            line = encode_line(record)
        except (TypeError, ValueError) as exc:
            raise TrailError(
                f"cannot record this {record['kind']} record in the trail: {exc}",
                hint="nothing was written or sent; this is a bug in prodsql, please report it",
            ) from None
        if len(line) > MAX_LINE_BYTES:
            raise TrailError(
                f"this {record['kind']} record is {len(line)} bytes, over the trail's "
                f"limit of {MAX_LINE_BYTES}; nothing was written or sent",
                hint="split the statement, or load large data with COPY FROM STDIN",
            )
        return line

    def _write(self, line: bytes, *, sync: bool) -> None:
        assert self._fd is not None
        try:
            _write_all(self._fd, line)
            if sync:
                _sync(self._fd)
        except OSError as exc:
            reason = self._break(exc)
            raise TrailError(
                f"cannot write the trail {self.path}: {reason}; the statement was not sent",
                hint="free space or fix the trail directory, then start a new session",
            ) from None
        except BaseException:
            # An interrupt raised by a handler that ran in the middle (possible when
            # another thread took the signal): undo the record so the chain stays whole.
            self._roll_back()
            raise

    def _roll_back(self) -> None:
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            self._break(exc)

    def _break(self, exc: OSError) -> str:
        """Cut the file back to its last complete record and refuse all further writes;
        return the reason."""
        fd, self._fd = self._fd, None
        reason = exc.strerror or str(exc)
        self._failure = reason
        if fd is not None:
            try:
                os.ftruncate(fd, self._size)
                _sync(fd)
            except OSError as cut:
                reason += f"; cutting the partial record failed too: {cut.strerror or cut}"
            finally:
                os.close(fd)
        return reason


def trail_file_name(moment: datetime, ticket: str | None, session_id: str) -> str:
    """``<UTC yyyymmddTHHMMSSZ>-<ticket or break-glass>-<session id>.jsonl``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{_name_part(ticket or 'break-glass')}-{_name_part(session_id)}.jsonl"


def _name_part(text: str) -> str:
    return _UNSAFE_NAME.sub("_", text)[:_NAME_PART_MAX] or "_"


def _prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            directory.chmod(0o700)
    except OSError as exc:
        raise _os_error("cannot prepare the trail directory", directory, exc) from None


def _sync_directory(directory: Path) -> None:
    # Makes the new file's name durable; some filesystems refuse fsync on a
    # directory, and the file's own fsyncs still protect its content there.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "the write made no progress")
        view = view[written:]


@contextmanager
def _signals_held() -> Iterator[None]:
    if not _HELD_SIGNALS or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _os_error(what: str, path: Path, exc: OSError) -> TrailError:
    reason = exc.strerror or str(exc)
    return TrailError(
        f"{what} {path}: {reason}",
        hint="choose a writable trail directory with --trail-dir or PRODSQL_TRAIL_DIR; "
        "no statement is sent without a trail",
    )
