"""Hostile uploads against the real server (`python -m console`): chunked oversize bodies and an image bomb."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
import requests

from tests.factories import ALL_DAY_CSV
from tests.support.consent import consent_all

pytestmark = pytest.mark.integration

MAX_SERVER_RSS_KB = 300 * 1024
"""The server's peak resident memory must stay under this while it refuses an image bomb."""


@pytest.fixture(scope="module")
def field_link(console_server, tmp_path_factory) -> dict[str, object]:
    """A worker with an assigned order and a push link: what a phone uploading photos has."""
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text("external_ref,name,address,latitude,longitude\nh:casino,Casino,Place,43.7394,7.4276\n")
    (d / "workers.csv").write_text(
        f"name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end\nAna,h-ana,,,43.739,7.427,{ALL_DAY_CSV}\n"
    )
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    worker_id = consent_all(requests.get, requests.post, admin, url=console_server.url)[0]["id"]
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    order = requests.post(
        f"{console_server.url}/api/v1/work-orders",
        json={"site_id": 1, "window_start": datetime.combine(day, time(9), UTC).isoformat(),
              "window_end": datetime.combine(day, time(11), UTC).isoformat()},
        headers=admin, timeout=10,
    ).json()  # fmt: skip
    assigned = requests.post(
        f"{console_server.url}/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": worker_id, "reason": "test"}, headers=admin, timeout=10,
    )  # fmt: skip
    assert assigned.status_code == 200, assigned.text
    link = requests.post(
        f"{console_server.url}/api/v1/workers/{worker_id}/push-link", json={}, headers=admin, timeout=10
    )
    return {"token": link.json()["token"], "order_id": order["id"], "worker_id": worker_id, "headers": admin}


def _stored_positions(console_server, field_link) -> int:
    r = requests.get(
        f"{console_server.url}/api/v1/workers/{field_link['worker_id']}/positions",
        headers=field_link["headers"], timeout=5,
    )  # fmt: skip
    assert r.status_code == 200
    return len(r.json())


def test_a_chunked_osmand_body_without_content_length_is_cut_at_64_kib(console_server, field_link):
    """Tests that a 1 MB chunked /osmand body (no Content-Length) answers 413 naming `body` and is not stored."""
    fix = {"id": "h-ana", "lat": 43.74, "lon": 7.42, "timestamp": datetime.now(UTC).isoformat()}
    head = json.dumps(fix)[:-1].encode() + b', "junk": "'

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(128):
            yield b"x" * 8192
        yield b'"}'

    before = _stored_positions(console_server, field_link)
    r = requests.post(
        f"{console_server.url}/osmand", data=chunks(), headers={"Content-Type": "application/json"}, timeout=30
    )
    assert r.request.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.request.headers
    assert r.status_code == 413, r.text
    assert r.json() == {"error": "body: larger than 65536 bytes", "field": "body"}
    assert _stored_positions(console_server, field_link) == before


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * (3 * width + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _peak_rss_kb(pid: int) -> int:
    """The largest peak resident set (VmHWM) of the server process and its children (a gunicorn master's workers)."""
    peaks = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                peaks += [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except FileNotFoundError:  # a child that ended meanwhile
            continue
    assert peaks, f"no VmHWM for process {pid}"
    return max(peaks)


@pytest.mark.parametrize(("width", "height"), [(60_000, 60_000), (12_000, 12_000)])
def test_an_image_bomb_is_refused_and_the_server_memory_stays_bounded(console_server, field_link, width, height):
    """Tests that a small PNG declaring 60,000 × 60,000 (or 144 MP) pixels answers 400 naming the size, stores no photo, and the server's peak RSS stays under 300 MB."""
    bomb = _png_bomb(width, height)
    assert len(bomb) < 200_000
    r = requests.post(
        f"{console_server.url}/api/v1/field/{field_link['token']}/photos",
        files={"file": ("bomb.png", io.BytesIO(bomb), "image/png")},
        data={"order_id": str(field_link["order_id"]), "client_action_id": f"bomb-{width}"},
        timeout=60,
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "file" and "pixels" in r.json()["error"]
    assert str(width * height) in r.json()["error"] or f"{width} × {height}" in r.json()["error"]
    record = requests.get(
        f"{console_server.url}/api/v1/work-orders/{field_link['order_id']}/field-record",
        headers=field_link["headers"], timeout=5,
    )  # fmt: skip
    assert record.json()["photos"] == []
    assert _peak_rss_kb(console_server.pid) < MAX_SERVER_RSS_KB
