"""TrailWriter against real files: chain, naming, modes, fail-closed behaviour."""

from __future__ import annotations

import errno
import itertools
import json
import os
import signal
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from prodsql.errors import TrailError
from prodsql.trail import (
    GENESIS,
    KINDS,
    TrailWriter,
    VerifyStatus,
    canonical_bytes,
    read_records,
    verify_file,
)
from prodsql.trail import writer as writer_module
from prodsql.trail.records import record_hash, record_hmac

Clock = Callable[[], datetime]


def new_writer(directory: Path, clock: Clock, *, hmac_key: bytes | None = None) -> TrailWriter:
    return TrailWriter.create(
        directory, session_id="abcd1234", ticket="OPS-1", hmac_key=hmac_key, now=clock
    )


def test_chain_round_trip(tmp_path: Path, clock: Clock) -> None:
    w = new_writer(tmp_path, clock)
    written = [w.append(kind, {"n": i}) for i, kind in enumerate(KINDS[:-1])]
    written.append(w.close("eof", {"statements": 3}))

    read = list(read_records(w.path))
    assert read == written
    assert [r["seq"] for r in read] == list(range(len(KINDS)))
    assert read[0]["prev"] == GENESIS
    for before, after in itertools.pairwise(read):
        assert after["prev"] == before["hash"]
    for record in read:
        assert record["hash"] == record_hash(canonical_bytes(record))
        assert record["sid"] == "abcd1234"
        assert "hmac" not in record
    assert w.last_hash == read[-1]["hash"]
    assert w.next_seq == len(KINDS)
    result = verify_file(w.path)
    assert result.status is VerifyStatus.INTACT
    assert (result.records, result.final_hash, result.problem) == (len(KINDS), w.last_hash, None)


