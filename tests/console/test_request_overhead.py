"""What every request through Flask pays was trimmed (console/flask_app.py, console/security.py, console/login.py):
the answers must be exactly what they were. Speed itself is measured by bench/request_cost.py, never here."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import flask
import pytest
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import Talisman

from console import security
from console.flask_app import LazySessionInterface
from data import users_repo
from data.db import session_scope
from data.settings import Settings
from tests.support.inprocess import InProcessApp, make_app

OWN = {"Origin": "http://localhost"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> InProcessApp:
    app = make_app(tmp_path_factory.mktemp("overhead"))
    with session_scope(app.sessions) as session:
        users_repo.create_user(session, name="desk", role="dispatcher", password="desk-pw")
    return app


def _answers(world: InProcessApp) -> list[tuple[str, int, list[tuple[str, str]]]]:
    """Status and headers (Date aside) of requests with and without a session, anonymous and signed in."""
    out = []
    anonymous = world.outfield.server.test_client()
    browser = world.outfield.server.test_client()
    forged = world.outfield.server.test_client()
    forged.set_cookie("session", "forged.value")
    signed = browser.post("/login", data={"name": "desk", "password": "desk-pw"}, headers=OWN)
    assert signed.status_code == 302, signed.get_data(as_text=True)
    requests: list[tuple[str, Any, str, dict[str, Any]]] = [
        ("healthz", anonymous, "/healthz", {}),
        ("api without a token", anonymous, "/api/v1/work-orders", {}),
        ("api with a token", anonymous, "/api/v1/workers", {"headers": world.admin}),
        ("page, signed out", anonymous, "/plans/", {}),
        ("login page", anonymous, "/login", {}),
        ("api, signed in", browser, "/api/v1/work-orders", {}),
        ("forged session cookie", forged, "/api/v1/work-orders", {}),
        ("cross-site post", browser, "/api/v1/work-orders", {"method": "POST", "headers": {"Origin": "http://evil"}}),
    ]
    for kind, client, path, options in requests:
        r = client.open(path, method=options.get("method", "GET"), headers=options.get("headers"))
        out.append((kind, r.status_code, sorted((k, _timeless(v)) for k, v in r.headers.items() if k != "Date")))
    return out


def _timeless(header: str) -> str:
    """A header with a cookie's signed value and expiry blanked: both carry the second it was sent."""
    return re.sub(r"(session=)[^;]+|(Expires=)[^;]+", lambda m: (m[1] or m[2]) + "…", header)


def test_the_lazy_session_answers_exactly_as_flasks_own(world: InProcessApp) -> None:
    """Tests that with the cookie session opened only when sent, every kind of request (no cookie, a forged one, a
    signed-in browser, a refused cross-site post) gets the same status, cookies and Vary as with Flask's interface."""
    server = world.outfield.server
    assert isinstance(server.session_interface, LazySessionInterface)
    lean = _answers(world)
    server.session_interface = SecureCookieSessionInterface()
    try:
        flasks = _answers(world)
    finally:
        server.session_interface = LazySessionInterface()
    assert lean == flasks
    by_kind = {kind: dict(headers) for kind, _status, headers in lean}
    assert "Set-Cookie" not in by_kind["healthz"] and "Vary" not in by_kind["healthz"]
    assert by_kind["page, signed out"].get("Vary") == "Cookie"  # the login check read the (empty) session


def test_a_request_without_the_cookie_builds_no_session_signer(world: InProcessApp, monkeypatch) -> None:
    """Tests that a public read and a bearer-token API call never build the session cookie's signer (it was built on
    every request), while a request that sends the cookie still reads it."""
    built: list[str] = []
    original = LazySessionInterface.get_signing_serializer

    def counting(self: Any, app: flask.Flask) -> Any:
        built.append(flask.request.path)
        return original(self, app)

    monkeypatch.setattr(LazySessionInterface, "get_signing_serializer", counting)
    client = world.outfield.server.test_client()
    assert client.get("/i18n/catalogue.json").status_code == 200
    assert client.get("/api/v1/workers", headers=world.admin).status_code == 200
    assert built == []
    client.set_cookie("session", "forged.value")
    assert client.get("/i18n/catalogue.json").status_code == 200
    assert built == ["/i18n/catalogue.json"]


def test_dash_first_request_hooks_are_not_run_per_request(world: InProcessApp) -> None:
    """Tests that the Dash apps, prepared before serving, leave no first-request hook on every request, and that
    their pages and scripts still serve."""
    hooks = world.outfield.server.before_request_funcs[None]
    assert not [h for h in hooks if getattr(h, "__name__", "") == "_setup_server"]
    client = world.outfield.server.test_client()
    client.post("/login", data={"name": "desk", "password": "desk-pw"}, headers=OWN)
    page = client.get("/")
    assert page.status_code == 200 and b"dash_renderer" in page.data.replace(b"-", b"_")
    assert client.get("/_dash-layout").status_code == 200


def _talisman_app(kind: type[Talisman], settings: Settings) -> flask.Flask:
    app = flask.Flask("headers")
    app.config["SECRET_KEY"] = "x"
    talisman = kind(app, **security.talisman_options(script_hashes=["'sha256-abc='"], settings=settings))

    @app.get("/page")
    def page() -> str:
        return "<html><body>hi</body></html>"

    @app.get("/json")
    def json_answer() -> Any:
        return flask.jsonify({"ok": True})

    @app.get("/framed")
    @talisman(frame_options="SAMEORIGIN", content_security_policy={"default-src": "'self'"})
    def framed() -> str:
        return "framed"

    @app.get("/secure-only")
    @talisman(force_https=True)
    def secure_only() -> str:
        return "secure"

    return app


def test_security_headers_are_talismans_own(tmp_path: Path) -> None:
    """Tests that the Talisman whose options and policy are worked out once sends, request after request, the
    same headers as Talisman itself: pages, JSON, a 404, views with their own options (one redirected to https),
    plain http and https (HSTS)."""
    settings = replace(Settings.from_env({"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "x"}), tile_url="https://{s}.t.example/{z}/{x}/{y}.png")  # fmt: skip
    answers = {}
    for kind in (Talisman, security._Talisman):  # noqa: SLF001
        client = _talisman_app(kind, settings).test_client()
        seen = []
        for _ in range(2):
            for path in ("/page", "/json", "/missing", "/framed", "/secure-only", "/page"):
                for base in ("http://localhost", "https://localhost"):
                    r = client.get(path, base_url=base)
                    seen.append((path, base, r.status_code, sorted(r.headers.items())))
        answers[kind] = seen
    assert answers[Talisman] == answers[security._Talisman]  # noqa: SLF001
    framed = dict(next(headers for path, _base, _status, headers in answers[Talisman] if path == "/framed"))
    assert framed["X-Frame-Options"] == "SAMEORIGIN" and framed["Content-Security-Policy"] == "default-src 'self'"
    assert [s for p, b, s, _h in answers[Talisman] if p == "/secure-only"][:2] == [302, 200]  # http → https
    secure = [dict(h) for _path, base, _status, h in answers[Talisman] if base.startswith("https")]
    assert all("Strict-Transport-Security" in h for h in secure)
