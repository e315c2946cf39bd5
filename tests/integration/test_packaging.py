"""packaging/build.sh, the metadata of what it builds, and the wheel installed into a fresh
virtualenv the way packaging/README.md tells a bastion host to (a wheelhouse made with
``pip download``, then an install with ``--no-index``)."""

from __future__ import annotations

import email.parser
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

import prodsql
from prodsql.trail import TrailWriter
from support.cli import clean_env

ROOT = Path(__file__).resolve().parents[2]
VERSION = prodsql.__version__
# Generous: the download step fetches ~35 MB of wheels from PyPI (or its cache).
PIP_TIMEOUT = 900


@dataclass(frozen=True)
class Built:
    out: Path
    sdist: Path
    wheel: Path
    stdout: str


def run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd="/"
    )
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def built() -> Iterator[Built]:
    with tempfile.TemporaryDirectory(prefix="prodsql-pkg-") as tmp:
        out = Path(tmp) / "dist"
        env = {**os.environ, "PYTHON": sys.executable}
        stdout = run(["bash", str(ROOT / "packaging" / "build.sh"), str(out)], env=env)
        yield Built(
            out=out,
            sdist=out / f"prodsql-{VERSION}.tar.gz",
            wheel=out / f"prodsql-{VERSION}-py3-none-any.whl",
            stdout=stdout,
        )


def test_build_script_writes_sdist_wheel_and_checksums(built: Built) -> None:
    assert sorted(p.name for p in built.out.iterdir()) == sorted(
        ["SHA256SUMS", built.sdist.name, built.wheel.name]
    )
    assert built.stdout.splitlines() == [str(built.sdist), str(built.wheel)]
    for line in (built.out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((built.out / name).read_bytes()).hexdigest() == digest


def test_build_script_usage(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "build.sh OUTDIR" in proc.stderr


def _metadata(text: str) -> Message:
    return email.parser.Parser().parsestr(text)


def _check_core_metadata(meta: Message) -> None:
    assert meta["Name"] == "prodsql"
    assert meta["Version"] == VERSION
    assert meta["License-Expression"] == "GPL-3.0-or-later"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.11"
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    names = {r.split("[")[0].split("<")[0].split(">")[0].split("=")[0] for r in runtime}
    assert names == {
        "psycopg",
        "pglast",
        "sqlparse",
        "boto3",
        "keyring",
        "structlog",
        "prompt_toolkit",
    }
    assert any(r.startswith("psycopg[binary]") for r in runtime)


def test_wheel_metadata_license_and_console_script(built: Built) -> None:
    dist_info = f"prodsql-{VERSION}.dist-info"
    with zipfile.ZipFile(built.wheel) as whl:
        names = set(whl.namelist())
        _check_core_metadata(_metadata(whl.read(f"{dist_info}/METADATA").decode()))
        license_text = whl.read(f"{dist_info}/licenses/LICENSE")
        entry_points = whl.read(f"{dist_info}/entry_points.txt").decode()
        wheel_info = whl.read(f"{dist_info}/WHEEL").decode()
    assert license_text == (ROOT / "LICENSE").read_bytes()
    assert "GNU GENERAL PUBLIC LICENSE" in license_text.decode()
    assert entry_points.split() == ["[console_scripts]", "prodsql", "=", "prodsql._cli:main"]
    assert "Root-Is-Purelib: true" in wheel_info
    assert {"prodsql/__init__.py", "prodsql/_cli.py", "prodsql/py.typed"} <= names
    sources = {str(p.relative_to(ROOT / "src")) for p in (ROOT / "src").rglob("*.py")}
    assert sources <= names  # every module made it in
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)


def test_sdist_carries_license_sources_and_metadata(built: Built) -> None:
    top = f"prodsql-{VERSION}"
    with tarfile.open(built.sdist) as sdist:
        names = set(sdist.getnames())
        pkg_info = sdist.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None
        meta = _metadata(pkg_info.read().decode())
    _check_core_metadata(meta)
    for name in ("LICENSE", "README.md", "pyproject.toml", "src/prodsql/py.typed"):
        assert f"{top}/{name}" in names
    assert not any("__pycache__" in n or n.startswith(f"{top}/tests") for n in names)


# -- a fresh virtualenv, as on a bastion host


def _offline_pip_env(home: Path) -> dict[str, str]:
    """No pip configuration at all (no index, mirror or find-links of this machine)."""
    env = {k: v for k, v in clean_env(home).items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _a_closed_trail(directory: Path) -> Path:
    writer = TrailWriter.create(directory, session_id="pkg12345", ticket="OPS-1")
    writer.append("meta", {"command": "packaging-test", "args": ""})
    writer.close("completed", {"statements": 0})
    return writer.path


def test_wheel_installs_with_its_dependencies_in_a_fresh_venv(built: Built) -> None:
    with tempfile.TemporaryDirectory(prefix="prodsql-venv-") as tmp:
        base = Path(tmp)
        venv, wheelhouse = base / "venv", base / "wheelhouse"
        run([sys.executable, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        # The wheelhouse: the wheel and its dependencies, pinned by the lock file; this
        # step may use PyPI (or the mirror and cache pip is configured with).
        lock = str(ROOT / "requirements" / "lock.txt")
        download = ["download", "-d", str(wheelhouse), "-c", lock, str(built.wheel)]
        run([*pip, *download], timeout=PIP_TIMEOUT)
        env = _offline_pip_env(base / "home")
        run([*pip, "install", "--no-index", "--find-links", str(wheelhouse), "prodsql"], env=env)
        run([*pip, "check"], env=env)
        _check_installed(venv, env, base)


def _check_installed(venv: Path, env: dict[str, str], base: Path) -> None:
    prodsql_bin = str(venv / "bin" / "prodsql")
    code = "import prodsql; print(prodsql.__file__)"
    where = run([str(venv / "bin" / "python"), "-c", code], env=env)
    assert Path(where.strip()).is_relative_to(venv)  # the installed copy, not this tree
    assert run([prodsql_bin, "--version"], env=env).strip() == f"prodsql {VERSION}"
    assert "exit codes:" in run([prodsql_bin, "--help"], env=env)

    lint = subprocess.run(
        [prodsql_bin, "classify", "--write", "-"],
        input="SELECT 1;\nDELETE FROM orders;\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert lint.returncode == 1, lint.stdout + lint.stderr
    assert lint.stdout.splitlines()[-1] == "2 statements: 1 run, 1 confirm, 0 refuse"

    trail = _a_closed_trail(base / "trails")
    assert "1 ok" in run([prodsql_bin, "verify", str(trail.parent)], env=env)
