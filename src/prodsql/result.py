"""What one statement returned, as the renderers need it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Result:
    columns: list[str] = field(default_factory=list)
    type_oids: list[int] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    status: str = ""
    rowcount: int = -1
    has_rows: bool = False
    # No status line: COPY ... TO STDOUT, whose data went to the same stream (as psql).
    quiet: bool = False
