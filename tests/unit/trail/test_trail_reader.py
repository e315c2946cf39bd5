"""read_records: streaming records out, with clear errors for what is not a trail."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from prodsql.errors import TrailFormatError
from prodsql.trail import read_records

MakeTrail = Callable[..., Path]


def test_reads_every_record_in_order(make_trail: MakeTrail) -> None:
    records = list(read_records(make_trail(statements=3)))
    assert [r["kind"] for r in records] == [
        "session_start",
        *["statement", "outcome"] * 3,
        "session_end",
    ]
    assert [r["seq"] for r in records] == list(range(8))


def test_skips_a_torn_tail(make_trail: MakeTrail) -> None:
    path = make_trail(close=False)
    with path.open("ab") as f:
        f.write(b'{"v":1,"seq":5,"ts":"2025')
    assert len(list(read_records(path))) == 5


def test_malformed_line_names_the_line(make_trail: MakeTrail) -> None:
    path = make_trail()
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b"not json\n"
    path.write_bytes(b"".join(lines))
    records = read_records(path)
    assert next(records)["seq"] == 0
    assert next(records)["seq"] == 1
    with pytest.raises(TrailFormatError, match=r"line 3: not JSON") as info:
        next(records)
    assert str(path) in info.value.message
    assert "prodsql verify" in (info.value.hint or "")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrailFormatError, match=r"cannot read the trail .*No such file"):
        list(read_records(tmp_path / "nope.jsonl"))


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(TrailFormatError, match="line 1: not UTF-8"):
        list(read_records(path))


@pytest.mark.parametrize(
    "line",
    [
        b'{"v":1,"a":[1,{"b":null}]}\n',  # as the writer writes it
        b'{"v": 1, "a": "\\u00e9"}  \n',  # spaces, an escape, blanks before the newline
        b'{"v":1}\r\n',
        b'  {"v":1}\n',
        b'{"v":1,"f":1e5}\n',
    ],
)
def test_parse_line_reads_any_json_object_line(line: bytes) -> None:
    from prodsql.trail.records import parse_line

    assert parse_line(line) == json.loads(line)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"v":1,"v":2}\n', "key 'v' appears twice"),
        (b'{"v":1}{"v":2}\n', "not JSON (Extra data"),
        (b'{"v":NaN}\n', "NaN is not valid JSON"),
        (b"[1]\n", "a JSON list, not an object"),
        (b'\xef\xbb\xbf{"v":1}\n', "not JSON"),
        (b'{"v":"\xff"}\n', "not UTF-8 text (byte 6)"),
    ],
)
def test_parse_line_names_what_is_wrong(line: bytes, words: str) -> None:
    from prodsql.trail.records import parse_line

    with pytest.raises(ValueError, match=re.escape(words)):
        parse_line(line)
