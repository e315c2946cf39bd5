"""When a typed buffer is complete, and what the prompt says about the session."""

from __future__ import annotations

from prodsql.policy import MetaCommand, needs_more_input, split

PROMPT_STYLE = {
    "target": "ansicyan",
    "ticket": "ansimagenta",
    # A break-glass session shows it in every prompt, in the loudest style there is.
    "breakglass": "bg:ansired fg:ansiwhite bold blink",
    "mode.read-only": "ansigreen",
    # Write mode must be impossible to miss: reverse red, bold.
    "mode.write": "bg:ansired fg:ansiwhite bold",
    "txn.idle": "",
    "txn.in_transaction": "ansiyellow bold",
    "txn.failed": "bg:ansired fg:ansiwhite bold",
    "txn.disconnected": "bg:ansired fg:ansiwhite",
}
_TXN_WORDS = {
    "idle": "idle",
    "in_transaction": "in-txn",
    "failed": "FAILED-txn",
    "disconnected": "disconnected",
}


def is_complete(text: str) -> bool:
    """Enter runs the buffer when it holds no unterminated statement (PostgreSQL's
    lexing: a ``;`` inside quotes, dollar quotes or comments does not count), or when
    the line being finished carries a meta-command, which psql runs at once."""
    if not text.strip():
        return True
    if not needs_more_input(text):
        return True
    last_line = text.count("\n") + 1
    return any(isinstance(p, MetaCommand) and p.line == last_line for p in split(text))


def prompt_parts(label: str, ticket: str | None, mode: str, txn: str) -> list[tuple[str, str]]:
    """psql's ``%x`` as words, write mode in reverse red; ends in ``=> ``."""
    mode_text = "WRITE" if mode == "write" else "read-only"
    return [
        ("class:target", label),
        ("", " "),
        ("class:ticket", ticket) if ticket else ("class:breakglass", " BREAK-GLASS "),
        ("", " "),
        (f"class:mode.{mode}", mode_text),
        ("", " "),
        (f"class:txn.{txn}", _TXN_WORDS.get(txn, txn)),
        ("", "=> "),
    ]


def plain_prompt(parts: list[tuple[str, str]]) -> str:
    return "".join(text for _style, text in parts)
