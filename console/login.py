"""The sign-in page, its handler and logout.

`next` only ever leads to a path on this site, as a browser would read it; failed sign-ins are
throttled per user name and per client address (Flask-Limiter, counters in Redis, 429 with
Retry-After); a logout ends every session of the user.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

import flask
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from markupsafe import escape

from console import i18n
from console.auth import Auth
from console.i18n import _
from console.request_body import limit_body

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/assets/style.css">
<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc.css">
<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-cjk.css">
<link rel="stylesheet" href="/assets/fonts/chinese.css"></head>
<body><form class="login" method="post" action="/login">
<h1>Outfield</h1><p>{tagline}</p>{error}
<label>{user_label}<input name="name" autocomplete="username" autofocus value="{name}"></label>
<label>{password_label}<input name="password" type="password" autocomplete="current-password"></label>
<input type="hidden" name="next" value="{next}"><button type="submit">{sign_in}</button></form>{switch}</body></html>"""

LOGIN_MAX_BODY_BYTES: Final = 64 * 1024
"""The largest sign-in form taken (a name, a password and where to go next); more, chunked too, is 413."""

# What a browser's URL parser drops before reading a URL: tab and newlines anywhere, C0 controls and
# spaces at either end (WHATWG URL). It also reads a backslash as a slash in http(s) URLs.
_DROPPED_ANYWHERE = re.compile(r"[\t\n\r]")
_CONTROL_OR_SPACE = "".join(chr(c) for c in range(0x21))


def safe_next(raw: str | None) -> str:
    """The same-site path to go to after signing in: `raw` as a browser would normalise it, or "/".

    Anything a browser would read as another host (a scheme, `//host`, `/\\host`, `/\\t/host`) gives "/".
    """
    text = _DROPPED_ANYWHERE.sub("", raw or "").strip(_CONTROL_OR_SPACE).replace("\\", "/")
    if not text.startswith("/") or text.startswith("//"):
        return "/"
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        return "/"
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def register(server: flask.Flask, auth: Auth, *, storage_uri: str, per_name: str, per_address: str) -> Limiter:
    """Add /login (GET page, POST sign-in) and /logout to `server`; returns the limiter guarding sign-in."""

    @server.before_request  # before the limiter's own hook, whose key (the user name) reads the form
    def cap_the_sign_in_form() -> None:
        if flask.request.endpoint == "login":
            limit_body(LOGIN_MAX_BODY_BYTES)

    limiter = Limiter(
        get_remote_address,
        app=server,
        storage_uri=storage_uri,
        headers_enabled=True,
        key_prefix="outfield-login",
        in_memory_fallback_enabled=True,  # Redis away: keep throttling in this process
        swallow_errors=True,
    )
    # Only the sign-in is limited: every other request skips the limiter's per-request checks at once.
    limiter.request_filter(lambda: flask.request.endpoint != "login")

    def failed(response: flask.Response) -> bool:
        return response.status_code == 401

    def user_name() -> str:
        return "name:" + flask.request.form.get("name", "").strip().lower()

    def too_many(_limit: RequestLimit) -> flask.Response:
        page = _page(
            error=_("Too many failed sign-ins: please wait a little and try again."),
            name=flask.request.form.get("name", ""),
            target=safe_next(flask.request.values.get("next")),
        )
        return flask.Response(page, status=429, mimetype="text/html")

    @server.route("/login", methods=["GET", "POST"])
    @limiter.limit(per_name, key_func=user_name, methods=["POST"], deduct_when=failed, on_breach=too_many)
    @limiter.limit(per_address, methods=["POST"], deduct_when=failed, on_breach=too_many)
    def login() -> Any:
        target = safe_next(flask.request.values.get("next"))
        if flask.request.method == "GET":
            return _page(error="", name="", target=target)
        name = flask.request.form.get("name", "")
        if auth.login(name, flask.request.form.get("password", "")) is None:
            return _page(error=_("Wrong user name or password."), name=name, target=target), 401
        return flask.redirect(target)

    @server.post("/logout")
    def logout() -> Any:
        auth.logout()
        return flask.redirect("/login")

    return limiter


def _page(*, error: str, name: str, target: str) -> str:
    shown = f'<p class="error">{escape(error)}</p>' if error else ""
    return PAGE.format(
        lang=i18n.html_lang(),
        title=escape(_("Outfield · sign in")),
        tagline=escape(_("Field-service dispatch")),
        user_label=escape(_("User name")),
        password_label=escape(_("Password")),
        sign_in=escape(_("Sign in")),
        switch=i18n.switch_html("/login?" + urlencode({"next": target}, safe="/")),
        error=shown,
        name=escape(name),
        next=escape(target),
    )
