from __future__ import annotations

import threading
import time

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from prodsql.shell.completion import Catalog, CatalogData, SqlCompleter, quote_ident


def catalog(tables: int = 3) -> Catalog:
    rows: list[tuple[str | None, ...]] = [
        ("s", "public", None, None),
        ("s", "sales", None, None),
        ("p", "public", None, None),
        ("t", "public", "orders", None),
        ("v", "public", "order_totals", None),
        ("t", "sales", "invoices", None),
        ("c", "public", "orders", "id"),
        ("c", "public", "orders", "status"),
        ("c", "sales", "invoices", "amount"),
        ("f", "pg_catalog", "now", None),
    ]
    rows += [("t", "public", f"table_{i:05d}", None) for i in range(tables)]
    cat = Catalog(lambda: None, threading.Lock())
    cat.set_data(CatalogData.from_rows(rows))
    return cat


def complete(cat: Catalog, text: str) -> list[str]:
    doc = Document(text, len(text))
    return [c.text for c in SqlCompleter(cat).get_completions(doc, CompleteEvent())]


def test_relations_after_from_columns_after_select() -> None:
    cat = catalog()
    assert complete(cat, "SELECT * FROM ord") == ["order_totals", "orders"]
    assert complete(cat, "select * from sales.in") == ["sales.invoices"]
    assert "status" in complete(cat, "SELECT st FROM orders WHERE st")
    assert complete(cat, "SELECT o.s FROM orders o WHERE o.s") == ["o.status"]
    assert "now" in complete(cat, "select no")


def test_keywords_follow_the_case_typed_and_meta_commands_complete() -> None:
    cat = catalog()
    assert "select" in complete(cat, "sel")
    assert "SELECT" in complete(cat, "SEL")
    assert complete(cat, "\\tim") == ["timing"]
    assert complete(cat, "\\d ord") == ["order_totals", "orders"]


def test_identifiers_are_quoted_when_needed() -> None:
    assert quote_ident("orders") == "orders"
    assert quote_ident("Orders") == '"Orders"'
    assert quote_ident("select") == '"select"'


def test_five_thousand_tables_answer_within_50_ms() -> None:
    cat = catalog(tables=5000)
    for text in ("SELECT * FROM table_04", "SELECT * FROM t", "select * from public.table_0"):
        started = time.perf_counter()
        found = complete(cat, text)
        assert time.perf_counter() - started < 0.05
        assert found


def test_a_stale_catalog_is_loaded_once_and_not_while_busy() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def load() -> None:
        calls.append(1)

    cat = Catalog(load, lock)
    with lock:
        cat.ensure()  # a statement holds the connection: no load, no wait
    assert calls == []
    cat.ensure()
    assert calls == [1]