def test_record_layout_and_timestamp(tmp_path: Path) -> None:
    moment = datetime(2025, 1, 2, 4, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    w = TrailWriter.create(tmp_path, session_id="s1", ticket=None, now=lambda: moment)
    w.append("meta", {"command": "\\x", "args": ""})
    line = w.path.read_text(encoding="utf-8")
    assert line.endswith("}\n")
    assert line.count("\n") == 1
    assert list(json.loads(line)) == [
        "v",
        "seq",
        "ts",
        "sid",
        "kind",
        "command",
        "args",
        "prev",
        "hash",
    ]
    assert json.loads(line)["ts"] == "2025-01-02T03:04:05.000006Z"
    assert json.loads(line)["v"] == 1


def test_file_name_and_modes(tmp_path: Path, clock: Clock) -> None:
    directory = tmp_path / "a" / "trails"
    w = TrailWriter.create(directory, session_id="ab/cd", ticket="OPS 1/../x", now=clock)
    assert w.path.parent == directory
    assert w.path.name == "20250102T030405Z-OPS_1_.._x-ab_cd.jsonl"
    assert stat.S_IMODE(w.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    glass = TrailWriter.create(directory, session_id="ef", ticket=None, now=clock)
    assert glass.path.name == "20250102T030405Z-break-glass-ef.jsonl"


def test_existing_directory_is_tightened(tmp_path: Path, clock: Clock) -> None:
    directory = tmp_path / "open"
    directory.mkdir()
    directory.chmod(0o755)
    new_writer(directory, clock)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_never_reuses_a_file(tmp_path: Path) -> None:
    moment = datetime(2025, 1, 2, tzinfo=UTC)
    first = TrailWriter.create(tmp_path, session_id="s", ticket="T", now=lambda: moment)
    with pytest.raises(TrailError, match="cannot create the trail file") as info:
        TrailWriter.create(tmp_path, session_id="s", ticket="T", now=lambda: moment)
    assert str(first.path) in info.value.message
    assert "exists" in info.value.message
    assert info.value.hint


def test_directory_under_a_regular_file(tmp_path: Path, clock: Clock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TrailError) as info:
        new_writer(blocker / "trails", clock)
    assert str(blocker / "trails") in info.value.message
    assert "Not a directory" in info.value.message
    assert "--trail-dir" in (info.value.hint or "")


@pytest.mark.parametrize("name", ["seq", "hash", "prev", "v", "ts", "sid", "kind", "hmac"])
def test_reserved_field_names_rejected(tmp_path: Path, clock: Clock, name: str) -> None:
    w = new_writer(tmp_path, clock)
    with pytest.raises(ValueError, match="reserved"):
        w.append("meta", {name: 1})
    assert w.path.stat().st_size == 0
    w.append("meta", {"ok": 1})
    assert w.next_seq == 1


@pytest.mark.parametrize("kind", ["", "Statement", "end-of", "x y"])
def test_bad_kind_rejected(tmp_path: Path, clock: Clock, kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        new_writer(tmp_path, clock).append(kind, {})


def test_unencodable_record_writes_nothing(tmp_path: Path, clock: Clock) -> None:
    w = new_writer(tmp_path, clock)
    w.append("meta", {"a": 1})
    size = w.path.stat().st_size
    for bad in ({"obj": object()}, {"nan": float("nan")}, {"text": "bad \udcff byte"}):
        with pytest.raises(TrailError, match="cannot record this meta record"):
            w.append("meta", bad)
    assert w.path.stat().st_size == size
    w.close("eof")
    assert verify_file(w.path).status is VerifyStatus.INTACT


def test_non_ascii_round_trips(tmp_path: Path, clock: Clock) -> None:
    text = "SELECT 'Größe — 日本語 🎉', U&\"d\\0061t\\+000061\" -- \u2028 line\nend"
    w = new_writer(tmp_path, clock)
    w.append("statement", {"text": text})
    w.close("eof")
    assert "Größe — 日本語 🎉".encode() in w.path.read_bytes()
    assert next(read_records(w.path))["text"] == text
    assert verify_file(w.path).status is VerifyStatus.INTACT


def test_hmac_is_written_when_keyed(tmp_path: Path, clock: Clock) -> None:
    w = new_writer(tmp_path, clock, hmac_key=b"k")
    record = w.append("meta", {"a": 1})
    assert record["hmac"] == record_hmac(b"k", canonical_bytes(record))
    assert record["hmac"] != record["hash"]


def test_close_records_session_end_and_is_idempotent(tmp_path: Path, clock: Clock) -> None:
    w = new_writer(tmp_path, clock)
    w.append("session_start", {})
    before = w.last_hash
    end = w.close("eof", {"statements": 0, "how": "ignored", "final_hash": "ignored"})
    assert (end["kind"], end["how"], end["statements"]) == ("session_end", "eof", 0)
    assert end["final_hash"] == before == end["prev"]
    assert w.closed
    assert w.close("again") is end
    with pytest.raises(TrailError, match="closed"):
        w.append("meta", {})
    assert w.path.read_bytes().count(b"\n") == 2


def test_sync_false_skips_fsync_and_close_syncs(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = new_writer(tmp_path, clock)
    calls: list[int] = []
    real = writer_module._sync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(writer_module, "_sync", counting)
    w.append("statement", {})
    w.append("outcome", {}, sync=False)
    assert len(calls) == 1
    w.close("eof")
    assert len(calls) == 2


def test_failed_fsync_truncates_and_breaks_the_writer(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = new_writer(tmp_path, clock)
    w.append("session_start", {})
    w.append("outcome", {"unsynced": True}, sync=False)
    good = w.path.stat().st_size

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(writer_module, "_sync", failing)
    with pytest.raises(TrailError, match="Input/output error; the statement was not sent"):
        w.append("statement", {"text": "delete from t"})
    monkeypatch.undo()
    assert w.path.stat().st_size == good
    assert w.closed
    with pytest.raises(TrailError, match="failed earlier"):
        w.append("statement", {"text": "select 1"})
    with pytest.raises(TrailError, match="failed earlier"):
        w.close("eof")
    result = verify_file(w.path)
    assert (result.status, result.records, result.torn_tail) == (VerifyStatus.NOT_CLOSED, 2, False)


def test_partial_write_is_cut_back(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = new_writer(tmp_path, clock)
    w.append("session_start", {})
    good = w.path.stat().st_size
    real_write = os.write
    calls = []

    def disk_fills(fd: int, data: bytes) -> int:
        # The first call gets half the line onto the disk, the next finds it full.
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", disk_fills)
    with pytest.raises(TrailError, match="No space left on device"):
        w.append("statement", {"text": "x" * 200})
    monkeypatch.undo()
    assert len(calls) == 2
    assert w.path.stat().st_size == good
    assert verify_file(w.path).records == 1


def test_interrupt_during_write_keeps_the_chain(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = new_writer(tmp_path, clock)
    real = writer_module._sync

    def interrupted(fd: int) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        real(fd)

    monkeypatch.setattr(writer_module, "_sync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        w.append("statement", {"text": "select 1"})
    monkeypatch.undo()
    # Held until the record was complete (one thread), or rolled back (another thread
    # took the signal): either way the file and the writer's state agree.
    assert w.path.read_bytes().count(b"\n") == w.next_seq
    w.close("interrupted")
    assert verify_file(w.path).status is VerifyStatus.INTACT


def test_exception_mid_write_rolls_the_record_back(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = new_writer(tmp_path, clock)
    w.append("session_start", {})
    good = w.path.stat().st_size

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "_sync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        w.append("statement", {"text": "select 1"})
    monkeypatch.undo()
    assert w.path.stat().st_size == good
    assert (w.next_seq, w.closed) == (1, False)
    w.append("statement", {"text": "select 2"})
    w.close("interrupted")
    result = verify_file(w.path)
    assert (result.status, result.records) == (VerifyStatus.INTACT, 3)
