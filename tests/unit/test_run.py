from __future__ import annotations

from pathlib import Path

import pytest

from prodsql._run import RunOptions, read_sources, resolve_target, trail_directory
from prodsql.config import Config, Target
from prodsql.errors import UsageError


def opts(**kw: object) -> RunOptions:
    base: dict[str, object] = {"ticket": "OPS-1", "env": {}}
    base.update(kw)
    return RunOptions(**base)  # type: ignore[arg-type]


def test_target_resolution_order() -> None:
    two = Config(targets={"a": Target(name="a"), "b": Target(name="b")})
    assert resolve_target(opts(dsn="host=x"), two).dsn == "host=x"
    assert resolve_target(opts(target="b"), two).name == "b"
    assert resolve_target(opts(env={"PRODSQL_TARGET": "a"}), two).name == "a"
    assert resolve_target(opts(), Config(targets={"a": Target(name="a")})).name == "a"
    assert resolve_target(opts(), Config()).name == "libpq-defaults"
    with pytest.raises(UsageError, match="several targets"):
        resolve_target(opts(), two)
    with pytest.raises(UsageError, match="not both"):
        resolve_target(opts(dsn="", target="a"), two)


def test_sources() -> None:
    assert [s.text for s in read_sources(opts(commands=["a", "b"]))] == ["a", "b"]
    with pytest.raises(UsageError, match="not both"):
        read_sources(opts(commands=["a"], file="f"))
    with pytest.raises(UsageError, match="no such file"):
        read_sources(opts(file="/nonexistent.sql"))


def test_binary_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.sql"
    path.write_bytes(b"SELECT \xff\xfe")
    with pytest.raises(UsageError, match="not UTF-8"):
        read_sources(opts(file=str(path)))


def test_trail_directory_precedence(tmp_path: Path) -> None:
    config = Config(trail_dir=tmp_path / "cfg")
    assert trail_directory(opts(trail_dir=str(tmp_path / "flag")), config) == tmp_path / "flag"
    env = {"PRODSQL_TRAIL_DIR": str(tmp_path / "env")}
    assert trail_directory(opts(env=env), config) == tmp_path / "env"
    assert trail_directory(opts(), config) == tmp_path / "cfg"
    xdg = {"XDG_STATE_HOME": str(tmp_path)}
    assert trail_directory(opts(env=xdg), Config()) == tmp_path / "prodsql" / "trails"


def test_non_utf8_standard_input_is_a_usage_error(tmp_path: Path) -> None:
    import subprocess

    from support.cli import PRODSQL, clean_env

    args = ["--ticket", "OPS-1", "--dsn", "host=127.0.0.1 port=1", "--trail-dir", str(tmp_path)]
    proc = subprocess.run(
        [*PRODSQL, *args, "-f", "-"],
        input=b"SELECT '\xff';\n",
        env=clean_env(tmp_path),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 2
    assert b"standard input: not UTF-8 text (byte 8)" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.jsonl"))  # refused before any session began
