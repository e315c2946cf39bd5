"""Statement text logged in a database encoding other than UTF-8."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodsql.audit.cli import reconcile_main
from prodsql.audit.encodings import printable, python_codec, recode
from unit.audit.trailkit import DATA, write_trail


def logged(raw: bytes) -> str:
    """A log line's text as the reader keeps it."""
    return raw.decode("utf-8", "surrogateescape")


def test_latin1_bytes_are_decoded_with_the_sessions_encoding() -> None:
    text = logged("SELECT 'café'".encode("latin-1"))
    assert recode(text, "LATIN1") == "SELECT 'café'"
    assert recode(logged("SELECT 'Ж'".encode("cp1251")), "WIN1251") == "SELECT 'Ж'"
    assert recode(logged("SELECT 'ü'".encode("iso8859-15")), "latin9") == "SELECT 'ü'"


def test_latin1_text_that_happens_to_be_valid_utf8_is_recoded_too() -> None:
    # 'Ã©' in LATIN1 is C3 A9, which UTF-8 reads as 'é': the reader cannot tell.
    text = logged("SELECT 'Ã©'".encode("latin-1"))
    assert text == "SELECT 'é'"
    assert recode(text, "LATIN1") == "SELECT 'Ã©'"


@pytest.mark.parametrize("encoding", ["UTF8", "SQL_ASCII", "EUC_TW", "", None])
def test_nothing_to_recode(encoding: str | None) -> None:
    assert recode(logged("SELECT 'é'".encode()), encoding) is None
    assert python_codec(encoding) is None


def test_ascii_text_is_never_recoded() -> None:
    assert recode("SELECT 1", "LATIN1") is None


def test_printable_shows_bytes_that_are_not_utf8_as_escapes() -> None:
    assert printable(logged(b"SELECT '\xe9'")) == "SELECT '\\xe9'"
    assert printable("SELECT 'é'") == "SELECT 'é'"
    assert printable("SELECT 1") == "SELECT 1"


def test_an_untracked_session_in_latin1_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = (DATA / "session.csv").read_bytes()
    log = tmp_path / "latin1.csv"
    log.write_bytes(raw.replace(b"*/ SELECT 1,", b"*/ SELECT 'caf\xe9',", 1))
    # A trail of another session: the one in the log is untracked.
    none = write_trail(tmp_path / "trails", [], sid="beef0001", server_id="6b000000.9", pid=9)
    assert reconcile_main(["--trail", str(none), "--server-log", str(log), "--json"]) == 1
    (entry,) = json.loads(capsys.readouterr().out)["untracked_sessions"]
    assert entry["text"].endswith("SELECT 'caf\\xe9'")
    assert reconcile_main(["--trail", str(none), "--server-log", str(log)]) == 1
    assert "untracked sessions 1" in capsys.readouterr().out
