"""What classification learns about one statement, gathered while walking its tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Node = Any  # a node of pglast's JSON parse tree

# How much a kind weighs when statements are combined (a DO body, several statements).
SEVERITY = {
    "unknown": 9,
    "privilege": 8,
    "ddl": 7,
    "write": 6,
    "maintenance": 5,
    "lock": 5,
    "opaque": 4,
    "transaction": 2,
    "set": 2,
    "utility": 1,
    "read": 0,
    "empty": 0,
}

# Flags that still matter when a subtree is not executed now (EXPLAIN without ANALYZE,
# a function body being defined): what it would call or change when it runs.
SEEN_THROUGH = frozenset(
    {"dangerous_function", "audit_tamper", "dynamic_setting", "makes_read_write"}
)


@dataclass
class Facts:
    kind: str = "utility"
    command: str = "UNKNOWN"
    targets: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (flag, reason)
    functions: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(reason for _, reason in self.notes))

    def flag(self, name: str, reason: str | None = None) -> None:
        self.flags.add(name)
        if reason:
            self.notes.append((name, reason))

    def target(self, name: str | None) -> None:
        if name and name not in self.targets:
            self.targets.append(name)

    def read(self, name: str | None) -> None:
        if name and name not in self.reads:
            self.reads.append(name)

    def worsen(self, kind: str) -> None:
        if SEVERITY.get(kind, 9) > SEVERITY.get(self.kind, 9):
            self.kind = kind

    def absorb(self, other: Facts, *, prefix: str = "", only: frozenset[str] | None = None) -> None:
        """Take over another statement's findings (all, or only the ``only`` flags)."""
        keep = other.flags if only is None else other.flags & only
        self.flags |= keep
        self.notes.extend((f, prefix + r) for f, r in other.notes if f in keep)
        self.functions.extend(f for f in other.functions if f not in self.functions)
        self.settings.extend(s for s in other.settings if s not in self.settings)
        if only is None:
            for name in other.targets:
                self.target(name)
            for name in other.reads:
                self.read(name)


def string_of(node: Node) -> str | None:
    """The text of a ``String`` node (or a bare string)."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        inner = node.get("String")
        if isinstance(inner, dict):
            return str(inner.get("sval", ""))
    return None


def dotted(items: Node) -> str | None:
    """``[String a, String b]`` as ``a.b``."""
    if not isinstance(items, list):
        return None
    parts = [string_of(i) for i in items]
    if not parts or any(p is None for p in parts):
        return None
    return ".".join(p for p in parts if p is not None)


def relation_name(rel: Node) -> str | None:
    """A RangeVar, wrapped or not, as written: ``[catalog.][schema.]name``."""
    if isinstance(rel, dict) and "RangeVar" in rel:
        rel = rel["RangeVar"]
    if not isinstance(rel, dict) or "relname" not in rel:
        return None
    parts = [rel.get("catalogname"), rel.get("schemaname"), rel.get("relname")]
    return ".".join(str(p) for p in parts if p)


def object_name(node: Node) -> str | None:
    """Best-effort name of an object reference (List, String, ObjectWithArgs, TypeName...)."""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return None
    name = relation_name(node) or string_of(node)
    if name is not None:
        return name
    for key, value in node.items():
        if key == "List":
            return dotted(value.get("items"))
        if key == "ObjectWithArgs":
            return dotted(value.get("objname"))
        if key == "TypeName":
            return dotted(value.get("names"))
        if key == "RoleSpec":
            return str(value.get("rolename") or value.get("roletype", "")).lower()
    return None


def const_string(node: Node) -> str | None:
    """The value of a string constant (possibly cast), else None."""
    if not isinstance(node, dict):
        return None
    if "TypeCast" in node:
        return const_string(node["TypeCast"].get("arg"))
    const = node.get("A_Const")
    if isinstance(const, dict) and "sval" in const:
        return str(const["sval"].get("sval", ""))
    return None
