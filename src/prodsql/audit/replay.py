"""Rendering one session's trail for a reviewer: text (paced like a recording), JSON, HTML.

The trail is verified first; the records read are shown whatever the verdict, under a
banner that names the break when there is one. Only complete lines are read.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from prodsql.audit.trails import iso_seconds
from prodsql.errors import TrailFormatError, UsageError
from prodsql.output import json_safe
from prodsql.trail import VerifyResult, VerifyStatus, read_records, verify_file

_READ_ONLY_KINDS = frozenset({"read", "set", "transaction", "empty"})
_STEP_KINDS = frozenset({"statement", "refused", "meta", "reconnect", "connected"})
# Kept by --writes-only beside the writes: without them a rolled-back write would look
# committed. END and ABORT are classified as COMMIT and ROLLBACK.
_TRANSACTION_CONTROL = frozenset(
    {
        "BEGIN",
        "START TRANSACTION",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "PREPARE TRANSACTION",
        "COMMIT PREPARED",
        "ROLLBACK PREPARED",
    }
)
# prodsql's own statements carry no classification: the BEGIN of a write transaction.
_INTERNAL_TRANSACTION_CONTROL = re.compile(
    r"\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE)\b",
    re.IGNORECASE,
)
# Characters that must not reach the reviewer's terminal (or page) as they are: C0 and C1
# controls, DEL, and the bidirectional and line-separator controls that can make text
# look other than it is. Shown as escapes; the JSON format keeps the text exact.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Pauses longer than this are cut when pacing: nobody wants to watch an idle minute.
_MAX_PAUSE = 5.0


@dataclass(frozen=True)
class Step:
    """One thing that happened: a statement with its outcome, a refusal, a mode switch..."""

    seq: int
    ts: str
    kind: str
    stmt: int | None
    text: str
    classification: dict[str, object]
    decision: dict[str, object]
    confirmed_by: str | None
    outcome: dict[str, object] | None
    details: dict[str, object]

    @property
    def internal(self) -> bool:
        """A statement prodsql sent itself (the posture query...), not the operator."""
        return self.details.get("source") == "internal"

    @property
    def may_write(self) -> bool:
        return (
            self.kind in ("statement", "refused")
            and not self.internal
            and str(self.classification.get("kind", "unknown")) not in _READ_ONLY_KINDS
        )

    @property
    def controls_transaction(self) -> bool:
        """BEGIN, COMMIT, ROLLBACK, SAVEPOINT... (prodsql's own BEGIN included)."""
        if self.kind not in ("statement", "refused"):
            return False
        if self.internal:
            return _INTERNAL_TRANSACTION_CONTROL.match(self.text) is not None
        c = self.classification
        return c.get("kind") == "transaction" and c.get("command") in _TRANSACTION_CONTROL

    def as_json(self) -> dict[str, object]:
        label, summary = step_summary(self)
        return {
            "label": label,
            "summary": summary,
            "may_write": self.may_write,
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "stmt": self.stmt,
            "text": self.text,
            "classification": self.classification,
            "decision": self.decision,
            "confirmed_by": self.confirmed_by,
            "outcome": self.outcome,
            "details": self.details,
        }


@dataclass(frozen=True)
class Session:
    path: Path
    verdict: VerifyResult
    header: dict[str, object]
    steps: tuple[Step, ...]


def load(path: Path, *, hmac_key: bytes | None = None) -> Session:
    """Verify, then read the session; an unreadable trail is a TrailFormatError."""
    verdict = verify_file(path, hmac_key=hmac_key)
    if verdict.status is VerifyStatus.UNREADABLE:
        raise TrailFormatError(f"{path}: {verdict.problem or 'not a trail'}")
    records = list(_records(path, verdict))
    return Session(path, verdict, _header(records), tuple(_steps(records)))


def _records(path: Path, verdict: VerifyResult) -> list[dict[str, object]]:
    # Past a break the file is not to be trusted, but a reviewer still needs to see it:
    # read every line that parses, and let the banner say where trust ends.
    result: list[dict[str, object]] = []
    try:
        for record in read_records(path):
            result.append(record)
    except TrailFormatError:
        if verdict.status is VerifyStatus.INTACT:
            raise
    return result


def _header(records: list[dict[str, object]]) -> dict[str, object]:
    start = _first(records, "session_start")
    connected = _first(records, "connected")
    end = _first(records, "session_end")
    posture = connected.get("posture") if isinstance(connected.get("posture"), dict) else {}
    assert isinstance(posture, dict)
    return {
        "session": start.get("sid"),
        "os_user": start.get("os_user"),
        "host": start.get("host"),
        "db_user": connected.get("db_user") or start.get("db_user"),
        "ticket": start.get("ticket"),
        "break_glass": start.get("break_glass"),
        "reason": start.get("reason"),
        "incident": start.get("incident"),
        "expires_at": start.get("expires_at"),
        "target": start.get("target"),
        "dsn": start.get("dsn_redacted"),
        "server_session_id": connected.get("server_session_id"),
        "backend_pid": connected.get("backend_pid"),
        "server_version": connected.get("server_version"),
        "mode": start.get("mode"),
        "pgaudit_log": posture.get("pgaudit_log"),
        "audit_classes": posture.get("classes"),
        "posture_ok": connected.get("posture_ok"),
        "posture_problems": connected.get("posture_problems"),
        "start": start.get("ts"),
        "end": end.get("ts"),
        "how": end.get("how"),
        "open_transaction": end.get("open_transaction"),
        "statements": end.get("statements"),
    }


def _open_txn(h: dict[str, object]) -> str:
    """A transaction open at the end was not committed: say so beside how it ended."""
    open_txn = h.get("open_transaction")
    return f"; open transaction: {open_txn}" if open_txn else ""


def _first(records: list[dict[str, object]], kind: str) -> dict[str, object]:
    return next((r for r in records if r.get("kind") == kind), {})


def _steps(records: list[dict[str, object]]) -> list[Step]:
    outcomes = {r.get("stmt"): r for r in records if r.get("kind") == "outcome"}
    return [_step(r, outcomes) for r in records if r.get("kind") in _STEP_KINDS]


def _step(record: dict[str, object], outcomes: dict[object, dict[str, object]]) -> Step:
    stmt = _int(record.get("stmt"))
    kind = str(record.get("kind"))
    confirmed = record.get("confirmed_by")
    return Step(
        seq=_int(record.get("seq")) or 0,
        ts=str(record.get("ts", "")),
        kind=kind,
        stmt=stmt,
        text=str(record.get("text") or ""),
        classification=_dict(record.get("classification")),
        decision=_dict(record.get("decision")),
        confirmed_by=confirmed if isinstance(confirmed, str) else None,
        outcome=outcomes.get(stmt) if kind == "statement" and stmt is not None else None,
        details={k: v for k, v in record.items() if k not in _NOT_DETAILS},
    )


_NOT_DETAILS = frozenset({"v", "seq", "ts", "sid", "kind", "prev", "hash", "hmac", "text", "stmt"})


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def select(steps: Sequence[Step], *, writes_only: bool, grep: str | None) -> list[Step]:
    """Statement steps that pass the filters; mode switches and reconnects always stay,
    and ``writes_only`` keeps transaction control beside the writes."""
    pattern = _compile(grep) if grep else None
    chosen = []
    for step in steps:
        if step.kind in ("statement", "refused"):
            if writes_only and not (step.may_write or step.controls_transaction):
                continue
            if pattern and not pattern.search(step.text):
                continue
        chosen.append(step)
    return chosen


def _compile(grep: str) -> re.Pattern[str]:
    try:
        return re.compile(grep, re.IGNORECASE)
    except re.error as exc:
        raise UsageError(f"--grep: not a regular expression: {exc}") from None


# -- rendering -------------------------------------------------------------------------


def render(
    session: Session,
    steps: Sequence[Step],
    fmt: str,
    out: IO[str],
    *,
    color: bool = False,
    speed: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> None:
    if fmt == "json":
        out.write(json_safe(json.dumps(_json(session, steps), indent=1, ensure_ascii=False)))
        out.write("\n")
    elif fmt == "html":
        out.write(render_html(session, steps))
    else:
        render_text(session, steps, out, color=color, speed=speed, sleep=sleep)


def banner(verdict: VerifyResult) -> str | None:
    """The integrity warning shown above everything, or None for an intact, closed trail."""
    if verdict.status is VerifyStatus.INTACT:
        return None
    label = verdict.status.name.replace("_", " ")
    trusted = f"the first {verdict.records} records verify"
    # verify's problem text already names the line and seq of the break.
    return f"TRAIL {label}: {verdict.problem or 'no session_end'}; {trusted}"


def _json(session: Session, steps: Sequence[Step]) -> dict[str, object]:
    v = session.verdict
    return {
        "trail": str(session.path),
        "integrity": {
            "status": v.status.name.lower(),
            "problem": v.problem,
            "problem_line": v.problem_line,
            "problem_seq": v.problem_seq,
            "records_verified": v.records,
            "final_hash": v.final_hash,
            "hmac_checked": v.hmac_checked,
            "banner": banner(v),
        },
        "header": session.header,
        "steps": [s.as_json() for s in steps],
    }


def header_lines(h: dict[str, object]) -> list[tuple[str, str]]:
    posture = f"pgaudit.log = {_v(h.get('pgaudit_log'))}"
    if h.get("posture_ok") is False:
        posture += f"  NOT MET: {_joined(h.get('posture_problems'))}"
    return [
        (
            "who",
            f"{_v(h.get('os_user'))}@{_v(h.get('host'))} as database user {_v(h.get('db_user'))}",
        ),
        ("why", _why(h)),
        ("target", f"{_v(h.get('target'))} ({_v(h.get('dsn'))})"),
        (
            "server session",
            f"{_v(h.get('server_session_id'))} pid {_v(h.get('backend_pid'))}",
        ),
        ("mode", _v(h.get("mode"))),
        ("audit posture", posture),
        ("start", _v(h.get("start"))),
        ("end", f"{_v(h.get('end'))} ({h.get('how') or 'not closed'}){_open_txn(h)}"),
    ]


def _why(h: dict[str, object]) -> str:
    reason = h.get("reason")
    if h.get("ticket"):
        return f"ticket {h['ticket']}" + (f" ({reason})" if reason else "")
    if h.get("break_glass"):
        why = f"BREAK-GLASS: {reason or 'no reason recorded'}"
        if h.get("incident"):
            why += f" (incident {h['incident']})"
        if h.get("expires_at"):
            why += f", ends by {h['expires_at']}"
        return why
    if h.get("session") is None:
        return "unknown: the trail has no session_start record"
    return "no ticket and no break-glass reason recorded"


def _v(value: object) -> str:
    """A header value as text; '-' for one the trail does not have."""
    return "-" if value is None or value == "" else str(value)


def _joined(value: object) -> str:
    return "; ".join(str(x) for x in value) if isinstance(value, list) else _v(value)


def step_summary(step: Step) -> tuple[str, str]:
    """(label, detail) for a step: what was decided and what came of it."""
    if step.kind == "refused":
        c = step.classification
        detail = f"{c.get('command')} [{c.get('kind')}] {step.details.get('why')}"
        return "REFUSED", detail + _reasons(step.decision)
    if step.kind == "statement":
        return f"#{step.stmt}", _statement_detail(step)
    return step.kind.upper(), _OTHER_SUMMARIES.get(step.kind, _meta_summary)(step.details)


def _statement_detail(step: Step) -> str:
    if step.internal:
        purpose = step.details.get("purpose") or "no purpose recorded"
        return f"internal: {purpose} -> {_outcome_text(step.outcome)}"
    c, d = step.classification, step.decision
    decided = f"{c.get('command')} [{c.get('kind')}] {d.get('action')}{_reasons(d)}"
    if step.confirmed_by:
        decided += f", confirmed by {step.confirmed_by}"
    return f"{decided} -> {_outcome_text(step.outcome)}"


def _reasons(decision: dict[str, object]) -> str:
    reasons = decision.get("reasons")
    if not isinstance(reasons, list) or not reasons:
        return ""
    return f" ({'; '.join(str(r) for r in reasons)})"


def _connected_summary(d: dict[str, object]) -> str:
    who = f"as {_v(d.get('db_user'))}"
    if d.get("session_user") not in (None, d.get("db_user")):
        who += f" (session user {d['session_user']})"
    text = (
        f"backend pid {_v(d.get('backend_pid'))}, server session "
        f"{_v(d.get('server_session_id'))}, {who} to {_v(d.get('dbname'))}, "
        f"server {_v(d.get('server_version'))}"
    )
    if d.get("superuser"):
        text += ", SUPERUSER (cannot be reliably audited)"
    if d.get("posture_ok") is False:
        return text + f"; audit posture NOT MET: {_joined(d.get('posture_problems'))}"
    return text + ("; audit posture ok" if d.get("posture_ok") else "")


def _reconnect_summary(d: dict[str, object]) -> str:
    text = (
        f"the connection was re-established; previous backend pid "
        f"{_v(d.get('previous_backend_pid'))}, server session "
        f"{_v(d.get('previous_server_session_id'))}"
    )
    details = [f"{k} {_plain(d[k])}" for k in ("mode", "credentials") if d.get(k)]
    return text + (f" ({', '.join(details)})" if details else "")


def _meta_summary(d: dict[str, object]) -> str:
    text = f"{_v(d.get('command'))} {d.get('args') or ''}".rstrip()
    rest = [f"{k}={_plain(v)}" for k, v in sorted(d.items()) if k not in ("command", "args")]
    return text + (f" ({', '.join(rest)})" if rest else "")


def _plain(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


_OTHER_SUMMARIES: dict[str, Callable[[dict[str, object]], str]] = {
    "connected": _connected_summary,
    "reconnect": _reconnect_summary,
}


def _outcome_text(o: dict[str, object] | None) -> str:
    if o is None:
        return "no outcome recorded"
    parts = [str(o.get("status"))]
    if o.get("command_status"):
        parts.append(str(o["command_status"]))
    if o.get("rows") is not None:
        parts.append(f"{o['rows']} rows")
    if o.get("duration_ms") is not None:
        parts.append(f"{o['duration_ms']} ms")
    if o.get("sqlstate"):
        parts.append(f"SQLSTATE {o['sqlstate']}: {o.get('message')}")
    elif o.get("message") and o.get("status") != "ok":
        parts.append(str(o["message"]))
    return ", ".join(parts) + _notices(o.get("notices"))


def _notices(notices: object) -> str:
    """What the server said beside the result (``WARNING: there is no transaction in
    progress``), as psql would have shown it."""
    if not isinstance(notices, list):
        return ""
    said = [
        f"; {n.get('severity') or 'NOTICE'}: {n.get('message') or ''}"
        for n in notices
        if isinstance(n, dict)
    ]
    return "".join(said)


def shown(text: str) -> str:
    """A value from the trail, on one line, with every control character visible."""
    return _UNSAFE.sub(_escape, text)


def shown_statement(text: str) -> str:
    """A statement's text with its line breaks kept, tabs as spaces, and every other
    control character visible (``\\r``, ``\\x1b``): a statement cannot rewrite what the
    reviewer's terminal shows."""
    lines = text.split("\n")
    return "\n".join(shown(line.expandtabs(8)) for line in lines)


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return _SHORT_ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def render_text(
    session: Session,
    steps: Sequence[Step],
    out: IO[str],
    *,
    color: bool,
    speed: float | None,
    sleep: Callable[[float], None] | None,
) -> None:
    note = banner(session.verdict)
    if note:
        out.write(_paint(f"!!! {shown(note)} !!!", "1;31", color) + "\n")
    for label, value in header_lines(session.header):
        out.write(f"{label + ':':<16}{shown(value)}\n")
    out.write("\n")
    previous: float | None = None
    for step in steps:
        previous = _pace(step, previous, speed, sleep)
        label, detail = step_summary(step)
        out.write(f"{shown(step.ts)}  {shown(label)}  {shown(detail)}\n")
        if step.text:
            text = shown_statement(step.text).removesuffix("\n")
            body = highlight_ansi(text) if color else text
            out.write("".join(f"    {line}\n" for line in body.split("\n")))
        out.flush()


def _pace(
    step: Step, previous: float | None, speed: float | None, sleep: Callable[[float], None] | None
) -> float | None:
    moment = iso_seconds(step.ts)
    if speed and sleep and previous is not None and moment is not None:
        pause = max(0.0, moment - previous) / speed
        sleep(min(pause, _MAX_PAUSE))
    return moment if moment is not None else previous


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


# -- highlighting ----------------------------------------------------------------------

_KEYWORDS = (
    "select from where insert into values update set delete merge using returning with as "
    "and or not null is in join left right inner outer on group by order having limit "
    "offset create alter drop table index view truncate grant revoke begin commit rollback "
    "explain analyze do declare end case when then else union all distinct copy to vacuum"
)
_TOKEN_RE = re.compile(
    r"(?P<comment>--[^\n]*|/\*.*?\*/)|(?P<string>'(?:[^']|'')*'?)"
    r"|(?P<word>\b(?:" + "|".join(_KEYWORDS.split()) + r")\b)|(?P<number>\b\d+(?:\.\d+)?\b)",
    re.IGNORECASE | re.DOTALL,
)
_ANSI = {"comment": "2", "string": "32", "word": "1;34", "number": "36"}


def _tokens(text: str) -> list[tuple[str | None, str]]:
    pieces: list[tuple[str | None, str]] = []
    at = 0
    for match in _TOKEN_RE.finditer(text):
        if match.start() > at:
            pieces.append((None, text[at : match.start()]))
        pieces.append((match.lastgroup, match.group()))
        at = match.end()
    pieces.append((None, text[at:]))
    return pieces


def highlight_ansi(text: str) -> str:
    return "".join(_paint(t, _ANSI[k], True) if k else t for k, t in _tokens(text))


def highlight_html(text: str) -> str:
    return "".join(
        f'<span class="{k}">{html.escape(t)}</span>' if k else html.escape(t)
        for k, t in _tokens(text)
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table.h td{padding:2px 12px 2px 0;vertical-align:top}
.banner{background:#b00;color:#fff;padding:8px;font-weight:bold}
.step{border-top:1px solid #ddd;padding:6px 0}
.meta{color:#555;font-size:90%}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;margin:4px 0}
.comment{color:#888}.string{color:#070}.word{color:#00a;font-weight:bold}.number{color:#077}
.refused{color:#b00}.error{color:#b00}
"""


def render_html(session: Session, steps: Sequence[Step]) -> str:
    """One self-contained page: inline CSS, no scripts, no external resources."""
    e = _html
    parts = [
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">',
        f"<title>prodsql session {e(str(session.header.get('session')))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>prodsql session {e(str(session.header.get('session')))}</h1>",
    ]
    note = banner(session.verdict)
    if note:
        parts.append(f'<div class="banner">{e(note)}</div>')
    rows = "".join(
        f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in header_lines(session.header)
    )
    parts.append(
        f'<table class="h">{rows}</table><p class="meta">trail: {e(str(session.path))}</p>'
    )
    parts.extend(_html_step(step) for step in steps)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_step(step: Step) -> str:
    e = _html
    label, detail = step_summary(step)
    failed = step.kind == "refused" or (step.outcome or {}).get("status") not in (None, "ok")
    css = "refused" if step.kind == "refused" else ("error" if failed else "")
    body = f"<pre>{highlight_html(shown_statement(step.text))}</pre>" if step.text else ""
    return (
        f'<div class="step"><div class="meta">{e(step.ts)} <b class="{css}">{e(label)}</b> '
        f"{e(detail)}</div>{body}</div>"
    )


def _html(text: str) -> str:
    return html.escape(shown(text))
