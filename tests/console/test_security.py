"""The web surface's guards at the HTTP edge (in-process app; a real Redis db of its own for the login throttle):
security headers, the login's `next`, throttling, revocable sessions, the same-origin rule, socket and
/candidates access for field links, and the refusal to start with demo secrets."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis

from console import login as login_module
from console.app import create_app
from console.security import InsecureSettings
from data import users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from tests.factories import EVERY_DAY_7_TO_19

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
OWN = {"Origin": "http://localhost"}


def settings_for(tmp_path: Path, redis_url: str = "redis://fake:6379/0", **env: str) -> Settings:
    base = {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none"), **env}
    return replace(Settings.from_env(base), redis_url=redis_url)


@pytest.fixture
def world(tmp_path: Path, redis_url: str):
    """An app whose login throttle counts in Redis db 5 (emptied first), 3 failures per name, 6 per address."""
    url = redis_url.rsplit("/", 1)[0] + "/5"
    redis.Redis.from_url(url).flushdb()
    settings = settings_for(
        tmp_path, url, OUTFIELD_LOGIN_LIMIT_PER_NAME="3 per minute", OUTFIELD_LOGIN_LIMIT_PER_ADDRESS="6 per minute"
    )
    migrate(settings.database_url)
    app = create_app(settings, clock=ManualClock(START))
    app.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - positions and orders are not under test here
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        desk, _ = users_repo.create_user(session, name="desk", role=Role.DISPATCHER, password="desk-pw")
        _, admin_token = users_repo.create_user(session, name="boss", role=Role.ADMIN)
        worker = workers_repo.add_worker(session, name="Ana", device_id="a1", skills=("gas",),
                                         shifts=(EVERY_DAY_7_TO_19,), home_base=LatLon(43.739, 7.427))  # fmt: skip
        field_user, field_token = users_repo.create_user(
            session, name="ana", role=Role.FIELD_WORKER, password="ana-pw", worker_id=worker.id
        )
    return {"app": app, "settings": settings, "sessions": sessions, "desk_id": desk.id, "admin": {"Authorization": f"Bearer {admin_token}"},
            "worker_id": worker.id, "field_token": field_token}  # fmt: skip


def signed_in(app, name: str = "desk", password: str = "desk-pw"):
    client = app.server.test_client()
    r = client.post("/login", data={"name": name, "password": password}, headers=OWN)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


# --- headers ---


def test_every_kind_of_page_carries_the_security_headers(world):
    """Tests that the login page, the live map, the plan page, a field page and the API all send a CSP without
    inline script and with frame-ancestors 'none', nosniff, X-Frame-Options DENY and a same-origin referrer policy."""
    app = world["app"]
    anonymous = app.server.test_client()
    client = signed_in(app)
    responses = {
        "login": anonymous.get("/login"),
        "live map": client.get("/"),
        "plans": client.get("/plans/"),
        "field": anonymous.get("/field/not-a-link"),
        "api": anonymous.get("/api/v1/openapi.json"),
        "api error": anonymous.get("/api/v1/work-orders"),
    }
    for kind, r in responses.items():
        csp = r.headers.get("Content-Security-Policy", "")
        directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
        assert "'unsafe-inline'" not in directives["script-src"] and "unsafe-eval" not in csp, (kind, csp)
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'", (kind, csp)
        assert r.headers["X-Content-Type-Options"] == "nosniff", kind
        assert r.headers["X-Frame-Options"] == "DENY", kind
        assert r.headers["Referrer-Policy"] == "same-origin", kind


def test_dash_inline_scripts_are_allowed_by_hash_and_nothing_else_inline(world):
    """Tests that every executable inline script on the live map and the plan page is listed by its hash in the CSP."""
    client = signed_in(world["app"])
    for path in ("/", "/plans/"):
        r = client.get(path)
        page = re.sub(r"<!--.*?-->", "", r.get_data(as_text=True), flags=re.S)  # the IE warning is a comment
        inline = [
            body
            for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
            if "src=" not in attrs and "application/json" not in attrs
        ]
        assert inline, path  # Dash's renderer start-up is inline
        csp = r.headers["Content-Security-Policy"]
        for body in inline:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp, (path, body[:80])


def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(tmp_path):
    """Tests that the session cookie is HttpOnly and SameSite=Lax, and Secure only when OUTFIELD_PUBLIC_URL is https."""
    for public_url, secure in (("", False), ("https://outfield.example", True)):
        (tmp_path / str(secure)).mkdir()
        settings = settings_for(tmp_path / str(secure), OUTFIELD_PUBLIC_URL=public_url)
        migrate(settings.database_url)
        app = create_app(settings, clock=ManualClock(START))
        with session_scope(make_sessionmaker(make_engine(settings.database_url))) as session:
            users_repo.create_user(session, name="desk", role=Role.DISPATCHER, password="desk-pw")
        r = app.server.test_client().post("/login", data={"name": "desk", "password": "desk-pw"}, headers=OWN)
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("; Secure" in cookie) is secure, cookie


# --- login ---


@pytest.mark.parametrize(
    "raw",
    ["/\t/evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example", "//evil.example",
     "/\n/evil.example", " //evil.example", "\x00//evil.example", "javascript:alert(1)", "http:/evil.example",
     "/\\/evil.example", "evil.example"],
)  # fmt: skip
def test_login_never_sends_the_browser_off_site(world, raw):
    """Tests that a `next` a browser would read as another host sends the user to / after signing in."""
    client = world["app"].server.test_client()
    r = client.post("/login", data={"name": "desk", "password": "desk-pw", "next": raw}, headers=OWN)
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers["Location"]
    assert login_module.safe_next(raw) == "/"


@pytest.mark.parametrize(
    ("raw", "path"),
    [("/plans/", "/plans/"), ("/plans/?day=2025-03-03#x", "/plans/?day=2025-03-03#x"), ("/%09/evil", "/%09/evil"),
     ("/a\tb", "/ab"), (None, "/"), ("", "/")],
)  # fmt: skip
def test_login_keeps_a_same_site_next(world, raw, path):
    """Tests that a same-site `next` is kept (as the browser would read it), and the page's form carries it."""
    assert login_module.safe_next(raw) == path
    client = world["app"].server.test_client()
    data = {"name": "desk", "password": "desk-pw"} | ({"next": raw} if raw is not None else {})
    assert client.post("/login", data=data, headers=OWN).headers["Location"] == path


