#!/usr/bin/env bash
# Build prodsql's sdist and wheel into OUTDIR, offline.
#
#   packaging/build.sh OUTDIR
#
# The build uses the setuptools and wheel already installed for $PYTHON (default: the
# project's .venv/bin/python, else python3): no build isolation, nothing downloaded.
# requirements/lock.txt pins both. The sdist is built from a clean copy of the sources
# (pyproject.toml, README.md, LICENSE, src/), and the wheel from the unpacked sdist, so a
# file missing from the sdist breaks the build here rather than an install elsewhere.
# OUTDIR receives prodsql-VERSION.tar.gz, prodsql-VERSION-py3-none-any.whl and SHA256SUMS.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$root/.venv/bin/python" ]; then PYTHON=$root/.venv/bin/python; else PYTHON=python3; fi
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)

"$PYTHON" - <<'PY' || exit 2
import sys
from importlib.metadata import PackageNotFoundError, version

try:
    setuptools, wheel = version("setuptools"), version("wheel")
except PackageNotFoundError as exc:
    sys.exit(f"build.sh: {exc.name} is not installed for {sys.executable}; "
             "pip install -r requirements/lock.txt installs the pinned setuptools and wheel")
if int(setuptools.split(".")[0]) < 77:
    sys.exit(f"build.sh: setuptools {setuptools} is too old (pyproject.toml needs >= 77)")
PY

work=$(mktemp -d "${TMPDIR:-/tmp}/prodsql-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir "$work/tree" "$work/sdist" "$work/wheel"
cp -R "$root/pyproject.toml" "$root/README.md" "$root/LICENSE" "$root/src" "$work/tree/"
find "$work/tree" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +

# The PEP 517 hooks of pyproject.toml's backend, called directly (what `python -m build
# --no-isolation` does); each prints the name of the file it built on its last line.
hook() {  # hook DIR build_sdist|build_wheel OUTDIR
    (cd "$1" && "$PYTHON" -c '
import sys
from setuptools import build_meta
print(getattr(build_meta, sys.argv[1])(sys.argv[2]))
' "$2" "$3") | tail -n 1
}

sdist=$(hook "$work/tree" build_sdist "$work/sdist")
tar -xzf "$work/sdist/$sdist" -C "$work"
wheel=$(hook "$work/${sdist%.tar.gz}" build_wheel "$work/wheel")

cp "$work/sdist/$sdist" "$work/wheel/$wheel" "$out/"
(cd "$out" && sha256sum "$sdist" "$wheel" > SHA256SUMS)
echo "$out/$sdist"
echo "$out/$wheel"
