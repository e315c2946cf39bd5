"""verify_file: every kind of tampering is detected and named by line and seq."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from prodsql.trail import VerifyStatus, canonical_bytes, verify_file
from prodsql.trail.records import record_hash, record_hmac

MakeTrail = Callable[..., Path]
# A session from make_trail(): line 1 session_start, 2/3 statement+outcome 1,
# 4/5 statement+outcome 2, 6 session_end.
LINES = 6


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def load(line: bytes) -> dict[str, object]:
    value = json.loads(line)
    assert isinstance(value, dict)
    return value


def reseal(record: dict[str, object], key: bytes | None = None) -> bytes:
    """What a forger who knows the format does after an edit: recompute the seal."""
    record.pop("hash", None)
    record.pop("hmac", None)
    payload = canonical_bytes(record)
    record["hash"] = record_hash(payload)
    if key is not None:
        record["hmac"] = record_hmac(key, payload)
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def assert_tampered(path: Path, line: int, words: str, *, key: bytes | None = None) -> None:
    result = verify_file(path, hmac_key=key)
    assert result.status is VerifyStatus.TAMPERED, result
    assert result.problem_line == line
    assert result.problem_seq == line - 1
    assert result.records == line - 1
    assert result.problem is not None
    assert result.problem.startswith(f"line {line}: ")
    assert words in result.problem, result.problem


def test_intact(make_trail: MakeTrail) -> None:
    path = make_trail()
    result = verify_file(path)
    assert result.status is VerifyStatus.INTACT
    assert (result.records, result.session_id, result.problem) == (LINES, "abcd1234", None)
    assert result.final_hash == load(lines_of(path)[-1])["hash"]
    assert not result.hmac_checked
    assert not result.torn_tail


def test_changed_record(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    lines[3] = lines[3].replace(b"select 2", b"select 9")
    rewrite(path, lines)
    assert_tampered(path, 4, "seq 3: the record was changed")


def test_changed_and_resealed_record_breaks_the_next_link(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    record = load(lines[3])
    record["text"] = "select 9"
    lines[3] = reseal(record)
    rewrite(path, lines)
    assert_tampered(path, 5, "prev does not match the hash of line 4")


def test_changed_first_record_resealed(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    record = load(lines[0])
    record["os_user"] = "mallory"
    lines[0] = reseal(record)
    rewrite(path, lines)
    assert_tampered(path, 2, "prev does not match the hash of line 1")


def test_removed_record(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    del lines[2]
    rewrite(path, lines)
    assert_tampered(path, 3, "seq 3: seq 2 was expected here: 1 record(s) removed")


def test_removed_head(make_trail: MakeTrail) -> None:
    path = make_trail()
    rewrite(path, lines_of(path)[2:])
    assert_tampered(path, 1, "seq 2: seq 0 was expected here: 2 record(s) removed")


def test_inserted_record(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    forged = load(lines[2])
    forged.update(seq=3, prev=load(lines[2])["hash"], text="select 'innocent'")
    lines.insert(3, reseal(forged))
    rewrite(path, lines)
    assert_tampered(
        path, 5, "seq 3: seq already used (last was 3): a duplicated, inserted or moved"
    )


def test_duplicated_record(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    lines.insert(3, lines[2])
    rewrite(path, lines)
    assert_tampered(path, 4, "seq 2: duplicate of line 3")


def test_duplicated_earlier_record(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    lines.insert(4, lines[1])
    rewrite(path, lines)
    assert_tampered(path, 5, "seq 1: seq already used (last was 3)")


def test_reordered_records(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    lines[2], lines[3] = lines[3], lines[2]
    rewrite(path, lines)
    assert_tampered(path, 3, "seq 3: seq 2 was expected here")
    assert "out of order" in (verify_file(path).problem or "")


def test_record_from_another_session(make_trail: MakeTrail) -> None:
    path = make_trail()
    other = make_trail(sid="ffff0000")
    lines = lines_of(path)
    lines[2] = lines_of(other)[2]
    rewrite(path, lines)
    assert_tampered(path, 3, "record from another session (sid 'ffff0000'")


def test_session_end_not_last(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    end = load(lines[-1])
    extra = {k: v for k, v in end.items() if k not in ("how", "statements", "final_hash")}
    extra.update(seq=LINES, prev=end["hash"], kind="statement", text="drop table t")
    lines.append(reseal(extra))
    rewrite(path, lines)
    assert_tampered(path, LINES + 1, "record after the session_end at line 6")


def test_torn_data_after_session_end(make_trail: MakeTrail) -> None:
    path = make_trail()
    with path.open("ab") as f:
        f.write(b'{"v":1,"seq":6')
    assert_tampered(path, LINES + 1, "data after the session_end at line 6")


def test_forged_final_hash(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    end = load(lines[-1])
    end["final_hash"] = "1" * 64
    lines[-1] = reseal(end)
    rewrite(path, lines)
    assert_tampered(path, LINES, "final_hash does not match")


def test_later_line_not_json(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    lines[1] = lines[1][:20] + b"\n"
    rewrite(path, lines)
    assert_tampered(path, 2, "not JSON")


def test_deeply_nested_line_is_tampering(make_trail: MakeTrail) -> None:
    path = make_trail()
    with path.open("ab") as f:
        f.write(b'{"v":1,"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n")
    assert_tampered(path, LINES + 1, "nested too deeply")


def test_repeated_key_is_tampering(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    lines[1] = lines[1].replace(b'"text":', b'"text":"select 0","text":')
    rewrite(path, lines)
    assert_tampered(path, 2, "key 'text' appears twice")


def test_missing_fields(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = lines_of(path)
    record = load(lines[1])
    del record["prev"]
    lines[1] = (json.dumps(record) + "\n").encode()
    rewrite(path, lines)
    assert_tampered(path, 2, "missing field(s) prev")


def test_hmac_ok_wrong_key_and_missing(make_trail: MakeTrail) -> None:
    keyed = make_trail(key=b"secret")
    ok = verify_file(keyed, hmac_key=b"secret")
    assert (ok.status, ok.hmac_checked) == (VerifyStatus.INTACT, True)
    assert verify_file(keyed).status is VerifyStatus.INTACT
    assert_tampered(keyed, 1, "hmac mismatch", key=b"other")
    unkeyed = make_trail()
    assert_tampered(unkeyed, 1, "no hmac, but a key was given", key=b"secret")


def test_hmac_catches_a_resealed_record(make_trail: MakeTrail) -> None:
    path = make_trail(key=b"secret")
    lines = lines_of(path)
    record = load(lines[3])
    record["text"] = "select 9"
    lines[3] = reseal(record, key=b"guess")
    rewrite(path, lines)
    assert_tampered(path, 4, "seq 3: hmac mismatch", key=b"secret")


def test_hmac_stripped_from_one_record(make_trail: MakeTrail) -> None:
    path = make_trail(key=b"secret")
    lines = lines_of(path)
    record = load(lines[2])
    del record["hmac"]
    lines[2] = (json.dumps(record) + "\n").encode()
    rewrite(path, lines)
    assert verify_file(path).status is VerifyStatus.INTACT
    assert_tampered(path, 3, "no hmac", key=b"secret")


def test_not_closed(make_trail: MakeTrail) -> None:
    result = verify_file(make_trail(close=False))
    assert result.status is VerifyStatus.NOT_CLOSED
    assert (result.records, result.torn_tail) == (5, False)
    assert "no session_end" in (result.problem or "")


def test_truncated_tail_shows_only_as_not_closed(make_trail: MakeTrail) -> None:
    path = make_trail()
    rewrite(path, lines_of(path)[:3])
    result = verify_file(path)
    assert (result.status, result.records) == (VerifyStatus.NOT_CLOSED, 3)


def test_torn_tail(make_trail: MakeTrail) -> None:
    path = make_trail(close=False)
    complete = path.read_bytes()
    with path.open("ab") as f:
        f.write(lines_of(path)[-1][:37])
    result = verify_file(path)
    assert (result.status, result.torn_tail, result.records) == (VerifyStatus.NOT_CLOSED, True, 5)
    assert result.problem_line == 6
    assert "torn by a crash" in (result.problem or "")
    assert result.final_hash == load(complete.splitlines()[-1])["hash"]


def test_torn_first_record(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"v":1,"se')
    result = verify_file(path)
    assert (result.status, result.torn_tail, result.records) == (VerifyStatus.NOT_CLOSED, True, 0)
    assert result.session_id is None
    assert result.final_hash is None


def test_empty_file_is_not_closed(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.touch()
    result = verify_file(path)
    assert (result.status, result.records, result.problem) == (
        VerifyStatus.NOT_CLOSED,
        0,
        "empty file: no records",
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x00\x01\x02\xff\xfe binary\n", "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n", "not UTF-8"),
        (b"\x00\x00\x00\x00", "not a prodsql trail record"),
        (b"hello world\n", "not JSON"),
        (b"[1, 2]\n", "a JSON list, not an object"),
        (b'{"a": 1}\n', "no format version"),
        (b'{"v": 2, "seq": 0}\n', "format version 2 is not supported"),
    ],
)
def test_not_a_trail_is_unreadable(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(content)
    result = verify_file(path)
    assert result.status is VerifyStatus.UNREADABLE
    assert words in (result.problem or ""), result.problem
    assert result.records == 0


def test_missing_and_directory_are_unreadable(tmp_path: Path) -> None:
    missing = verify_file(tmp_path / "nope.jsonl")
    assert missing.status is VerifyStatus.UNREADABLE
    assert missing.problem == "cannot read: No such file or directory"
    directory = verify_file(tmp_path)
    assert directory.status is VerifyStatus.UNREADABLE
    assert directory.problem == "cannot read: Is a directory"


def test_permission_denied_is_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # We run as root, where chmod does not stop a read: make open() fail as it would.
    def denied(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    result = verify_file(tmp_path / "t.jsonl")
    assert (result.status, result.problem) == (
        VerifyStatus.UNREADABLE,
        "cannot read: Permission denied",
    )


def test_large_file_streams(tmp_path: Path, make_trail: MakeTrail) -> None:
    path = make_trail(statements=5000)
    result = verify_file(path)
    assert (result.status, result.records) == (VerifyStatus.INTACT, 10_002)


# -- BackgroundVerify: the same verdicts from worker processes --------------------------


def _assorted(make_trail: MakeTrail, tmp_path: Path, key: bytes | None) -> list[Path]:
    intact = make_trail(sid="aaaa0001", key=key)
    not_closed = make_trail(sid="aaaa0002", key=key, close=False)
    tampered = make_trail(sid="aaaa0003", key=key)
    lines = lines_of(tampered)
    lines[2] = lines[2].replace(b'"ok"', b'"error"', 1)
    rewrite(tampered, lines)
    torn = make_trail(sid="aaaa0004", key=key, close=False)
    torn.write_bytes(torn.read_bytes() + b'{"v":1,"se')
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"not a trail\n")
    return [intact, not_closed, tampered, torn, garbage, tmp_path / "missing.jsonl"]


@pytest.mark.parametrize("key", [None, b"k"])
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_background_verify_equals_verify_file(
    make_trail: MakeTrail, tmp_path: Path, key: bytes | None, workers: int
) -> None:
    from prodsql.trail.verify import BackgroundVerify

    paths = _assorted(make_trail, tmp_path, key)
    serial = [verify_file(p, hmac_key=key) for p in paths]
    got = BackgroundVerify(paths, hmac_key=key, workers=workers).results()
    assert got == serial
    assert {r.status for r in got} == set(VerifyStatus)


def test_background_verify_does_the_work_itself_when_a_worker_fails(
    make_trail: MakeTrail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodsql.trail import verify

    paths = _assorted(make_trail, tmp_path, None)
    monkeypatch.setattr(verify, "_WORKER", "raise SystemExit(3)")
    assert verify.BackgroundVerify(paths).results() == [verify_file(p) for p in paths]
    monkeypatch.setattr(verify, "_WORKER", "print('[]')")
    assert verify.BackgroundVerify(paths).results() == [verify_file(p) for p in paths]


def test_background_verify_close_stops_the_workers(make_trail: MakeTrail) -> None:
    from prodsql.trail.verify import BackgroundVerify

    background = BackgroundVerify([make_trail()], workers=1)
    background.close()
    background.close()


# -- the fast path: sealed_line must agree with parse_line + canonical_bytes -------------

TRICKY: list[dict[str, object]] = [
    {"text": "é ünï 日本 \U0001f600 \u2028\u2029 \x7f", "n": -0, "big": 10**40},
    {"text": 'quote " backslash \\ slash / tab \t nl \n cr \r bell \x07 nul \x00 \x1f'},
    {"f": [0.1, 1.5, -0.0, 1e16, 1e-7, 123456789.125, 5e-324, 1.7976931348623157e308]},
    {"nested": {"z": {"b": [1, {"y": None, "x": True}], "a": False}, "a": [], "m": {}}},
    {"classification": {"kind": "read", "command": "SELECT", "objects": ["t"], "flags": []}},
    {"empty": "", "keys": {"": 1, "é": 2, "A": 3, "a": 4, "\u00e9\u0301": 5}},
]


def _written(
    fields: dict[str, object], key: bytes | None = None
) -> tuple[bytes, dict[str, object]]:
    """A line as the writer writes it (insertion order, compact, sealed)."""
    record: dict[str, object] = {"v": 1, "seq": 0, "ts": "t", "sid": "s", "kind": "meta"}
    record.update(fields)
    record["prev"] = "0" * 64
    payload = canonical_bytes(record)
    record["hash"] = record_hash(payload)
    if key is not None:
        record["hmac"] = record_hmac(key, payload)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    return line.encode(), record


@pytest.mark.parametrize("fields", TRICKY)
@pytest.mark.parametrize("key", [None, b"k"])
def test_sealed_line_is_parse_line_and_canonical_bytes(
    fields: dict[str, object], key: bytes | None
) -> None:
    from prodsql.trail.records import parse_line, sealed_line

    line, record = _written(fields, key)
    sealed = sealed_line(line)
    assert sealed is not None
    got, payload = sealed
    assert got == parse_line(line) == record
    assert list(got) == list(record)
    assert payload == canonical_bytes(record)
    reference = json.dumps(
        {k: v for k, v in record.items() if k not in ("hash", "hmac")},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert payload == reference


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"v":1,', '"v":1, '),  # whitespace
        ('"n":1', '"n":1.0e0'),  # a float in another form
        ('"n":1', '"n":10E-1'),
        ('"s":"é"', '"s":"\\u00e9"'),  # an escape the encoder does not write
        ('"s":"é"', '"s":"\\u00E9"'),
        ('"v":1,', '"v":1,"v":1,'),  # a repeated key
    ],
)
def test_sealed_line_declines_what_a_writer_does_not_write(old: str, new: str) -> None:
    from prodsql.trail.records import parse_line, sealed_line

    line, _ = _written({"n": 1, "s": "é"})
    changed = line.decode().replace(old, new, 1).encode()
    assert changed != line
    assert sealed_line(changed) is None
    if new.count('"v"') == 2:
        with pytest.raises(ValueError, match="appears twice"):
            parse_line(changed)
    elif "E-1" not in new and "e0" not in new:
        assert parse_line(changed) == parse_line(line)


def _forge(
    path: Path,
    index: int,
    edit: Callable[[dict[str, object]], str],
    fields: dict[str, object] | None = None,
) -> None:
    """Replace one record by a resealed one (with ``fields`` added), written as ``edit``
    returns it."""
    lines = lines_of(path)
    record = load(lines[index])
    record.update(fields or {})
    record.pop("hash")
    record["hash"] = record_hash(canonical_bytes(record))
    lines[index] = (edit(record) + "\n").encode()
    rewrite(path, lines)


def _compact(record: dict[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def test_a_resealed_record_with_a_repeated_key_is_tampering(make_trail: MakeTrail) -> None:
    # The hash covers what a reader keeps (the last value); the line says more.
    path = make_trail()
    _forge(path, 1, lambda r: _compact(r).replace('"stmt":', '"stmt":7,"stmt":', 1))
    assert_tampered(path, 2, "key 'stmt' appears twice")


def test_a_repeated_key_cannot_hide_behind_shorter_floats(make_trail: MakeTrail) -> None:
    # 1e5 is shorter than its canonical 100000.0: five of them pay for a repeated key.
    path = make_trail()

    def edit(record: dict[str, object]) -> str:
        text = _compact(record).replace("100000.0", "1e5")
        return text.replace('"f":', '"f":0,"f":', 1)

    _forge(path, 1, edit, {"f": [100000.0] * 5})
    assert_tampered(path, 2, "key 'f' appears twice")


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: json.dumps(r, ensure_ascii=True, indent=1).replace("\n", " "),
        lambda r: _compact(r).replace("100000.0", "1e5").replace("0.5", "5E-1"),
    ],
)
def test_a_record_written_otherwise_still_verifies(
    make_trail: MakeTrail, edit: Callable[[dict[str, object]], str]
) -> None:
    # The hash is over the parsed record: spacing, escapes and number forms do not matter.
    path = make_trail()
    fields = {"ms": 100000.0, "half": 0.5, "text": "é\x01"}
    _forge(path, len(lines_of(path)) - 1, edit, fields)
    assert verify_file(path).status is VerifyStatus.INTACT
    assert load(lines_of(path)[-1])["ms"] == 100000.0


def test_background_verify_can_only_read(
    make_trail: MakeTrail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodsql.audit.trails import read_expected
    from prodsql.trail import verify

    paths = _assorted(make_trail, tmp_path, None)
    reader = "prodsql.audit.trails:read_expected"
    expected = [read_expected(p, None) for p in paths]
    background = verify.BackgroundVerify(paths, reader=reader, verify=False)
    assert background.readings() == expected
    assert background.results() == []
    assert None in expected
    assert any(r is not None for r in expected)
    monkeypatch.setattr(verify, "_WORKER", "raise SystemExit(3)")
    failed = verify.BackgroundVerify(paths, reader=reader, verify=False)
    assert failed.readings() == [None] * len(paths)
    with pytest.raises(ValueError, match="nothing to do"):
        verify.BackgroundVerify(paths, verify=False)
