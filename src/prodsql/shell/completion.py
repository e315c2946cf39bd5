"""Completion of keywords, schemas, tables, views, columns and functions from the live
catalog.

The catalog is read with one internal (tagged, trailed) query, lazily on the first
completion after connect or after DDL, so it never delays the first prompt. Lookups are
prefix searches with ``bisect`` over sorted lists: a catalog of thousands of tables
answers in well under a millisecond per keystroke.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pglast import keywords
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

if TYPE_CHECKING:
    from prodsql.result import Result

CATALOG_SQL = """SELECT 's', n.nspname, NULL, NULL FROM pg_namespace n
 WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
UNION ALL SELECT 'p', s, NULL, NULL FROM unnest(current_schemas(true)) AS s
UNION ALL SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'v' ELSE 't' END, n.nspname, c.relname, NULL
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname !~ '^pg_toast'
   AND n.nspname <> 'information_schema'
   AND (n.nspname <> 'pg_catalog' OR c.relname LIKE 'pg\\_stat%')
UNION ALL SELECT 'c', n.nspname, c.relname, a.attname
 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
UNION ALL SELECT DISTINCT 'f', n.nspname, p.proname, NULL
 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname <> 'information_schema' AND p.proname !~ '^_'"""

KEYWORDS = sorted(
    {
        *keywords.RESERVED_KEYWORDS,
        *keywords.UNRESERVED_KEYWORDS,
        *keywords.COL_NAME_KEYWORDS,
        *keywords.TYPE_FUNC_NAME_KEYWORDS,
    }
)
META_COMMANDS = [
    "\\" + name
    for name in [
        "q",
        "?",
        "h",
        "conninfo",
        "ticket",
        "d",
        "dt",
        "dv",
        "di",
        "dn",
        "df",
        "du",
        "l",
        "x",
        "timing",
        "pset",
        "i",
        "o",
        "e",
        "watch",
        "write",
        "readonly",
        "g",
        "gx",
    ]
]
_RELATION_WORDS = frozenset({"from", "join", "update", "into", "table", "truncate", "describe"})
_COLUMN_WORDS = frozenset(
    {"select", "where", "and", "or", "by", "set", "on", "having", ",", "(", "=", "returning"}
)
_WORD = re.compile(r'[A-Za-z0-9_$."]*$')
_TOKENS = re.compile(r"\\?[A-Za-z_][A-Za-z0-9_$]*|[(),=]")
_MENTIONED = re.compile(
    r"\b(?:from|join|update|into)\s+([A-Za-z0-9_.\"]+)(?:\s+(?:as\s+)?([A-Za-z_][A-Za-z0-9_]*))?",
    re.IGNORECASE,
)
_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_MAX_RESULTS = 300


class Index:
    """Names sorted by their lower-case form, for prefix search."""

    def __init__(self, names: Iterable[str]) -> None:
        pairs = sorted({(n.lower(), n) for n in names})
        self.keys = [k for k, _ in pairs]
        self.names = [n for _, n in pairs]

    def starting(self, prefix: str) -> Iterator[str]:
        low = prefix.lower()
        i = bisect.bisect_left(self.keys, low)
        while i < len(self.keys) and self.keys[i].startswith(low):
            yield self.names[i]
            i += 1


@dataclass
class CatalogData:
    schemas: set[str] = field(default_factory=set)
    path: list[str] = field(default_factory=list)
    relations: dict[str, set[str]] = field(default_factory=dict)  # schema -> names
    views: set[tuple[str, str]] = field(default_factory=set)
    columns: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str | None, ...]]) -> CatalogData:
        data = cls()
        for kind, schema, name, column in rows:
            assert schema is not None
            if kind == "s":
                data.schemas.add(schema)
            elif kind == "p":
                data.path.append(schema)
            elif kind in ("t", "v") and name is not None:
                data.relations.setdefault(schema, set()).add(name)
                if kind == "v":
                    data.views.add((schema, name))
            elif kind == "c" and name is not None and column is not None:
                data.columns.setdefault((schema, name), []).append(column)
            elif kind == "f" and name is not None:
                data.functions.add(name)
        return data


class Catalog:
    """The completion catalog; loaded by ``loader`` (an internal query) when stale."""

    def __init__(self, loader: Callable[[], Result | None], lock: threading.Lock) -> None:
        self.loader, self.lock = loader, lock
        self.stale = True
        self.data = CatalogData()
        self._build()

    def invalidate(self) -> None:
        self.stale = True

    def ensure(self) -> None:
        # Never wait for the connection: a statement in flight owns it.
        if not self.stale or not self.lock.acquire(blocking=False):
            return
        try:
            result = self.loader()
            if result is not None:
                self.data = CatalogData.from_rows(result.rows)
                self.stale = False
                self._build()
        finally:
            self.lock.release()

    def set_data(self, data: CatalogData) -> None:
        self.data, self.stale = data, False
        self._build()

    def _build(self) -> None:
        d = self.data
        visible = [n for s in d.path for n in d.relations.get(s, ())]
        self.relations = Index([*visible, *d.schemas])
        self.by_schema = {s: Index(names) for s, names in d.relations.items()}
        self.functions = Index(d.functions)
        self.keywords = Index(KEYWORDS)
        self.meta = Index(META_COMMANDS)

    def columns_of(self, relation: str) -> list[str]:
        d = self.data
        schema, _, name = relation.replace('"', "").rpartition(".")
        for s in [schema] if schema else d.path:
            cols = d.columns.get((s, name)) or d.columns.get((s, name.lower()))
            if cols:
                return cols
        return []


class SqlCompleter(Completer):
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        self.catalog.ensure()
        before = document.text_before_cursor
        match = _WORD.search(before)
        word = match.group(0) if match else ""
        head = before[: len(before) - len(word)]
        for n, (text, meta) in enumerate(self.candidates(head, word)):
            if n >= _MAX_RESULTS:
                return
            yield Completion(text, start_position=-len(word), display_meta=meta)

    def candidates(self, head: str, word: str) -> Iterator[tuple[str, str]]:
        c = self.catalog
        line = head.rsplit("\n", 1)[-1]
        if line.lstrip().startswith("\\"):
            yield from self._meta(line, word)
            return
        if "." in word:
            yield from self._qualified(head, word)
            return
        tokens = _TOKENS.findall(head)
        prev = tokens[-1].lower() if tokens else ""
        if prev in _RELATION_WORDS:
            yield from _named(c.relations.starting(word), "relation", word)
        elif prev in _COLUMN_WORDS:
            yield from self._columns(head, word)
            yield from _named(c.functions.starting(word), "function", word)
            yield from _keywords(c, word)
        else:
            yield from _keywords(c, word)

    def _meta(self, line: str, word: str) -> Iterator[tuple[str, str]]:
        stripped = line.lstrip()
        if stripped == "\\":  # the command name itself: the word is what follows the \\
            for name in self.catalog.meta.starting("\\" + word):
                yield name[1:], "meta-command"
            return
        yield from _named(self.catalog.relations.starting(word), "relation", word)

    def _qualified(self, head: str, word: str) -> Iterator[tuple[str, str]]:
        qualifier, _, rest = word.rpartition(".")
        schema = qualifier.replace('"', "")
        index = self.catalog.by_schema.get(schema)
        if index is not None:
            for name in index.starting(rest):
                yield f"{qualifier}.{quote_ident(name)}", "relation"
            return
        relation = _aliases(head).get(qualifier.lower(), qualifier)
        for col in self.catalog.columns_of(relation):
            if col.lower().startswith(rest.lower()):
                yield f"{qualifier}.{quote_ident(col)}", "column"

    def _columns(self, head: str, word: str) -> Iterator[tuple[str, str]]:
        seen: set[str] = set()
        for relation in _aliases(head).values():
            for col in self.catalog.columns_of(relation):
                if col.lower().startswith(word.lower()) and col not in seen:
                    seen.add(col)
                    yield quote_ident(col), "column"


def _aliases(text: str) -> dict[str, str]:
    """alias (or name) -> relation, for the relations the statement mentions."""
    found: dict[str, str] = {}
    for m in _MENTIONED.finditer(text):
        relation, alias = m.group(1), m.group(2)
        found[relation.lower()] = relation
        if alias and alias.lower() not in _RELATION_WORDS | {"where", "set", "on", "join"}:
            found[alias.lower()] = relation
    return found


def _named(names: Iterable[str], meta: str, word: str) -> Iterator[tuple[str, str]]:
    for name in names:
        yield quote_ident(name) if not word.startswith('"') else f'"{name}"', meta


def _keywords(c: Catalog, word: str) -> Iterator[tuple[str, str]]:
    if not word:
        return
    lower = word.islower()
    for kw in c.keywords.starting(word):
        yield (kw.lower() if lower else kw.upper()), "keyword"


def quote_ident(name: str) -> str:
    if _PLAIN.fullmatch(name) and name not in keywords.RESERVED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'
