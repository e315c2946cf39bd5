"""Turn a classification into run, confirm or refuse, per mode (docs/architecture.md).

Order of precedence: always refused (both modes) > refused in read-only mode > confirmed >
run. Judgement calls, kept here so they are easy to find:

- ``SET ROLE`` / ``RESET ROLE`` are refused like ``SET SESSION AUTHORIZATION``: they change
  which role the server audits. ``log_min_messages`` and ``log_statement`` are protected
  too: they decide whether audit lines reach the log.
- ``set_config()`` with a setting name computed at run time is confirmed (it may be a
  protected one; the text cannot tell).
- ``x = x`` counts as an always-true condition (it only spares rows where x is NULL).
- Dangerous functions include every advisory lock function (session-level ones outlive
  the statement; the others can still block other sessions) and ``setval`` (it can make a
  sequence hand out existing keys). Large-object writers and ``pg_notify()`` are writes.
- A function body is judged when the function is created: calling it later is not asked
  about again (see classify.py).
- Two-phase commands (PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED) are confirmed:
  they finish a transaction that may not be this session's.
- In read-only mode, maintenance (VACUUM, ANALYZE...), LOCK, row locks, NOTIFY and COPY
  to or from a server file are refused with the writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prodsql.policy.classify import Classification, classify

__all__ = ["Action", "Decision", "Mode", "PolicyConfig", "decide", "evaluate"]

_SWITCH = "run prodsql with --write to switch to write mode"
_READ_ONLY_KINDS = frozenset({"write", "ddl", "privilege", "maintenance", "lock"})
_READ_ONLY_FLAGS = frozenset({"writes", "row_lock", "makes_read_write", "server_file"})
_ALWAYS_REFUSED = frozenset({"audit_tamper", "program"})
_ALWAYS_CONFIRMED = frozenset(
    {
        "dangerous_function",
        "unparseable",
        "opaque",
        "multi_statement",
        "dynamic_setting",
        "two_phase",
    }
)
_WRITE_CONFIRMED = frozenset({"destructive", "unconditional", "server_file"})
# Confirmations a user answers by typing the object's name; any other needs the ticket.
_OBJECT_CONFIRMED = frozenset({"destructive", "unconditional"})


class Action(StrEnum):
    RUN = "run"
    CONFIRM = "confirm"
    REFUSE = "refuse"


class Mode(StrEnum):
    READ_ONLY = "read-only"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Per-target additions to the default policy."""

    extra_dangerous_functions: frozenset[str] = frozenset()
    extra_protected_settings: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reasons: tuple[str, ...]
    confirm_object: str | None


def evaluate(
    sql: str, mode: Mode, config: PolicyConfig = PolicyConfig()
) -> tuple[Classification, Decision]:
    c = classify(sql)
    return c, decide(c, mode, config)


def decide(c: Classification, mode: Mode, config: PolicyConfig = PolicyConfig()) -> Decision:
    flags, reasons = _with_config(c, config)
    refused = flags & _ALWAYS_REFUSED
    if refused:
        return Decision(Action.REFUSE, _explain(c, refused, reasons, "refused in every mode"), None)
    if mode is Mode.READ_ONLY and _writes(c, flags):
        return Decision(Action.REFUSE, _read_only_reasons(c, reasons), None)
    confirm = flags & _ALWAYS_CONFIRMED
    if mode is Mode.WRITE:
        confirm |= flags & _WRITE_CONFIRMED
    if confirm:
        return Decision(Action.CONFIRM, _explain(c, confirm, reasons, ""), _object(c, confirm))
    if c.kind == "unknown":
        return Decision(Action.CONFIRM, (f"{c.command}: not understood",), None)
    return Decision(Action.RUN, (), None)


def _with_config(c: Classification, config: PolicyConfig) -> tuple[frozenset[str], list[str]]:
    flags, reasons = set(c.flags), list(c.reasons)
    extra_functions = {f.lower() for f in config.extra_dangerous_functions}
    for name in c.functions:
        if name in extra_functions or any(e.endswith("." + name) for e in extra_functions):
            flags.add("dangerous_function")
            reasons.append(f"calls {name}()")
    protected = {s.lower() for s in config.extra_protected_settings}
    for name in c.settings:
        if name in protected:
            flags.add("audit_tamper")
            reasons.append(f"changes {name}, protected on this target")
    return frozenset(flags), reasons


def _writes(c: Classification, flags: frozenset[str]) -> bool:
    return c.kind in _READ_ONLY_KINDS or bool(flags & _READ_ONLY_FLAGS)


def _read_only_reasons(c: Classification, reasons: list[str]) -> tuple[str, ...]:
    what = f"{c.command} {', '.join(c.objects)}".strip()
    first = f"read-only mode: {what} is {_kind_words(c)}; {_SWITCH}"
    return (first, *reasons)


def _kind_words(c: Classification) -> str:
    if "makes_read_write" in c.flags:
        return "making the transaction read-write"
    if "row_lock" in c.flags and c.kind == "read":
        return "a row lock"
    return {
        "ddl": "DDL",
        "privilege": "a privilege change",
        "maintenance": "maintenance",
        "lock": "a table lock",
        "opaque": "code that writes",
    }.get(c.kind, "a write")


def _explain(
    c: Classification, flags: frozenset[str], reasons: list[str], suffix: str
) -> tuple[str, ...]:
    if not reasons:
        reasons = [f"{c.command}: {', '.join(sorted(flags))}"]
    if suffix:
        reasons = [*reasons, f"{c.command} is {suffix}"]
    return tuple(dict.fromkeys(reasons))


def _object(c: Classification, confirm: frozenset[str]) -> str | None:
    if confirm <= _OBJECT_CONFIRMED and len(set(c.objects)) == 1:
        return c.objects[0]
    return None
