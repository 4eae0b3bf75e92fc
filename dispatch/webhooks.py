"""Outgoing webhooks, the pure part: event names, the signature, the retry schedule, the URL rule.

A delivery's body is JSON bytes; its signature is `sha256=` + the hex HMAC-SHA256 of those exact
bytes keyed with the webhook's secret, sent as `X-Outfield-Signature` (with the send time in
`X-Outfield-Timestamp`). A receiver recomputes the HMAC over the raw body it got and compares in
constant time; the body's `id` is the event id, the same on every retry and replay, for dedup.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Outfield-Signature"
TIMESTAMP_HEADER = "X-Outfield-Timestamp"
EVENT_HEADER = "X-Outfield-Event"
MAX_ATTEMPTS = 8
MAX_SECRET_CHARS = 200
MIN_SECRET_CHARS = 16
MAX_URL_CHARS = 2000


class EventType(StrEnum):
    """Events a webhook may subscribe to. Alerts, late entries and timesheet approvals are emitted once
    those features land (their names are fixed here so subscriptions can be made today)."""

    ORDER_STATUS_CHANGED = "order.status_changed"
    CHECKIN = "checkin.recorded"
    ALERT_RAISED = "alert.raised"
    LATE_ENTRY = "late_entry.recorded"
    LATE_ENTRY_DECIDED = "late_entry.decided"
    TIMESHEET_APPROVED = "timesheet.approved"
    SURVEY_ANSWERED = "survey.answered"
    REPORT_DELIVERED = "report.delivered"
    """The scheduled report (daily or weekly, per team), signed like every event (realtime/report_schedule.py)."""


def sign(secret: str, body: bytes) -> str:
    """The `X-Outfield-Signature` value of `body`: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def backoff_s(attempt: int, *, base_s: float, cap_s: float = 3600.0) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, ...): base, 2×base, 4×base, … up to `cap_s`."""
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))


def retry_at(failed_at: datetime, attempt: int, *, base_s: float) -> datetime:
    """When failed attempt number `attempt` is tried again: its backoff after `failed_at`, rounded up to a whole second.

    The delivery queue's scheduler keeps due times in whole seconds and hands a job over once its second
    has begun: a retry due at 08:00:31.7 would reach the sender at 08:00:31.x, before it is due, and be
    refused there. Due on a whole second, it is handed over when due, within the scheduler's 1 s tick.
    """
    due = failed_at + timedelta(seconds=backoff_s(attempt, base_s=base_s))
    whole = due.replace(microsecond=0)
    return whole if whole == due else whole + timedelta(seconds=1)


BLOCKED_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, cloud metadata (169.254.169.254)
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("fd00:ec2::/32"),  # AWS IPv6 metadata
    ipaddress.ip_network("0.0.0.0/8"),
)
BLOCKED_HOSTS = frozenset({"metadata.google.internal", "metadata"})


def blocked_address(address: str) -> bool:
    """Whether an IP address is one webhooks may never reach (link-local / metadata)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in BLOCKED_NETWORKS)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook target, or None: http(s) with a host, not a link-local/metadata address."""
    if len(url) > MAX_URL_CHARS:
        return f"url: at most {MAX_URL_CHARS} characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "url: not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "url: must start with http:// or https://"
    if not host:
        return "url: has no host"
    if parts.username or parts.password:
        return "url: must not carry credentials (use the secret)"
    if host.lower().rstrip(".") in BLOCKED_HOSTS or blocked_address(host):
        return f"url: {host} is a link-local or metadata address, refused"
    return None
