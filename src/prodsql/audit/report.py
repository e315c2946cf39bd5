"""Rendering a reconciliation: a readable summary per session, or one JSON object.

The JSON writer streams the ``matched`` list (it can hold a million entries) and buffers
only the other categories, which are the exceptions a reviewer reads.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

from prodsql.audit.reconcile import Category, Finding, Reconciler, TrailState

# What makes the exit code 1: the trail and the server's log disagree.
MISSING = (Category.MISSING_ON_SERVER, Category.MISSING_IN_TRAIL, Category.TEXT_MISMATCH)


@dataclass
class Tally:
    """What was found, per session and category; filled while findings stream."""

    counts: Counter[tuple[str | None, Category]] = field(default_factory=Counter)
    exceptions: list[Finding] = field(default_factory=list)

    def take(self, finding: Finding) -> None:
        self.counts[(finding.session, finding.category)] += 1
        if finding.category is not Category.MATCHED:
            self.exceptions.append(finding)

    def add(self, session: str, category: Category, count: int) -> None:
        """``count`` findings of ``category`` in ``session``, without their text."""
        if count:
            self.counts[(session, category)] += count

    def total(self, category: Category) -> int:
        return sum(n for (_, c), n in self.counts.items() if c is category)


def exit_code(rec: Reconciler, tally: Tally) -> int:
    """1 when anything is missing or differs (or a trail is tampered), else 0."""
    missing = any(tally.total(c) for c in MISSING) or bool(rec.untracked)
    tampered = any(t.integrity == "tampered" for t in rec.trails.values())
    return 1 if missing or tampered else 0


def write_json(rec: Reconciler, out: IO[str]) -> Tally:
    tally = Tally()
    out.write('{"matched": [')
    first = True
    for finding in rec.findings():
        tally.take(finding)
        if finding.category is Category.MATCHED:
            out.write(("\n " if first else ",\n ") + _dump(finding.as_json()))
            first = False
    out.write("\n ],\n")
    for category in (
        Category.MISSING_ON_SERVER,
        Category.MISSING_IN_TRAIL,
        Category.EXPECTED_ABSENT,
        Category.TEXT_MISMATCH,
    ):
        entries = [f.as_json() for f in tally.exceptions if f.category is category]
        out.write(f' "{category}": {_dump(entries)},\n')
    untracked = [u.as_json() for u in rec.untracked.values()]
    out.write(f' "untracked_sessions": {_dump(untracked)},\n')
    out.write(f' "sessions": {_dump(_sessions(rec, tally))},\n')
    out.write(f' "summary": {_dump(_summary(rec, tally))}\n}}\n')
    return tally


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _sessions(rec: Reconciler, tally: Tally) -> list[dict[str, object]]:
    result: list[dict[str, object]] = []
    for sid, trail in rec.trails.items():
        info = trail.info
        result.append(
            {
                "session": sid,
                "trail": str(info.path),
                "integrity": trail.integrity,
                "integrity_problem": trail.integrity_problem,
                "ticket": info.ticket,
                "os_user": info.os_user,
                "db_user": info.db_user,
                "server_sessions": sorted(info.server_ids),
                "pgaudit_classes": sorted(info.classes) if info.classes is not None else None,
                "counts": {str(c): tally.counts[(sid, c)] for c in Category},
            }
        )
    return result


def _summary(rec: Reconciler, tally: Tally) -> dict[str, object]:
    return {
        "trails": len(rec.trails),
        "audit_lines": rec.audit_lines,
        **{str(c): tally.total(c) for c in Category},
        "untracked_sessions": len(rec.untracked),
        "malformed_lines": rec.problems.count,
        "malformed_examples": rec.problems.examples,
        "exit_code": exit_code(rec, tally),
    }


def write_text(rec: Reconciler, out: IO[str]) -> Tally:
    tally = _tally(rec)
    for sid, trail in rec.trails.items():
        _session_text(sid, trail, tally, out)
    _untracked_text(rec, out)
    _totals_text(rec, tally, out)
    return tally


def _tally(rec: Reconciler) -> Tally:
    """Every finding counted, as ``rec.findings()`` would give them; a trail whose every
    statement matched is counted without reading it again or building its findings."""
    tally = Tally()
    for sid in rec.trails:
        matched = rec.matched_count(sid)
        if matched is not None:
            tally.add(sid, Category.MATCHED, matched)
            continue
        for finding in rec.trail_findings(sid):
            tally.take(finding)
    for finding in rec.extras:
        tally.take(finding)
    return tally


def _session_text(sid: str, trail: TrailState, tally: Tally, out: IO[str]) -> None:
    counts = ", ".join(f"{str(c).replace('_', ' ')} {tally.counts[(sid, c)]}" for c in Category)
    integrity = trail.integrity.replace("_", " ")
    out.write(f"session {sid}  ({trail.info.path}; trail {integrity})\n")
    if trail.integrity_problem:
        out.write(f"  trail problem: {trail.integrity_problem}\n")
    out.write(f"  {counts}\n")
    for f in tally.exceptions:
        if f.session == sid:
            out.write(_finding_text(f))


def _finding_text(f: Finding) -> str:
    label = str(f.category).replace("_", " ").upper()
    ref = f"stmt {f.stmt}" if f.stmt is not None else f"statement_id {f.statement_id}"
    first = f.text.strip().splitlines()[0] if f.text.strip() else ""
    short = first if len(first) <= 70 else first[:67] + "..."
    where = f" [{f.where}]" if f.where else ""
    text = f"  {label:<18} {ref:<16} {short}\n  {'':<18} {f.why}{where}\n"
    if f.server_text is not None:
        text += _quoted("trail says sent:", f.trail_text or "") + _quoted(
            "server logged:", f.server_text
        )
    return text


def _quoted(label: str, body: str) -> str:
    """A whole statement text, indented, for a reviewer to compare line by line."""
    lines = body.splitlines() or [""]
    return f"  {'':<18} {label}\n" + "".join(f"  {'':<18}   | {line}\n" for line in lines)


def _untracked_text(rec: Reconciler, out: IO[str]) -> None:
    orphans = [f for f in rec.extras if f.session not in rec.trails]
    for f in orphans:
        out.write(_finding_text(f))
    for u in rec.untracked.values():
        out.write(
            f"UNTRACKED SESSION {u.server_session} pid {u.pid} {u.application_name} "
            f"({u.audit_lines} AUDIT lines, first at {u.where}): no given trail covers it\n"
        )


def _totals_text(rec: Reconciler, tally: Tally, out: IO[str]) -> None:
    totals = ", ".join(f"{str(c).replace('_', ' ')} {tally.total(c)}" for c in Category)
    out.write(
        f"{len(rec.trails)} trails, {rec.audit_lines} AUDIT lines: {totals}, "
        f"untracked sessions {len(rec.untracked)}\n"
    )
    if rec.problems.count:
        out.write(f"malformed log lines: {rec.problems.count} (skipped)\n")
        for example in rec.problems.examples[:5]:
            out.write(f"  {example}\n")
