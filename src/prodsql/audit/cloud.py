"""Server log lines from AWS: CloudWatch Logs and RDS log files, through boto3.

Both yield text lines for :func:`prodsql.audit.logs.parse_lines`, page by page, so a day
of logs never sits in memory. boto3 is imported only here, and only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prodsql.errors import Error


class CloudLogError(Error):
    """AWS refused or failed a log request."""


@dataclass(frozen=True)
class CloudWatchQuery:
    group: str
    streams: tuple[str, ...] = ()
    since_ms: int | None = None
    until_ms: int | None = None
    page_size: int | None = None


def cloudwatch_lines(client: Any, query: CloudWatchQuery) -> Iterator[str]:
    """Every event's message in the group (or the given streams), oldest first per page.

    RDS exports one log record per event; a multi-line record keeps its newlines (and
    stderr's TAB continuations), so each event is split into physical lines here.
    """
    params: dict[str, Any] = {"logGroupName": query.group}
    if query.streams:
        params["logStreamNames"] = list(query.streams)
    if query.since_ms is not None:
        params["startTime"] = query.since_ms
    if query.until_ms is not None:
        params["endTime"] = query.until_ms
    if query.page_size is not None:
        params["PaginationConfig"] = {"PageSize": query.page_size}
    for page in _pages(client, "filter_log_events", params):
        for event in page.get("events", []):
            yield from _physical_lines(str(event.get("message", "")))


def rds_lines(client: Any, instance: str, contains: str | None = None) -> Iterator[str]:
    """The lines of every log file of an RDS instance, each file downloaded in portions."""
    params: dict[str, Any] = {"DBInstanceIdentifier": instance}
    if contains:
        params["FilenameContains"] = contains
    names: list[str] = []
    for page in _pages(client, "describe_db_log_files", params):
        names.extend(str(f["LogFileName"]) for f in page.get("DescribeDBLogFiles", []))
    for name in sorted(names):
        yield from rds_file_lines(client, instance, name)


def rds_file_lines(client: Any, instance: str, name: str) -> Iterator[str]:
    """One RDS log file, following ``Marker`` while ``AdditionalDataPending``."""
    marker = "0"
    carry = ""
    while True:
        portion = _call(
            client,
            "download_db_log_file_portion",
            {"DBInstanceIdentifier": instance, "LogFileName": name, "Marker": marker},
        )
        # A portion may end mid-line: keep the fragment for the next one.
        text = carry + str(portion.get("LogFileData") or "")
        lines = text.split("\n")
        carry = lines.pop()
        yield from (line + "\n" for line in lines)
        next_marker = portion.get("Marker")
        if not portion.get("AdditionalDataPending") or not next_marker or next_marker == marker:
            break
        marker = str(next_marker)
    if carry:
        yield carry


def make_client(service: str, region: str | None) -> Any:
    import botocore.exceptions

    from prodsql.auth import aws

    try:
        return aws.session(region).client(service)
    except botocore.exceptions.BotoCoreError as exc:
        raise CloudLogError(f"cannot make an AWS {service} client: {exc}") from None


def _physical_lines(message: str) -> Iterator[str]:
    for line in message.split("\n"):
        yield line + "\n"


def _pages(client: Any, operation: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    import botocore.exceptions

    try:
        yield from client.get_paginator(operation).paginate(**params)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _aws_error(operation, exc) from None


def _call(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    import botocore.exceptions

    try:
        result: dict[str, Any] = getattr(client, operation)(**params)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _aws_error(operation, exc) from None
    return result


def _aws_error(operation: str, exc: Exception) -> CloudLogError:
    return CloudLogError(
        f"AWS {operation} failed: {exc}",
        hint="check the credentials, region and names; the role needs logs:FilterLogEvents "
        "or rds:DescribeDBLogFiles and rds:DownloadDBLogFilePortion",
    )


def parse_time_ms(text: str) -> int:
    """``--since``/``--until``: ISO-8601 (UTC unless it says otherwise) or epoch seconds."""
    from datetime import UTC, datetime

    try:
        return int(float(text) * 1000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CloudLogError(
            f"not a time: {text!r}", hint="use ISO-8601, e.g. 2025-01-02T03:04:05Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def stream_names(values: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(values or ())
