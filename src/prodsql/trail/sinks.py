"""The central trail sinks: CloudWatch Logs and S3, written through boto3.

- **CloudWatch Logs**: one stream per session, named after the trail file (without
  ``.jsonl``), one event per record, the event's timestamp the record's ``ts``. An event
  holds at most ~256 KB, so a longer record is cut into pieces: the first is the record's
  start (every record starts with ``{"v":``), each further piece is ``+`` followed by the
  next part. :func:`fetch_trail` joins them back, byte for byte.
- **S3**: one object per session, ``<prefix>/dt=<YYYY-MM-DD>/<trail file name>``, put again
  with the whole file as it grows. When the bucket has Object Lock enabled, every put
  carries a retention (the bucket's default rule, or ``s3_lock_mode``/``s3_retention_days``),
  so no version of a trail can be deleted or overwritten before it expires.

Both sinks are append-only from prodsql's side, and both copies verify with
``prodsql verify`` exactly like the local file once fetched.

``fetch_trail(uri, dest_dir, *, region=None, endpoint_url=None) -> list[Path]`` downloads
``s3://BUCKET/PREFIX`` or ``cloudwatch:GROUP[:STREAM]`` to local trail files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from prodsql.config import SinkSettings
from prodsql.errors import Error

MAX_EVENT_BYTES = 200_000  # under CloudWatch's 256 KB per event, with room to spare
MAX_BATCH_BYTES = 900_000  # under the 1 MB per PutLogEvents call (each event costs +26)
MAX_BATCH_EVENTS = 5_000
_BATCH_SPAN_MS = 23 * 3600 * 1000  # a call may not span 24 hours
_TOO_OLD_MS = 13 * 24 * 3600 * 1000  # CloudWatch refuses events older than 14 days
_HEAD = re.compile(rb'^\{"v":[0-9]+,"seq":([0-9]+),')
_STAMP = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})T")
_STREAM_IN_PATH = re.compile(r"^(.+)/([0-9]{8}T[0-9]{6}Z-.+)$")


class ShipError(Error):
    """A sink could not take (or give back) a trail."""


class Position(Protocol):
    """Where a sink's copy of one trail ends (see ship.SinkState)."""

    offset: int
    records: int
    chunk: int


def make_client(service: str, settings: SinkSettings, *, timeout: float = 5.0) -> Any:
    """A boto3 client with short timeouts and no retries of its own: the shipper retries."""
    import botocore.exceptions
    from botocore.config import Config

    from prodsql.auth import aws

    config = Config(
        connect_timeout=min(timeout, 3.0), read_timeout=timeout, retries={"max_attempts": 1}
    )
    try:
        session = aws.session(settings.region)
        return session.client(service, endpoint_url=settings.endpoint_url, config=config)
    except botocore.exceptions.BotoCoreError as exc:
        raise ShipError(f"cannot make an AWS {service} client: {exc}") from None


def aws_error(what: str, exc: Exception) -> ShipError:
    """A boto3/botocore failure as a one-line ShipError."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        return ShipError(f"{what}: {err.get('Code', '?')}: {err.get('Message', '')}".strip())
    return ShipError(f"{what}: {exc}")


def complete_lines(data: bytes) -> bytes:
    """The file's complete records: a torn or half-written last line is not shipped yet."""
    end = data.rfind(b"\n")
    return data[: end + 1]


# -- CloudWatch Logs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    record: int  # index of the record (its seq) in the file
    chunk: int  # which piece of the record
    last: bool  # the record's last piece
    message: str
    timestamp: int  # ms since the epoch


