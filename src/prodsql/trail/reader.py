"""Reading trail records, without judging them: verify_file is the judge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prodsql.errors import TrailFormatError
from prodsql.trail.records import iter_lines, parse_line


def read_records(path: Path) -> Iterator[dict[str, object]]:
    """Yield each complete record of a trail file, streaming.

    A final line without its newline (torn by a crash mid-write) is skipped: it was
    never completely written. The chain is not checked; call verify_file for that.
    Raises TrailFormatError, naming the line, for a file that cannot be read or a
    line that is not a JSON object.
    """
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise _unreadable(path, exc) from None
    with stream:
        try:
            yield from _records(path, iter_lines(stream))
        except OSError as exc:
            raise _unreadable(path, exc) from None


def _records(path: Path, lines: Iterator[bytes]) -> Iterator[dict[str, object]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.endswith(b"\n"):
            return
        try:
            yield parse_line(raw)
        except ValueError as exc:
            raise TrailFormatError(
                f"{path}, line {number}: {exc}",
                hint="check the file with `prodsql verify`",
            ) from None


def _unreadable(path: Path, exc: OSError) -> TrailFormatError:
    return TrailFormatError(f"cannot read the trail {path}: {exc.strerror or exc}")
