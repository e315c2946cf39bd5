"""Shipping trails to CloudWatch Logs and S3: moto's server mode, real boto3 HTTP calls."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from awsfixtures import AwsEnv
from prodsql.config import SinkSettings
from prodsql.trail import TrailWriter, VerifyStatus, verify_file
from prodsql.trail.ship import Shipper, ShipState, make_sinks, ship_once, state_path, trail_main
from prodsql.trail.sinks import MAX_EVENT_BYTES, ShipError, fetch_trail

GROUP = "/prodsql/trails"
BUCKET = "trail-bucket"


def settings(endpoint: str, **kw: Any) -> SinkSettings:
    return SinkSettings(
        cloudwatch_group=GROUP,
        s3_bucket=BUCKET,
        s3_prefix="org/trails",
        endpoint_url=endpoint,
        **kw,
    )


def create_sinks(endpoint: str, *, lock: bool = True) -> None:
    logs = boto3.client("logs", endpoint_url=endpoint)
    logs.create_log_group(logGroupName=GROUP)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        ObjectLockEnabledForBucket=lock,
    )
    if lock:
        s3.put_object_lock_configuration(
            Bucket=BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
            },
        )


def new_trail(directory: Path, sid: str = "abcd1234") -> TrailWriter:
    w = TrailWriter.create(directory, session_id=sid, ticket="OPS-1")
    w.append("session_start", {"ticket": "OPS-1", "os_user": "alice"})
    return w


def add_statements(w: TrailWriter, first: int, count: int, *, text: str = "select 1") -> None:
    for n in range(first, first + count):
        w.append("statement", {"stmt": n, "source": "-c", "text": f"{text} -- {n}"})
        w.append("outcome", {"stmt": n, "status": "ok", "rows": 1}, sync=False)


def fetched_equals(uri: str, endpoint: str, dest: Path, local: Path) -> Path:
    [copy] = fetch_trail(uri, dest, endpoint_url=endpoint)
    assert copy.read_bytes() == local.read_bytes()
    return copy


@pytest.fixture
def endpoint(moto_reset: str, aws_env: AwsEnv) -> str:
    create_sinks(moto_reset)
    return moto_reset


def test_ships_to_both_sinks_and_the_copies_verify(endpoint: str, tmp_path: Path) -> None:
    w = new_trail(tmp_path / "trails")
    add_statements(w, 1, 3)
    big = "x" * (MAX_EVENT_BYTES * 2 + 1234) + "é"  # cut into three CloudWatch events
    w.append("statement", {"stmt": 4, "source": "-c", "text": big})
    w.close("completed")
    assert ship_once(w.path, make_sinks(settings(endpoint)), resync=True) == {}
    cw = fetched_equals(f"cloudwatch:{GROUP}:{w.path.stem}", endpoint, tmp_path / "cw", w.path)
    s3 = fetched_equals(f"s3://{BUCKET}/org/trails/", endpoint, tmp_path / "s3", w.path)
    for copy in (cw, s3):
        assert verify_file(copy).status is VerifyStatus.INTACT
    # The whole group, and a stream named the way a path would name it, work too.
    assert fetch_trail(f"cloudwatch:{GROUP}", tmp_path / "all", endpoint_url=endpoint) == [
        tmp_path / "all" / w.path.name
    ]
    fetched_equals(f"cloudwatch:{GROUP}/{w.path.stem}", endpoint, tmp_path / "p", w.path)


def test_s3_object_carries_object_lock_retention(endpoint: str, tmp_path: Path) -> None:
    w = new_trail(tmp_path)
    w.close("completed")
    ship_once(w.path, make_sinks(settings(endpoint)), resync=True)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert key.startswith("org/trails/dt=")
    assert key.endswith(w.path.name)
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    days = (head["ObjectLockRetainUntilDate"].timestamp() - time.time()) / 86400
    assert 29 < days <= 30


def test_lock_asked_for_but_bucket_without_lock(
    moto_reset: str, aws_env: AwsEnv, tmp_path: Path
) -> None:
    create_sinks(moto_reset, lock=False)
    w = new_trail(tmp_path)
    sinks = make_sinks(settings(moto_reset, s3_retention_days=10))
    errors = ship_once(w.path, sinks, resync=True)
    assert "has no Object Lock" in errors["s3"]
    assert "cloudwatch" not in errors


def test_state_file_and_status(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    w = new_trail(tmp_path / "trails")
    add_statements(w, 1, 2)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[sinks]\ncloudwatch_group = "{GROUP}"\ns3_bucket = "{BUCKET}"\n'
        f'endpoint_url = "{endpoint}"\n'
    )
    args = ["--config", str(config), "--trail-dir", str(tmp_path / "trails")]
    assert trail_main(["status", *args]) == 1
    assert "cloudwatch: PENDING (0 of 5)" in capsys.readouterr().out
    assert trail_main(["ship", *args]) == 0
    assert "cloudwatch: shipped  s3: shipped" in capsys.readouterr().out
    state = json.loads(state_path(w.path).read_text())
    assert state["sinks"]["cloudwatch"]["records"] == 5
    add_statements(w, 3, 1)
    assert trail_main(["status", "--json", *args]) == 1
    row = json.loads(capsys.readouterr().out)
    assert row["sinks"]["s3"] == {
        "location": f"s3://{BUCKET}/prodsql/trails/dt={w.path.name[:4]}-{w.path.name[4:6]}-"
        f"{w.path.name[6:8]}/{w.path.name}",
        "shipped": False,
        "records": 5,
        "error": None,
    }


def test_lost_answer_is_not_shipped_twice(endpoint: str, tmp_path: Path) -> None:
    """The call went through but its answer (and the state) was lost: resync, no duplicate."""
    w = new_trail(tmp_path)
    add_statements(w, 1, 3)
    sinks = make_sinks(settings(endpoint))
    ship_once(w.path, sinks, resync=True)
    state_path(w.path).unlink()  # as if prodsql died before saving the state
    add_statements(w, 4, 2)
    w.close("completed")
    assert ship_once(w.path, make_sinks(settings(endpoint)), resync=True) == {}
    fetched_equals(f"cloudwatch:{GROUP}:{w.path.stem}", endpoint, tmp_path / "cw", w.path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def flaky() -> Iterator[tuple[str, ThreadedMotoServer, int]]:
    """A second moto server (same in-process state) on a fixed port that tests stop and start."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", server, port
    finally:
        server.stop()