def test_failed_logins_are_throttled_per_name_with_retry_after(world):
    """Tests that after 3 wrong passwords for one name the 4th try (even the right password) answers 429 with
    Retry-After, while another user still signs in."""
    client = world["app"].server.test_client()
    for _ in range(3):
        assert client.post("/login", data={"name": "desk", "password": "wrong"}, headers=OWN).status_code == 401
    r = client.post("/login", data={"name": "desk", "password": "desk-pw"}, headers=OWN)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in r.get_data(as_text=True)
    assert client.get_cookie("session") is None
    assert signed_in(world["app"], "ana", "ana-pw").get("/").status_code == 200  # the field user's own name is fine


def test_failed_logins_are_throttled_per_address(world):
    """Tests that 6 failures from one address under different names make the next try from it answer 429."""
    client = world["app"].server.test_client()
    for n in range(6):
        assert client.post("/login", data={"name": f"nobody-{n}", "password": "x"}, headers=OWN).status_code == 401
    r = client.post("/login", data={"name": "desk", "password": "desk-pw"}, headers=OWN)
    assert r.status_code == 429 and "Retry-After" in r.headers


@pytest.mark.parametrize("chunked", [False, True])
def test_a_sign_in_form_over_its_cap_is_413_and_signs_no_one_in(world, chunked):
    """Tests that a sign-in form past LOGIN_MAX_BODY_BYTES (64 KiB), with or without Content-Length, is refused 413
    before any password is checked, while a form just under it is read (a wrong password: 401)."""
    client = world["app"].server.test_client()
    cap = login_module.LOGIN_MAX_BODY_BYTES

    def post(size: int) -> Any:
        body = b"name=desk&password=desk-pw&next=/" + b"a" * (size - 33)
        assert len(body) == size
        headers = OWN | {"Content-Type": "application/x-www-form-urlencoded"}
        if chunked:  # no Content-Length: the body is only a stream
            return client.post("/login", input_stream=io.BytesIO(body), headers=headers)
        return client.post("/login", data=body, headers=headers)

    r = post(cap + 1)
    assert r.status_code == 413 and client.get_cookie("session") is None
    r = post(cap)
    assert r.status_code == 302 and r.headers["Location"] == "/" + "a" * (cap - 33)
    assert client.get_cookie("session") is not None


def test_unknown_names_cost_a_password_hash_like_known_ones(world, monkeypatch):
    """Tests that a sign-in with an unknown name checks a password hash too, so its answer takes as long."""
    checked = []
    real = users_repo.check_password_hash
    monkeypatch.setattr(users_repo, "check_password_hash", lambda h, p: checked.append(p) or real(h, p))
    with session_scope(world["sessions"]) as session:
        assert users_repo.check_password(session, name="nobody", password="pw-1") is None
        assert users_repo.check_password(session, name="desk", password="pw-2") is None
    assert checked == ["pw-1", "pw-2"]


# --- sessions ---