class CloudWatchSink:
    name = "cloudwatch"

    def __init__(self, settings: SinkSettings, client: Any = None) -> None:
        assert settings.cloudwatch_group
        self.group = settings.cloudwatch_group
        self.client = client or make_client("logs", settings)

    def location(self, trail: Path) -> str:
        return f"cloudwatch:{self.group}:{trail.stem}"

    def ship(self, trail: Path, data: bytes, pos: Position, *, resync: bool) -> None:
        """Send the records after ``pos``; ``pos`` moves after each accepted call."""
        stream = trail.stem
        if resync:
            self._ensure_stream(stream)
            pos.records, pos.chunk = self._shipped(stream, data)
        lines = data.split(b"\n")[:-1]
        for batch in _batches(_events(lines, pos.records, pos.chunk)):
            self._put(stream, batch)
            last = batch[-1]
            pos.records, pos.chunk = (
                (last.record + 1, 0) if last.last else (last.record, last.chunk + 1)
            )
        pos.offset = sum(len(line) + 1 for line in lines[: pos.records])

    def _ensure_stream(self, stream: str) -> None:
        try:
            self.client.create_log_stream(logGroupName=self.group, logStreamName=stream)
        except self.client.exceptions.ResourceAlreadyExistsException:
            pass
        except Exception as exc:
            raise aws_error(f"CloudWatch Logs {self.group}", exc) from None

    def _put(self, stream: str, batch: list[Event]) -> None:
        events = [{"timestamp": e.timestamp, "message": e.message} for e in batch]
        try:
            answer = self.client.put_log_events(
                logGroupName=self.group, logStreamName=stream, logEvents=events
            )
        except Exception as exc:
            raise aws_error(f"CloudWatch Logs {self.group}:{stream}", exc) from None
        if answer.get("rejectedLogEventsInfo"):
            raise ShipError(
                f"CloudWatch Logs {self.group}:{stream} rejected events: "
                f"{answer['rejectedLogEventsInfo']}"
            )

    def _shipped(self, stream: str, data: bytes) -> tuple[int, int]:
        """What the stream already holds, read from its tail: (records, pieces of the next)."""
        try:
            answer = self.client.get_log_events(
                logGroupName=self.group, logStreamName=stream, startFromHead=False, limit=1000
            )
        except Exception as exc:
            raise aws_error(f"CloudWatch Logs {self.group}:{stream}", exc) from None
        messages = [str(e["message"]) for e in answer.get("events", [])]
        for pieces, message in enumerate(reversed(messages), start=1):
            head = _HEAD.match(message.encode("utf-8"))
            if head:
                seq = int(head.group(1))
                lines = data.split(b"\n")[:-1]
                total = len(_pieces(lines[seq])) if seq < len(lines) else pieces
                return (seq + 1, 0) if pieces >= total else (seq, pieces)
        return 0, 0


def _pieces(line: bytes) -> list[str]:
    text = line.decode("utf-8")
    if len(line) <= MAX_EVENT_BYTES:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > MAX_EVENT_BYTES - 1:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    pieces.append("".join(current))
    return [pieces[0]] + ["+" + p for p in pieces[1:]]


def _events(lines: list[bytes], first: int, chunk: int) -> Iterator[Event]:
    floor = int(datetime.now(UTC).timestamp() * 1000) - _TOO_OLD_MS
    previous = 0
    for index in range(first, len(lines)):
        pieces = _pieces(lines[index])
        # A batch must be in time order, and CloudWatch refuses events older than 14 days:
        # the true time is in the record itself.
        stamp = max(_timestamp(lines[index]), floor, previous)
        previous = stamp
        start = chunk if index == first else 0
        for k in range(start, len(pieces)):
            yield Event(index, k, k == len(pieces) - 1, pieces[k], stamp)


def _timestamp(line: bytes) -> int:
    match = re.search(rb'"ts":"([0-9T:.\-]+)Z"', line[:200])
    if match is None:
        return int(datetime.now(UTC).timestamp() * 1000)
    moment = datetime.fromisoformat(match.group(1).decode()).replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _batches(events: Iterator[Event]) -> Iterator[list[Event]]:
    batch: list[Event] = []
    size = 0
    for e in events:
        cost = len(e.message.encode("utf-8")) + 26
        too_long = batch and e.timestamp - batch[0].timestamp > _BATCH_SPAN_MS
        if batch and (size + cost > MAX_BATCH_BYTES or len(batch) >= MAX_BATCH_EVENTS or too_long):
            yield batch
            batch, size = [], 0
        batch.append(e)
        size += cost
    if batch:
        yield batch


# -- S3 -------------------------------------------------------------------------------------


