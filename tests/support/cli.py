"""Drive the real ``prodsql`` executable in a subprocess, with a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRODSQL = [sys.executable, "-m", "prodsql"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    args: list[str]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """No developer settings leak in: fresh XDG dirs, no PG*/AWS*/PRODSQL* variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "AWS_", "PRODSQL_", "XDG_", "PYTHON_KEYRING"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


def run_prodsql(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: str | None = None,
    timeout: float = 60,
    prefix: Sequence[str] = (),
) -> Run:
    cmd = [*prefix, *PRODSQL, *args]
    proc = subprocess.run(
        cmd,
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, list(args))


def trail_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def read_trail(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def only_trail(directory: Path) -> list[dict[str, Any]]:
    files = trail_files(directory)
    assert len(files) == 1, f"expected one trail file in {directory}, found {files}"
    return read_trail(files[0])


def kinds(records: Sequence[Mapping[str, object]]) -> list[str]:
    return [str(r["kind"]) for r in records]