@pytest.mark.parametrize("ending", ["logout", "password change", "deactivation"])
def test_a_copied_cookie_stops_working_when_the_sessions_end(world, ending):
    """Tests that a copy of a signed-in cookie works until logout, a password change or deactivation, then gets 401."""
    app = world["app"]
    client = signed_in(app)
    thief = app.server.test_client()
    thief.set_cookie("session", session_cookie(client))
    assert thief.get("/_dash-layout").status_code == 200
    if ending == "logout":
        assert client.post("/logout", headers=OWN).status_code == 302
    else:
        with session_scope(world["sessions"]) as session:
            if ending == "password change":
                users_repo.set_password(session, user_id=world["desk_id"], password="new-pw")
            else:
                users_repo.set_active(session, user_id=world["desk_id"], active=False)
    r = thief.get("/_dash-layout")
    assert r.status_code == 401 and r.get_json() == {"error": "not authenticated"}
    assert thief.get("/").headers["Location"].startswith("/login")


# --- same origin ---


def test_a_cross_site_cookie_post_is_refused_and_a_bearer_post_works(world):
    """Tests that a signed-in POST from another origin (or with no Origin or Referer) gets 403 naming Origin and
    changes nothing, while the same POST from this site or with a bearer token is served."""
    app = world["app"]
    client = signed_in(app)
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {}):
        r = client.post("/api/v1/work-orders/batch-assign", json={}, headers=headers)
        assert r.status_code == 403 and r.get_json()["field"] == "Origin", headers
        assert client.post("/logout", headers=headers).status_code == 403
    assert client.get("/_dash-layout").status_code == 200  # the refused logout changed nothing
    assert client.post("/api/v1/work-orders/batch-assign", json={}, headers=OWN).status_code == 200
    referred = client.post("/api/v1/work-orders/batch-assign", json={}, headers={"Referer": "http://localhost/"})
    assert referred.status_code == 200
    bearer = app.server.test_client().post("/api/v1/work-orders/batch-assign", json={}, headers=world["admin"])
    assert bearer.status_code == 200


