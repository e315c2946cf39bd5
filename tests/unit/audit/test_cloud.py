"""CloudWatch Logs and RDS log files through real boto3 HTTP calls to moto's server mode.

moto implements DescribeDBLogFiles but not DownloadDBLogFilePortion; the test adds that
one operation to the in-process moto server (RDS's own Marker/AdditionalDataPending
contract), so the boto3 side still goes over HTTP end to end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core.responses import ActionResult
from moto.rds.responses import RDSResponse

from awsfixtures import AwsEnv
from prodsql.audit.cli import reconcile_main
from prodsql.audit.cloud import (
    CloudLogError,
    CloudWatchQuery,
    cloudwatch_lines,
    parse_time_ms,
    rds_file_lines,
    rds_lines,
)
from prodsql.audit.logs import AuditEntry, LogProblems, parse_lines
from unit.audit.trailkit import CAPTURED_STATEMENTS, DATA, write_trail

GROUP = "/aws/rds/cluster/prod/postgresql"
# Recent: CloudWatch drops events from the future or older than 14 days.
T0 = (int(time.time()) - 600) * 1000


def records(text: str) -> list[str]:
    """Physical stderr lines joined into log records, as RDS exports them as events."""
    result: list[str] = []
    for line in text.splitlines():
        if line.startswith("\t") and result:
            result[-1] += "\n" + line
        else:
            result.append(line)
    return result


@pytest.fixture
def logs(aws_env: AwsEnv, moto_reset: str) -> Any:
    client = boto3.client("logs", endpoint_url=moto_reset, region_name=aws_env.region)
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName="instance-1")
    events = [
        {"timestamp": T0 + i, "message": r}
        for i, r in enumerate(records((DATA / "session.log").read_text(encoding="utf-8")))
    ]
    client.put_log_events(logGroupName=GROUP, logStreamName="instance-1", logEvents=events)
    return client


def test_cloudwatch_lines_follow_pagination(logs: Any) -> None:
    lines = list(cloudwatch_lines(logs, CloudWatchQuery(GROUP, ("instance-1",), page_size=3)))
    assert "".join(lines) == (DATA / "session.log").read_text(encoding="utf-8")
    entries = [e for e in parse_lines(lines, "cw", LogProblems()) if isinstance(e, AuditEntry)]
    assert len(entries) == 7
    assert entries[1].statement.endswith("FROM items -- trailing")


def test_cloudwatch_time_window(logs: Any) -> None:
    query = CloudWatchQuery(GROUP, since_ms=T0 + 5, until_ms=T0 + 6)
    lines = list(cloudwatch_lines(logs, query))
    assert [line.split("AUDIT: ")[1][:17] for line in lines if "AUDIT" in line] == [
        "SESSION,1,1,READ,",
        "SESSION,2,1,READ,",
    ]


def test_reconcile_from_cloudwatch(
    logs: Any,
    moto_reset: str,
    monkeypatch: pytest.MonkeyPatch,
    trail_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_reset)
    write_trail(trail_dir, CAPTURED_STATEMENTS)
    code = reconcile_main(
        ["--trail", str(trail_dir), "--cloudwatch-group", GROUP, "--since", "2020-01-01", "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert len(report["matched"]) == 5
    assert [e["text"] for e in report["missing_in_trail"]] == ["SELECT 'untagged'"]


def test_an_unknown_group_is_a_clear_error(logs: Any) -> None:
    with pytest.raises(CloudLogError, match="filter_log_events failed"):
        list(cloudwatch_lines(logs, CloudWatchQuery("/no/such/group")))


def test_times() -> None:
    assert parse_time_ms("1800000000") == 1_800_000_000_000
    assert parse_time_ms("2027-01-15T08:00:00Z") == parse_time_ms("2027-01-15T09:00:00+01:00")
    with pytest.raises(CloudLogError):
        parse_time_ms("last tuesday")


# -- RDS -------------------------------------------------------------------------------

PORTION_LINES = 4
SERVED: dict[str, str] = {}
CALLS: list[str] = []


def _download_portion(self: RDSResponse) -> ActionResult:
    text = SERVED[str(self.params.get("LogFileName"))]
    start = int(self.params.get("Marker") or 0)
    CALLS.append(str(start))
    lines = text.splitlines(keepends=True)
    chunk = lines[start : start + PORTION_LINES]
    end = start + len(chunk)
    return ActionResult(
        {
            "LogFileData": "".join(chunk),
            "Marker": str(end),
            "AdditionalDataPending": end < len(lines),
        }
    )


@pytest.fixture
def rds(aws_env: AwsEnv, moto_reset: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(
        RDSResponse, "download_db_log_file_portion", _download_portion, raising=False
    )
    client = boto3.client("rds", endpoint_url=moto_reset, region_name=aws_env.region)
    client.create_db_instance(
        DBInstanceIdentifier="prod-1",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="secret-password",
        AllocatedStorage=20,
    )
    (name,) = [
        f["LogFileName"]
        for f in client.describe_db_log_files(DBInstanceIdentifier="prod-1")["DescribeDBLogFiles"]
    ]
    SERVED.clear()
    CALLS.clear()
    SERVED[name] = (DATA / "session.log").read_text(encoding="utf-8")
    return client


def test_rds_portions_follow_the_marker(rds: Any) -> None:
    (name,) = SERVED
    lines = list(rds_file_lines(rds, "prod-1", name))
    assert "".join(lines) == SERVED[name]
    assert CALLS == ["0", "4", "8", "12", "16", "20"]


def test_reconcile_from_rds(
    rds: Any,
    moto_reset: str,
    monkeypatch: pytest.MonkeyPatch,
    trail_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_reset)
    write_trail(trail_dir, CAPTURED_STATEMENTS)
    assert len([x for x in rds_lines(rds, "prod-1") if "AUDIT" in x]) == 7
    code = reconcile_main(["--trail", str(trail_dir), "--rds-instance", "prod-1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert len(report["matched"]) == 5
    assert len(report["expected_absent"]) == 2


def test_an_unknown_instance_is_a_clear_error(rds: Any) -> None:
    with pytest.raises(CloudLogError, match="describe_db_log_files failed"):
        list(rds_lines(rds, "no-such-instance"))


# moto 5.2 implements DescribeDBLogFiles without pagination: it ignores Marker and
# MaxRecords (and FilenameContains) and lists one fixed file. As for the portions above,
# the test gives the in-process server RDS's contract (pages of at most MaxRecords, 2 by
# default here, continued from Marker), so boto3's paginator runs over real HTTP.
LISTED: list[str] = []
PAGES: list[str | None] = []
PAGE_SIZE = 2


def _describe_log_files(self: RDSResponse) -> ActionResult:
    marker = self.params.get("Marker")
    PAGES.append(marker)
    contains = self.params.get("FilenameContains") or ""
    names = [n for n in LISTED if contains in n]
    start = int(marker or 0)
    size = int(self.params.get("MaxRecords") or PAGE_SIZE)
    page = names[start : start + size]
    result: dict[str, object] = {
        "DescribeDBLogFiles": [
            {"LogFileName": n, "LastWritten": 1_800_000_000_000, "Size": len(SERVED[n])}
            for n in page
        ]
    }
    if start + size < len(names):
        result["Marker"] = str(start + size)
    return ActionResult(result)


@pytest.fixture
def rds_files(rds: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Five log files, the captured session split across two of them."""
    monkeypatch.setattr(RDSResponse, "describe_db_log_files", _describe_log_files)
    text = (DATA / "session.log").read_text(encoding="utf-8").splitlines(keepends=True)
    SERVED.clear()
    LISTED.clear()
    PAGES.clear()
    names = [f"error/postgresql.log.2026-11-26-{h:02d}" for h in range(14, 19)]
    for name in names:
        SERVED[name] = ""
    SERVED[names[3]] = "".join(text[:8])
    SERVED[names[4]] = "".join(text[8:])
    LISTED.extend(reversed(names))  # the listing order is not the files' order
    return names


def test_rds_log_files_are_listed_across_pages(rds: Any, rds_files: list[str]) -> None:
    lines = list(rds_lines(rds, "prod-1"))
    assert "".join(lines) == (DATA / "session.log").read_text(encoding="utf-8")
    assert PAGES == [None, "2", "4"]
    PAGES.clear()
    only = list(rds_lines(rds, "prod-1", "2026-11-26-18"))
    assert "".join(only) == SERVED[rds_files[4]]
    assert PAGES == [None]


def test_reconcile_reads_every_page_of_rds_log_files(
    rds_files: list[str],
    moto_reset: str,
    monkeypatch: pytest.MonkeyPatch,
    trail_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_reset)
    write_trail(trail_dir, CAPTURED_STATEMENTS)
    code = reconcile_main(["--trail", str(trail_dir), "--rds-instance", "prod-1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert len(report["matched"]) == 5
    assert [e["text"] for e in report["missing_in_trail"]] == ["SELECT 'untagged'"]
    assert PAGES == [None, "2", "4"]
