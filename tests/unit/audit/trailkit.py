"""Trails built with the real TrailWriter, shaped as prodsql's runner writes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prodsql.trail import TrailWriter

DATA = Path(__file__).parent / "data"
# The captured session in data/session.{log,csv,json}: its prodsql id, %c and pid.
CAPTURED_SID = "cafe0001"
CAPTURED_SERVER_ID = "6b087a88.2e74"
CAPTURED_PID = 11892
CAPTURED_TIME = datetime(2026, 11, 26, 18, 29, 28, tzinfo=UTC)


@dataclass(frozen=True)
class Stmt:
    """One statement of a test session: what was typed and how it ended."""

    text: str
    status: str = "ok"
    sqlstate: str | None = None
    kind: str = "read"
    command: str = "SELECT"
    refused: bool = False
    txn_status: str = "idle"
    outcome: bool = True


@dataclass
class Clock:
    moment: datetime = CAPTURED_TIME
    step: timedelta = field(default=timedelta(milliseconds=1))

    def __call__(self) -> datetime:
        self.moment += self.step
        return self.moment


TrailFactory = Callable[..., Path]


def write_trail(
    directory: Path,
    statements: Sequence[Stmt],
    *,
    sid: str = CAPTURED_SID,
    server_id: str | None = CAPTURED_SERVER_ID,
    pid: int = CAPTURED_PID,
    classes: Sequence[str] = ("function", "misc", "read", "role", "write", "ddl"),
    close: bool = True,
    hmac_key: bytes | None = None,
    start: datetime = CAPTURED_TIME,
) -> Path:
    w = TrailWriter.create(
        directory, session_id=sid, ticket="OPS-9", hmac_key=hmac_key, now=Clock(start)
    )
    w.append("session_start", _start_fields(sid))
    if server_id is not None:
        w.append("connected", _connected_fields(server_id, pid, classes))
    for number, st in enumerate(statements, start=1):
        _write_statement(w, sid, number, st)
    if close:
        w.close("completed", {"statements": len(statements)})
    return w.path


def _start_fields(sid: str) -> dict[str, object]:
    return {
        "ticket": "OPS-9",
        "break_glass": False,
        "reason": None,
        "os_user": "root",
        "host": "vm",
        "target": "dsn",
        "dsn_redacted": "host=127.0.0.1 user=dev",
        "auth": "password",
        "mode": "read-only",
        "application_name": f"prodsql:OPS-9:root:{sid}",
        "prodsql_version": "0.1.0",
        "required_audit": ["read", "write"],
    }


def _connected_fields(server_id: str, pid: int, classes: Sequence[str]) -> dict[str, object]:
    return {
        "backend_pid": pid,
        "server_session_id": server_id,
        "db_user": "dev",
        "posture": {"pgaudit_log": ", ".join(classes), "classes": sorted(classes)},
        "posture_ok": True,
    }


def _write_statement(w: TrailWriter, sid: str, number: int, st: Stmt) -> None:
    classification = {"kind": st.kind, "command": st.command, "objects": [], "flags": []}
    if st.refused:
        w.append(
            "refused",
            {
                "stmt": number,
                "source": "-c",
                "text": st.text,
                "classification": classification,
                "decision": {"action": "refuse", "reasons": ["a write"]},
                "why": "refused by policy",
            },
        )
        return
    tag = f"prodsql:{sid}:seq={number}"
    w.append(
        "statement",
        {
            "stmt": number,
            "source": "-c",
            "text": st.text,
            "sent": f"/* {tag} */ {st.text}",
            "tag": tag,
            "classification": classification,
            "decision": {"action": "run", "reasons": []},
            "confirmed_by": None,
        },
    )
    if st.outcome:
        w.append(
            "outcome",
            {
                "stmt": number,
                "status": st.status,
                "sqlstate": st.sqlstate,
                "message": "boom" if st.sqlstate else None,
                "rows": 1 if st.status == "ok" else None,
                "duration_ms": 0.5,
                "txn_status": st.txn_status,
            },
        )


# The statements prodsql would have trailed for the captured session, seq 1..7.
CAPTURED_STATEMENTS = (
    Stmt("SELECT 1"),
    Stmt("SELECT id,\n  v\nFROM items -- trailing"),
    Stmt("SELECT id/0 FROM items", status="error", sqlstate="22012"),
    Stmt("SELECT 1/0", status="error", sqlstate="22012"),
    Stmt("SELECT * FROM nope", status="error", sqlstate="42P01"),
    Stmt("DO $$ BEGIN PERFORM count(*) FROM items; END $$", kind="opaque", command="DO"),
    Stmt("SELECT 'a,\"b\"'"),
)
