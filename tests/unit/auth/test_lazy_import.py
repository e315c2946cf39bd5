from __future__ import annotations

import subprocess
import sys

# Run in a fresh interpreter: this test process has long since imported boto3.
PROBE = """
import sys
import prodsql.auth
from prodsql.auth import IamParams, Secret
IamParams(host="h", port=5432, user="u", region=None)
Secret("x")
print(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")))
"""


def test_import_does_not_import_boto3() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
