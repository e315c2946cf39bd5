"""PostgreSQL's regression SQL: every statement splits and classifies, nothing hangs."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from prodsql.policy import (
    Action,
    Mode,
    Statement,
    classify,
    evaluate,
    needs_more_input,
    split,
)

HANG_GUARD_S = 60


def corpus_dir() -> Path | None:
    env = os.environ.get("PRODSQL_CORPUS_DIR")
    path = (
        Path(env)
        if env
        else (
            Path(__file__).resolve().parents[3].parent / "shared" / "corpora" / "postgres-regress"
        )
    )
    return path if path.is_dir() and any(path.glob("*.sql")) else None


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    path = corpus_dir()
    if path is None:
        # Never skip: a suite that quietly drops its largest input proves nothing.
        pytest.fail(
            "the SQL corpus (shared/corpora/postgres-regress) is missing: "
            "set PRODSQL_CORPUS_DIR or check out shared/ beside the repository"
        )
    return {
        p.name: p.read_text(encoding="utf-8", errors="replace") for p in sorted(path.glob("*.sql"))
    }


@contextmanager
def hang_guard(label: str) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"{label}: still running after {HANG_GUARD_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(HANG_GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_every_corpus_statement_splits_and_classifies(corpus: dict[str, str]) -> None:
    statements: list[Statement] = []
    for name, text in corpus.items():
        with hang_guard(name):
            pieces = split(text)
            file_statements = [p for p in pieces if isinstance(p, Statement)]
            for stmt in file_statements:
                evaluate(stmt.text, Mode.WRITE)
        statements.extend(file_statements)
    assert len(statements) > 30_000
    drops = [s for s in statements if s.text.upper().startswith("DROP TABLE")]
    assert len(drops) > 500
    for stmt in drops:
        if classify(stmt.text).kind == "unknown":  # the corpus has deliberate syntax errors
            continue
        assert evaluate(stmt.text, Mode.WRITE)[1].action is Action.CONFIRM, stmt
        assert evaluate(stmt.text, Mode.READ_ONLY)[1].action is Action.REFUSE, stmt


def test_statements_are_text_of_the_input(corpus: dict[str, str]) -> None:
    """Split never invents text: each statement is a stripped slice of its file (joined
    only around meta-command lines and psql's ``\\;``)."""
    for text in corpus.values():
        for piece in split(text):
            if isinstance(piece, Statement) and "\\;" not in text:
                assert piece.text
                assert piece.text == piece.text.strip()
                assert all(part in text for part in piece.text.split("\n"))


def test_fuzz_random_slices_never_raise(corpus: dict[str, str]) -> None:
    rng = random.Random(20240601)
    blob = "\n".join(corpus.values())
    with hang_guard("fuzz"):
        for _ in range(1500):
            start = rng.randrange(len(blob))
            piece = blob[start : start + rng.randrange(1, 400)]
            if rng.random() < 0.3:
                cut = rng.randrange(len(piece) + 1)
                piece = (
                    piece[:cut]
                    + rng.choice(["'", '"', "$$", "/*", "\\", ";", "$a$", "E'\\"])
                    + piece[cut:]
                )
            for part in split(piece):
                if isinstance(part, Statement):
                    evaluate(part.text, Mode.READ_ONLY)
            needs_more_input(piece)
            evaluate(piece, Mode.WRITE)