class S3Sink:
    name = "s3"

    def __init__(self, settings: SinkSettings, client: Any = None) -> None:
        assert settings.s3_bucket
        self.settings = settings
        self.bucket = settings.s3_bucket
        self.client = client or make_client("s3", settings)
        self._read = False
        self._lock: tuple[str, int] | None = None

    def key(self, trail: Path) -> str:
        match = _STAMP.match(trail.name)
        day = "-".join(match.groups()) if match else "undated"
        prefix = f"{self.settings.s3_prefix}/" if self.settings.s3_prefix else ""
        return f"{prefix}dt={day}/{trail.name}"

    def location(self, trail: Path) -> str:
        return f"s3://{self.bucket}/{self.key(trail)}"

    def ship(self, trail: Path, data: bytes, pos: Position, *, resync: bool) -> None:
        """Put the whole file again: each put is complete, so a retry never duplicates."""
        extra: dict[str, Any] = {}
        lock = self._lock_settings()
        if lock is not None:
            mode, days = lock
            extra["ObjectLockMode"] = mode
            extra["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=days)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(trail),
                Body=data,
                ContentType="application/x-ndjson",
                **extra,
            )
        except Exception as exc:
            raise aws_error(f"S3 bucket {self.bucket}", exc) from None
        pos.offset, pos.records = len(data), data.count(b"\n")

    def _lock_settings(self) -> tuple[str, int] | None:
        if not self._read:
            self._lock, self._read = self._read_lock(), True
        return self._lock

    def _read_lock(self) -> tuple[str, int] | None:
        s = self.settings
        try:
            answer = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code != "ObjectLockConfigurationNotFoundError":
                raise aws_error(f"S3 bucket {self.bucket}", exc) from None
            if s.s3_lock_mode or s.s3_retention_days:
                raise ShipError(
                    f"S3 bucket {self.bucket} has no Object Lock, but the configuration asks "
                    "for a retention (sinks.s3_lock_mode / s3_retention_days)"
                ) from None
            return None
        config = answer.get("ObjectLockConfiguration", {})
        if config.get("ObjectLockEnabled") != "Enabled":
            return None
        rule = config.get("Rule", {}).get("DefaultRetention", {})
        days = rule.get("Days") or 365 * int(rule.get("Years") or 0) or 365
        return (s.s3_lock_mode or rule.get("Mode") or "GOVERNANCE", s.s3_retention_days or days)


# -- reading back ---------------------------------------------------------------------------


def fetch_trail(
    uri: str, dest_dir: Path, *, region: str | None = None, endpoint_url: str | None = None
) -> list[Path]:
    """Download the trails at ``s3://BUCKET/PREFIX`` or ``cloudwatch:GROUP[:STREAM]`` into
    ``dest_dir`` (one ``.jsonl`` file per session, named as the original); return them."""
    settings = SinkSettings(region=region, endpoint_url=endpoint_url)
    dest_dir.mkdir(parents=True, exist_ok=True)
    if uri.startswith("s3://"):
        return _fetch_s3(uri[5:], dest_dir, settings)
    if uri.startswith("cloudwatch:"):
        return _fetch_cloudwatch(uri[len("cloudwatch:") :], dest_dir, settings)
    raise ShipError(
        f"not a trail sink: {uri!r}", hint="use s3://BUCKET/PREFIX or cloudwatch:GROUP[:STREAM]"
    )


def _fetch_s3(rest: str, dest: Path, settings: SinkSettings) -> list[Path]:
    bucket, _, prefix = rest.partition("/")
    client = make_client("s3", settings, timeout=30)
    found: list[Path] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if str(item["Key"]).endswith(".jsonl"):
                    body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                    found.append(_save(dest, str(item["Key"]).rsplit("/", 1)[-1], body))
    except Exception as exc:
        raise aws_error(f"S3 s3://{bucket}/{prefix}", exc) from None
    return _found(found, f"s3://{rest}")


def _fetch_cloudwatch(rest: str, dest: Path, settings: SinkSettings) -> list[Path]:
    group, _, stream = rest.partition(":")
    if not stream and (m := _STREAM_IN_PATH.match(group)):
        group, stream = m.group(1), m.group(2)
    client = make_client("logs", settings, timeout=30)
    try:
        streams = [stream] if stream else list(_streams(client, group))
        found = [_save(dest, f"{s}.jsonl", _stream_bytes(client, group, s)) for s in streams]
    except ShipError:
        raise
    except Exception as exc:
        raise aws_error(f"CloudWatch Logs {group}", exc) from None
    return _found(found, f"cloudwatch:{rest}")


def _streams(client: Any, group: str) -> Iterator[str]:
    for page in client.get_paginator("describe_log_streams").paginate(logGroupName=group):
        for s in page.get("logStreams", []):
            yield str(s["logStreamName"])


def _stream_bytes(client: Any, group: str, stream: str) -> bytes:
    lines: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"nextToken": token} if token else {}
        answer = client.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=True, **kwargs
        )
        for event in answer.get("events", []):
            message = str(event["message"])
            if message.startswith("+") and lines:
                lines[-1] += message[1:]
            else:
                lines.append(message)
        if answer.get("nextForwardToken") in (None, token):
            break
        token = answer["nextForwardToken"]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _save(dest: Path, name: str, body: bytes) -> Path:
    path = dest / re.sub(r"[^A-Za-z0-9._-]", "_", name)
    path.write_bytes(body)
    return path


def _found(found: list[Path], uri: str) -> list[Path]:
    if not found:
        raise ShipError(f"no trails at {uri}")
    return sorted(found)
