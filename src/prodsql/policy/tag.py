"""The comment that ties a statement to its pgAudit line: ``/* prodsql:<session>:seq=<n> */``.

It goes *before* the statement: a leading comment never changes what runs, cannot be
swallowed by a trailing ``--`` comment or an open dollar quote, and pgAudit logs it as part
of the statement text.
"""

from __future__ import annotations

import re

__all__ = ["find_tag", "make_tag", "tag_statement"]

_TAG_CHARS = re.compile(r"[A-Za-z0-9._:=/-]+")
_FOUND = re.compile(r"/\* prodsql:([A-Za-z0-9._/-]+):seq=([0-9]+) \*/")


def make_tag(session_id: str, seq: int) -> str:
    """``prodsql:<session_id>:seq=<seq>``; the session id must be tag-safe."""
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", session_id):
        raise ValueError(f"session id {session_id!r} has characters a tag cannot carry")
    if seq < 0:
        raise ValueError(f"sequence number must not be negative, got {seq}")
    return f"prodsql:{session_id}:seq={seq}"


def tag_statement(sql: str, tag: str) -> str:
    """``/* <tag> */ <sql>``. The tag's alphabet cannot open or close a comment."""
    if not _TAG_CHARS.fullmatch(tag):
        raise ValueError(f"tag {tag!r} must match [A-Za-z0-9._:=/-]+")
    return f"/* {tag} */ {sql}"


def find_tag(logged_text: str) -> tuple[str, int] | None:
    """The (session id, sequence number) of the first prodsql tag in a logged statement."""
    match = _FOUND.search(logged_text)
    if match is None:
        return None
    return match.group(1), int(match.group(2))