def test_a_sign_in_from_another_sites_page_is_refused(world):
    """Tests that a login form posted from another origin gets 403 and no session, while a script's sign-in
    without Origin still works."""
    client = world["app"].server.test_client()
    r = client.post("/login", data={"name": "desk", "password": "desk-pw"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.get_json()["field"] == "Origin"
    assert client.get_cookie("session") is None
    assert client.post("/login", data={"name": "desk", "password": "desk-pw"}).status_code == 302


def test_raster_tiles_are_allowed_as_images_from_their_server_only(tmp_path):
    """Tests that with OUTFIELD_TILE_URL the CSP lets images come from the tile server ({s} as a wildcard)."""
    from console.security import content_security_policy

    osm = content_security_policy(script_hashes=[], tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert osm["img-src"] == ["'self'", "data:", "blob:", "https://*.tile.example.org"]
    assert content_security_policy(script_hashes=[], tile_url=None)["img-src"] == ["'self'", "data:", "blob:"]


# --- field links on the office surface ---


def test_a_field_link_or_field_login_cannot_ask_for_candidates(world):
    """Tests that /candidates refuses a push-link token as a bearer token (401) and a field worker's own API token
    or login (403), as the access matrix says."""
    app = world["app"]
    client = app.server.test_client()
    r = client.post(f"/api/v1/workers/{world['worker_id']}/push-link", json={}, headers=world["admin"])
    link = r.get_json()["token"]
    as_link = client.get("/api/v1/work-orders/1/candidates", headers={"Authorization": f"Bearer {link}"})
    assert as_link.status_code == 401
    r = client.get("/api/v1/work-orders/1/candidates", headers={"Authorization": f"Bearer {world['field_token']}"})
    assert r.status_code == 403 and "field_worker" in r.get_json()["error"]
    assert signed_in(app, "ana", "ana-pw").get("/api/v1/work-orders/1/candidates").status_code == 403


# --- start-up ---


def test_the_console_refuses_to_start_with_the_generated_secret_outside_demo_mode(tmp_path):
    """Tests that without SECRET_KEY create_app refuses (naming SECRET_KEY) unless OUTFIELD_DEMO=1."""
    env = {"OUTFIELD_VAR": str(tmp_path), "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}
    settings = replace(Settings.from_env(env), redis_url="redis://fake:6379/0")
    migrate(settings.database_url)
    with pytest.raises(InsecureSettings, match="SECRET_KEY is not set"):
        create_app(settings, clock=ManualClock(START))
    demo = replace(Settings.from_env({**env, "OUTFIELD_DEMO": "1"}), redis_url="redis://fake:6379/0")
    assert create_app(demo, clock=ManualClock(START)).server.secret_key == demo.secret_key


def test_python_m_console_says_why_it_refuses_to_start_and_exits_2(tmp_path):
    """Tests that `python -m console` without SECRET_KEY outside demo mode prints one clear line (no traceback)
    and exits 2 before any server process starts."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "OUTFIELD_DEMO")}
    env.update(OUTFIELD_VAR=str(tmp_path), OUTFIELD_OSRM_DIR=str(tmp_path / "none"), PORT="1")
    result = subprocess.run(
        [sys.executable, "-m", "console"], env=env, capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert result.returncode == 2
    assert "python -m console: refusing to start: SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_console_refuses_to_start_with_demo_passwords_outside_demo_mode(tmp_path):
    """Tests that a user still signing in with a demo password stops the start (naming them) outside demo mode only."""
    settings = settings_for(tmp_path)
    migrate(settings.database_url)
    with session_scope(make_sessionmaker(make_engine(settings.database_url))) as session:
        users_repo.create_user(session, name="admin", role=Role.ADMIN, password="admin-demo")
    with pytest.raises(InsecureSettings, match="users admin still have their demo passwords"):
        create_app(settings, clock=ManualClock(START))
    create_app(replace(settings, demo=True), clock=ManualClock(START))


def test_a_warning_says_push_links_point_at_the_loopback_without_a_public_url(tmp_path, caplog):
    """Tests that the console warns that push links point at 127.0.0.1 when OUTFIELD_PUBLIC_URL is unset, and not when set."""
    settings = settings_for(tmp_path)
    migrate(settings.database_url)
    with caplog.at_level(logging.WARNING, logger="outfield"):
        create_app(settings, clock=ManualClock(START))
    assert "OUTFIELD_PUBLIC_URL is not set: push links will point at http://127.0.0.1:8050" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="outfield"):
        create_app(replace(settings, public_url="https://outfield.example"), clock=ManualClock(START))
    assert "OUTFIELD_PUBLIC_URL" not in caplog.text


# --- several server processes ---


def test_a_fresh_process_serves_the_pages_scripts_to_simultaneous_first_requests(world):
    """Tests that a fresh server process (a gunicorn worker that has answered nothing yet) serves the pages'
    scripts to requests arriving at the same moment, as a browser sends them: all 200, none a 500 (Dash's own
    first-request set-up let the others through before it had registered the scripts)."""
    import threading

    fresh = create_app(world["settings"], clock=ManualClock(START))  # another worker process of the same server
    fresh.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001
    client = fresh.server.test_client()
    paths = [
        "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.v4_4_1m1.min.js",
        "/_dash-component-suites/dash_leaflet/dash_leaflet.v1_1_3m1.js",
        "/plans/_dash-component-suites/dash_socketio/dash_socketio.v1_1_1m1.js",
    ] * 3
    client.set_cookie("session", session_cookie(signed_in(world["app"])))  # signed in through the first one
    start = threading.Barrier(len(paths))
    codes: list[int] = []

    def fetch(path: str) -> None:
        start.wait()
        codes.append(client.get(path).status_code)

    threads = [threading.Thread(target=fetch, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * len(paths)


def test_the_batch_endpoint_refuses_a_token_on_the_next_request_once_revoked_or_its_user_deactivated(world):
    """Tests that a bearer token the batch endpoint accepted is refused (401) on the very next request once it is
    revoked, and another token of the same user once the user is deactivated (no token revoked), and works again
    once the user is reactivated: every request asks the database, nothing is remembered between requests."""
    client = world["app"].server.test_client()
    item = {"id": "a1", "lat": 43.74, "lon": 7.42, "timestamp": START.isoformat()}
    with session_scope(world["sessions"]) as session:
        gate, token = users_repo.create_user(session, name="gateway", role=Role.ADMIN)
        second = users_repo.issue_token(session, user_id=gate.id)
    first, other = {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {second}"}
    assert client.post("/api/v1/positions", json=[item], headers=first).status_code == 200
    with session_scope(world["sessions"]) as session:
        assert users_repo.revoke_token(session, token=token)
    assert client.post("/api/v1/positions", json=[item], headers=first).status_code == 401
    assert client.post("/api/v1/positions", json=[item], headers=other).status_code == 200
    with session_scope(world["sessions"]) as session:
        users_repo.set_active(session, user_id=gate.id, active=False)
    assert client.post("/api/v1/positions", json=[item], headers=other).status_code == 401
    with session_scope(world["sessions"]) as session:
        users_repo.set_active(session, user_id=gate.id, active=True)
    assert client.post("/api/v1/positions", json=[item], headers=other).status_code == 200
