"""Notifications for break-glass sessions: an SNS topic, a webhook, a local command.

Every configured channel is tried at once (in threads, each with a short timeout), and
each attempt's result is returned as a :class:`Delivery`. A failure never raises: a
notification that cannot be delivered must not keep the on-call engineer out of the
database at 3 a.m. It is reported and recorded instead (docs/operations.md).

Payloads are JSON objects; the same text goes to every channel. A webhook URL often
embeds a secret (Slack, Teams), so it never appears in an error, a log or the trail.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prodsql.config import NotifySettings

_ERROR_MAX = 300


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one channel fared."""

    channel: str
    ok: bool
    error: str | None = None

    def as_fields(self) -> dict[str, object]:
        return {"channel": self.channel, "ok": self.ok, "error": self.error}


def send(settings: NotifySettings, payload: Mapping[str, object]) -> list[Delivery]:
    """Deliver ``payload`` to every configured channel; never raises."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    senders: list[tuple[str, Callable[[], None]]] = []
    if settings.sns_topic_arn:
        senders.append(("sns", lambda: _sns(settings, payload, text)))
    if settings.webhook_url:
        senders.append(("webhook", lambda: _webhook(settings, text)))
    if settings.command:
        senders.append(("command", lambda: _command(settings, text)))
    return _all_at_once(senders)


def _all_at_once(senders: list[tuple[str, Callable[[], None]]]) -> list[Delivery]:
    results: dict[str, Delivery] = {}

    def attempt(channel: str, fn: Callable[[], None]) -> None:
        try:
            fn()
            results[channel] = Delivery(channel, True)
        except Exception as exc:  # any failure is a report, never a crash
            results[channel] = Delivery(channel, False, _describe(exc))

    threads = [threading.Thread(target=attempt, args=s, daemon=True) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        # Each channel has its own timeout; this bound only guards against a hung library.
        t.join(timeout=30)
    return [results.get(name, Delivery(name, False, "no answer in 30 s")) for name, _ in senders]


def _describe(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        text = f"HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, urllib.error.URLError):
        text = f"cannot reach the webhook: {exc.reason}"
    else:
        text = str(exc) or type(exc).__name__
    return text[:_ERROR_MAX]


def _sns(settings: NotifySettings, payload: Mapping[str, object], text: str) -> None:
    from botocore.config import Config

    from prodsql.auth import aws

    timeout = settings.timeout_seconds
    client = aws.session(settings.region).client(
        "sns",
        endpoint_url=settings.endpoint_url,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}),
    )
    client.publish(TopicArn=settings.sns_topic_arn, Subject=_subject(payload), Message=text)


def _subject(payload: Mapping[str, object]) -> str:
    # SNS subjects: ASCII, at most 100 characters, no line breaks.
    words = f"prodsql {payload.get('event', 'notification')} {payload.get('target', '')}"
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in words)[:100].strip()


def _webhook(settings: NotifySettings, text: str) -> None:
    assert settings.webhook_url is not None
    # The scheme is checked (http/https only) when the configuration is loaded.
    request = urllib.request.Request(  # noqa: S310
        settings.webhook_url,
        data=text.encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "prodsql"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:  # noqa: S310
        response.read(1024)


def _command(settings: NotifySettings, text: str) -> None:
    try:
        proc = subprocess.run(
            list(settings.command),
            input=text,
            capture_output=True,
            text=True,
            timeout=settings.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the command timed out after {settings.timeout_seconds:g} s") from None
    except OSError as exc:
        raise RuntimeError(f"cannot run {settings.command[0]}: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"the command exited with status {proc.returncode}: {tail[0]}".strip())
