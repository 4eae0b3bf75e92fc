"""The web surface's guards: security headers (Flask-Talisman), the same-origin rule for cookie
requests that change state, and the start-up refusal of demo secrets outside demo mode.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import flask
from flask_talisman import Talisman

from data.settings import Settings

log = logging.getLogger("outfield")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class InsecureSettings(RuntimeError):
    """The console would run with a secret or password anyone can look up; the message says which and what to do."""


def content_security_policy(*, script_hashes: Iterable[str], tile_url: str | None) -> dict[str, str | list[str]]:
    """The CSP of every page: scripts only from this site (and Dash's inline scripts by hash), no framing.

    Styles may be inline: Dash, Plotly and Leaflet set element styles. Raster tiles come from the tile server.
    """
    images = ["'self'", "data:", "blob:"]
    tile_origin = origin_of(tile_url.replace("{s}", "*")) if tile_url else None  # {s}.tile... → *.tile...
    if tile_origin is not None:
        images.append(tile_origin)
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *sorted(set(script_hashes))],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "connect-src": "'self'",
        "font-src": ["'self'", "data:"],
        "worker-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


class _Talisman(Talisman):  # type: ignore[misc]
    """Talisman, its per-view options and policies worked out once instead of on every response.

    Talisman rebuilds a view's options four times a request, re-joins the CSP from its dict each time, and
    works out whether a request came over https for a redirect that is off here. None of it changes while the
    app runs: no view carries its own Talisman options (they would be read
    on a view's first request, as before) and no CSP nonce is configured (a nonce would make the policy
    per request: then nothing is cached). Headers stay exactly Talisman's; HSTS is still decided per request.
    """

    def _get_local_options(self) -> dict[str, Any]:
        endpoint = flask.request.endpoint
        cache: dict[str | None, dict[str, Any]] = self.__dict__.setdefault("_options_by_endpoint", {})
        options = cache.get(endpoint)
        if options is None:
            options = cache[endpoint] = super()._get_local_options()
        return options

    def _force_https(self) -> Any:
        if not self._get_local_options()["force_https"]:  # here: TLS ends at the proxy; a view may still ask for it
            if self.session_cookie_secure and not self.app.debug:
                self.app.config["SESSION_COOKIE_SECURE"] = True  # what Talisman's hook does first, every request
            return None
        return super()._force_https()

    def _parse_policy(self, policy: Any) -> str:
        if self.content_security_policy_nonce_in:
            return str(super()._parse_policy(policy))
        cache: dict[int, tuple[Any, str]] = self.__dict__.setdefault("_policies", {})
        known = cache.get(id(policy))
        if known is None or known[0] is not policy:
            known = cache[id(policy)] = (policy, str(super()._parse_policy(policy)))
        return known[1]


def install_headers(server: flask.Flask, *, script_hashes: Sequence[str], settings: Settings) -> Talisman:
    """Security headers on every response: CSP, nosniff, no framing, same-origin referrers, cookie flags."""
    return _Talisman(server, **talisman_options(script_hashes=script_hashes, settings=settings))


def talisman_options(*, script_hashes: Sequence[str], settings: Settings) -> dict[str, Any]:
    """Talisman's settings for this console (`install_headers`)."""
    return dict(
        force_https=False,  # TLS ends at the reverse proxy, when there is one; the demo is plain http
        frame_options="DENY",
        content_security_policy=content_security_policy(script_hashes=script_hashes, tile_url=settings.tile_url),
        referrer_policy="same-origin",
        session_cookie_secure=settings.cookies_secure,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        x_content_type_options=True,
    )


def origin_of(url: str | None) -> str | None:
    """`scheme://host[:port]` of a URL, or None when it has none."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def cross_site_refusal(
    *,
    method: str,
    headers: dict[str, str],
    has_session_cookie: bool,
    own_origins: Iterable[str],
    signing_in: bool = False,
) -> str | None:
    """Why a request must be refused as cross-site, or None to let it through.

    Cookie-authenticated requests that change state must carry an Origin (or, without one, a Referer)
    of this site. A sign-in from another site's page is refused too (it would sign the browser in to
    someone else's account). Bearer-token calls carry no ambient credential and pass.
    """
    if method in SAFE_METHODS or headers.get("Authorization", "").startswith("Bearer "):
        return None
    if not (has_session_cookie or signing_in):
        return None
    origin = headers.get("Origin") or origin_of(headers.get("Referer"))
    if origin is None:
        if has_session_cookie:
            return "a signed-in request that changes data needs an Origin or Referer header from this site"
        return None  # a sign-in by a script, not from a page
    if origin.lower() not in set(own_origins):
        return f"cross-site request from {origin} refused"
    return None


def install_same_origin_rule(server: flask.Flask, *, public_url: str | None) -> None:
    """403 `{"error", "field": "Origin"}` for a cross-site state change carrying the session cookie."""
    public = origin_of(public_url)

    @server.before_request
    def refuse_cross_site() -> tuple[flask.Response, int] | None:
        request = flask.request
        if request.method in SAFE_METHODS:
            return None  # what `cross_site_refusal` answers first; the origins are not worked out for nothing
        own = {origin_of(request.host_url)} | ({public} if public else set())
        reason = cross_site_refusal(
            method=request.method,
            headers=dict(request.headers),
            has_session_cookie=server.config["SESSION_COOKIE_NAME"] in request.cookies,
            own_origins={o for o in own if o},
            signing_in=request.path == "/login",
        )
        if reason is None:
            return None
        return flask.jsonify({"error": reason, "field": "Origin"}), 403


def production_problems(settings: Settings, *, demo_password_users: Sequence[str]) -> list[str]:
    """What stops this console from starting outside demo mode (empty in demo mode, or when all is well)."""
    if settings.demo:
        return []
    problems = []
    if settings.secret_key_generated:
        problems.append(
            "SECRET_KEY is not set: the generated key in var/secret_key is for the demo only; "
            "set SECRET_KEY to a long random value (or OUTFIELD_DEMO=1 for a demo)"
        )
    if demo_password_users:
        problems.append(
            f"users {', '.join(sorted(demo_password_users))} still have their demo passwords: "
            "change them or deactivate the users (or OUTFIELD_DEMO=1 for a demo)"
        )
    return problems


def warn_about_public_url(settings: Settings) -> None:
    """Push links need an address phones can reach; say so when it is only guessed from HOST:PORT."""
    if settings.public_url is None:
        log.warning(
            "OUTFIELD_PUBLIC_URL is not set: push links will point at http://%s:%d, which phones cannot "
            "reach when that is 127.0.0.1; set OUTFIELD_PUBLIC_URL to the address phones use",
            settings.host,
            settings.port,
        )
