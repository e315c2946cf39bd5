"""Stream a query's rows in batches without holding the result.

psycopg's public ``Cursor.stream()`` yields one row at a time; at a million rows the
per-row Python call costs more than the network. libpq (>= 17) already delivers the rows
in chunks, so :func:`batches` hands each chunk over whole, loaded in one call. It does so
with a few of psycopg's internals (the pieces ``stream()`` itself is built from). With a
psycopg release it was not tested with, or one that lacks them, it falls back to the
public ``stream()``: slower, but the same rows and the same statement on the wire
(extended protocol, one statement), so pgAudit logs the same text either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from typing import Any

Row = tuple[Any, ...]
_INTERNALS = (
    "_stream_send_gen",
    "_stream_fetchone_gen",
    "_tx",
    "_make_row_maker",
    "_raise_for_result",
)
# The releases whose internals the chunked path was written against and tested with.
_TESTED_RELEASES = ("3.2.", "3.3.")
_ACTIVE = 1  # pq.TransactionStatus.ACTIVE: a query is still running


def batches(
    cur: Any, query: str, size: int, on_cancel: Callable[[], None] | None = None
) -> Iterator[list[Row]]:
    """The rows of ``query`` in lists of at most ``size`` (one list per libpq chunk).
    Left early while the query still runs, the query is cancelled on the server and
    ``on_cancel`` is called."""
    cancelled = on_cancel or _nothing
    if uses_chunks(cur):
        yield from _chunks(cur, query, size, cancelled)
    else:
        yield from _rows_in_lists(cur, query, size, cancelled)


def _nothing() -> None:
    return None


def uses_chunks(cur: Any) -> bool:
    """Whether the fast, chunked path is available for this cursor."""
    import psycopg

    return (
        psycopg.__version__.startswith(_TESTED_RELEASES)
        and psycopg.capabilities.has_stream_chunked()
        and all(hasattr(type(cur), n) for n in _INTERNALS)
    )


def _rows_in_lists(
    cur: Any, query: str, size: int, cancelled: Callable[[], None]
) -> Iterator[list[Row]]:
    batch: list[Row] = []
    try:
        for row in cur.stream(query, size=size if _chunked_ok() else 1):
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    finally:
        if cur.connection.pgconn.transaction_status == _ACTIVE:
            cancelled()  # psycopg's stream() cancels the query as it is closed
    if batch:
        yield batch


def _chunked_ok() -> bool:
    from psycopg import capabilities

    return capabilities.has_stream_chunked()


def _chunks(cur: Any, query: str, size: int, cancelled: Callable[[], None]) -> Iterator[list[Row]]:
    conn = cur.connection
    with conn.lock:
        first = True
        try:
            conn.wait(cur._stream_send_gen(query, None, binary=None, size=size))
            while (res := conn.wait(_next_chunk(cur, first))) is not None:
                first = False
                yield cur._tx.load_rows(0, res.ntuples, cur._make_row)
        finally:
            if cur.connection.pgconn.transaction_status == _ACTIVE:
                cancelled()
                _abandon(conn, cur)


def _next_chunk(cur: Any, first: bool) -> Generator[Any, Any, Any]:
    """Wait for the next chunk of rows; None at the end. Unlike ``stream()``, the final
    result stays on the cursor, so a query that returned no rows still has its columns
    and its command status."""
    from psycopg import pq
    from psycopg.generators import fetch

    res = yield from fetch(cur.connection.pgconn)
    if res is None:
        return None
    status = res.status
    if status in (pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK):
        cur.pgresult = res
        cur._tx.set_pgresult(res, set_loaders=first)
        if first:
            cur._make_row = cur._make_row_maker()
        return res
    if status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        final = res
        while res is not None:
            res = yield from fetch(cur.connection.pgconn)
        cur.pgresult = final
        return None
    return cur._raise_for_result(res)


def _abandon(conn: Any, cur: Any) -> None:
    """The consumer stopped early (an error, Ctrl-C, a closed pipe): cancel the query on
    the server and read what is left, so the connection is usable again."""
    with contextlib.suppress(Exception):
        conn.cancel_safe(timeout=5.0)
    with contextlib.suppress(Exception):
        while conn.wait(cur._stream_fetchone_gen(False)) is not None:
            pass
    with contextlib.suppress(Exception):
        conn.wait(cur._stream_fetchone_gen(False))
