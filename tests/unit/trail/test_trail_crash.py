"""The trail under a real kill -9 and a real full-size limit (EFBIG), in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from prodsql.trail import VerifyStatus, read_records, verify_file

APPEND_FOREVER = """
import sys
from pathlib import Path
from prodsql.trail import TrailWriter

w = TrailWriter.create(Path(sys.argv[1]), session_id="crash01", ticket="OPS-9")
print(w.path, flush=True)
w.append("session_start", {"ticket": "OPS-9"})
n = 0
while True:
    n += 1
    w.append("statement", {"stmt": n, "text": "select " + "x" * (n % 3000)})
    w.append("outcome", {"stmt": n, "status": "ok"}, sync=False)
"""

FILL_TO_LIMIT = """
import json, resource, signal, sys
from pathlib import Path
from prodsql.errors import TrailError
from prodsql.trail import TrailWriter

# Without this the kernel kills us with SIGXFSZ instead of failing the write (EFBIG).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
w = TrailWriter.create(Path(sys.argv[1]), session_id="full01", ticket="OPS-9")
w.append("session_start", {"ticket": "OPS-9"})
resource.setrlimit(resource.RLIMIT_FSIZE, (w.path.stat().st_size + 1000, resource.RLIM_INFINITY))
sizes = []
try:
    while True:
        w.append("statement", {"text": "select '" + "y" * 300 + "'"})
        sizes.append(w.path.stat().st_size)
except TrailError as exc:
    first = exc.message
try:
    w.append("statement", {"text": "select 1"})
    later = None
except TrailError as exc:
    later = exc.message
print(json.dumps({"path": str(w.path), "sizes": sizes, "first": first, "later": later,
                  "closed": w.closed, "size": w.path.stat().st_size}))
"""


def run_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )


def test_kill_9_leaves_a_verifiable_prefix(tmp_path: Path) -> None:
    child = run_child(APPEND_FOREVER, str(tmp_path))
    assert child.stdout is not None
    path = Path(child.stdout.readline().strip())
    deadline = time.monotonic() + 20
    while path.stat().st_size < 400_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()

    result = verify_file(path)
    assert result.status is VerifyStatus.NOT_CLOSED, result.problem
    assert result.records > 100
    assert result.session_id == "crash01"
    assert result.records == len(list(read_records(path)))


def test_full_file_limit_cuts_back_and_fails_closed(tmp_path: Path) -> None:
    child = run_child(FILL_TO_LIMIT, str(tmp_path))
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    report = json.loads(out)
    assert "File too large; the statement was not sent" in report["first"]
    assert "failed earlier (File too large)" in report["later"]
    assert report["closed"] is True
    # One ~620-byte record fits under the limit; the next was partly written, then cut back.
    assert len(report["sizes"]) == 1
    assert report["size"] == report["sizes"][-1]
    result = verify_file(Path(report["path"]))
    assert (result.status, result.records, result.torn_tail) == (VerifyStatus.NOT_CLOSED, 2, False)