def test_sink_down_and_back_loses_and_duplicates_nothing(
    endpoint: str, flaky: tuple[str, ThreadedMotoServer, int], tmp_path: Path
) -> None:
    url, server, port = flaky
    w = new_trail(tmp_path / "trails")
    shipper = Shipper(
        w.path,
        make_sinks(settings(url)),
        io.StringIO(),
        interval=0.05,
        s3_interval=0,
        max_backoff=0.2,
    )
    shipper.start()
    add_statements(w, 1, 3)
    wait_for(lambda: ShipState.load(w.path).sinks.get("cloudwatch", None) is not None)
    server.stop()
    started = time.monotonic()
    add_statements(w, 4, 20)  # written while the sink is down: never waits for it
    assert time.monotonic() - started < 2
    wait_for(lambda: bool(ShipState.load(w.path).sinks["cloudwatch"].error))
    restarted = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    restarted.start()
    try:
        add_statements(w, 24, 2)
        w.close("completed")
        assert shipper.finish(timeout=20) == [
            f"cloudwatch:{GROUP}:{w.path.stem}",
            f"s3://{BUCKET}/org/trails/dt={w.path.name[:4]}-{w.path.name[4:6]}-"
            f"{w.path.name[6:8]}/{w.path.name}",
        ]
        cw = fetched_equals(f"cloudwatch:{GROUP}:{w.path.stem}", url, tmp_path / "cw", w.path)
        fetched_equals(f"s3://{BUCKET}/org", url, tmp_path / "s3", w.path)
        assert verify_file(cw).status is VerifyStatus.INTACT
    finally:
        restarted.stop()


def test_finish_with_the_sink_down_keeps_the_trail_pending(endpoint: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    w = new_trail(tmp_path)
    w.close("completed")
    err = io.StringIO()
    shipper = Shipper(w.path, make_sinks(settings(dead)), err, interval=0.05)
    shipper.start()
    assert shipper.finish(timeout=10) == []
    assert "not yet shipped to cloudwatch" in err.getvalue()
    assert "prodsql trail ship" in err.getvalue()
    # Later, with the sink reachable, everything goes.
    assert ship_once(w.path, make_sinks(settings(endpoint)), resync=True) == {}


def test_fetch_errors(endpoint: str, tmp_path: Path) -> None:
    with pytest.raises(ShipError, match="not a trail sink"):
        fetch_trail("ftp://x", tmp_path, endpoint_url=endpoint)
    with pytest.raises(ShipError, match="no trails at"):
        fetch_trail(f"s3://{BUCKET}/nothing-here", tmp_path, endpoint_url=endpoint)
    with pytest.raises(ShipError, match="ResourceNotFoundException"):
        fetch_trail("cloudwatch:/no/such/group:stream", tmp_path, endpoint_url=endpoint)


def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
