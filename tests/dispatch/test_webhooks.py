"""Webhook signatures, the retry schedule and the URL rule."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from dispatch.webhooks import backoff_s, retry_at, sign, url_problem, verify


def test_the_signature_is_the_hex_hmac_sha256_of_the_body():
    """Tests that a receiver computing HMAC-SHA256 of the raw body with the secret gets the header's value."""
    body = b'{"id":"e1","type":"order.status_changed"}'
    expected = hmac.new(b"topsecret-topsecret", body, hashlib.sha256).hexdigest()
    assert sign("topsecret-topsecret", body) == f"sha256={expected}"
    assert verify("topsecret-topsecret", body, f"sha256={expected}")
    assert not verify("topsecret-topsecret", body + b" ", f"sha256={expected}")


def test_backoff_doubles_up_to_the_cap():
    assert [backoff_s(a, base_s=30) for a in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_s(20, base_s=30) == 3600


def test_a_retry_is_due_on_a_whole_second_never_before_its_backoff_is_over():
    """Tests that a retry falls on the first whole second at or after its backoff: the queue's scheduler,
    which counts whole seconds, then never hands it to the sender before it is due."""
    failed = datetime(2025, 3, 3, 8, 0, 0, 300_000, tzinfo=UTC)
    assert retry_at(failed, 1, base_s=30) == datetime(2025, 3, 3, 8, 0, 31, tzinfo=UTC)
    assert retry_at(failed, 2, base_s=30) == datetime(2025, 3, 3, 8, 1, 1, tzinfo=UTC)
    on_the_second = datetime(2025, 3, 3, 8, 0, 0, tzinfo=UTC)
    assert retry_at(on_the_second, 1, base_s=1) == datetime(2025, 3, 3, 8, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/outfield", "http://127.0.0.1:8080/hook", "http://[2001:db8::1]/x"],
)
def test_http_urls_are_taken(url):
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http"),
        ("javascript:alert(1)", "http"),
        ("http:///nohost", "no host"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://metadata.google.internal/", "link-local"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://example.com:99999/", "valid"),
        ("http://example.com/" + "x" * 2000, "2000"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url, why):
    """Tests that non-http(s), host-less, link-local/metadata, credentialed and malformed URLs are refused."""
    problem = url_problem(url)
    assert problem is not None and why in problem
