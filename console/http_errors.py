"""One way to fail at the HTTP edge: bad input anywhere answers 4xx JSON `{"error", "field"}`, never 5xx.

`register(server, dash_apps=...)` installs, on the whole Flask server:

- the one handler of the one error type, `dispatch.errors.AppError` (status, field, reason; every
  use case, parser and handler raises it or a subclass): its JSON answer `{"error", "field"}`;
- a body size cap (`MAX_BODY_BYTES`; routes lower it with `request_body.limit_body`), enforced on
  chunked bodies too, answered 413 naming `body`;
- JSON answers for the API's HTTP errors: an unknown `/api/...` path is 404 (not the console's
  HTML, which Dash's catch-all route would serve), a wrong method 405 listing the allowed ones;
- a page for any other unknown path (`/privacy/`, `/plans/old`): 404 saying there is no
  page there, with a link to the live map, where each Dash app's catch-all route would serve its page;
- a path id beyond what the database holds (`/api/v1/plans/9223372036854775808`) is 404 naming it;
- a malformed body on Dash's `_dash-update-component` (not JSON, not the shape Dash sends, an
  unknown callback) is 400 before Dash sees it;
- a last net for decoding failures that slip past a parser (RecursionError, UnicodeError,
  OverflowError) and for values the database refuses (PostgreSQL's DataError: text longer than its
  column, a number out of its type's range): 400 naming `body`, logged with the route only, nothing
  stored (the unit of work rolls back).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import flask
from dash import Dash
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from console.i18n import _, message_page
from console.request_body import read_body
from dispatch.errors import MAX_ID, AppError
from realtime.ingest import IngestError, decode_json

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 16 * 1024 * 1024
"""The largest body any route takes (a photo of 8 MiB in a multipart form fits)."""

DASH_MAX_DEPTH: Final = 512
"""Deepest JSON a Dash callback call may carry (component trees nest deeper than API bodies)."""

JSON_PREFIXES: Final = ("/api/", "/osmand", "/_dash-", "/plans/_dash-", "/day/_dash-")
"""Paths whose errors are answered as JSON (the rest are pages)."""

_FIELD_OF_STATUS: Final = {400: "body", 404: "path", 405: "method", 411: "body", 413: "body", 415: "body"}


def register(server: flask.Flask, *, dash_apps: Mapping[str, Dash]) -> None:
    """Install the edge's checks and error answers on `server`; `dash_apps` maps a URL prefix to its Dash app."""
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    api_routes = _ApiRoutes(server)
    update_paths = {f"{prefix.rstrip('/')}/_dash-update-component": app for prefix, app in dash_apps.items()}
    catch_alls = {f"{prefix.rstrip('/')}/<path:path>" for prefix in dash_apps}

    @server.url_value_preprocessor
    def refuse_huge_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        for name, value in (values or {}).items():
            if isinstance(value, int) and value > MAX_ID:
                raise AppError(
                    404, f"{name}: a {value.bit_length()}-bit number is beyond the largest id ({MAX_ID})", name
                )

    @server.before_request
    def check_route_and_dash_body() -> tuple[flask.Response, int] | None:
        request = flask.request
        rule = request.url_rule
        if request.path.startswith("/api/") and (rule is None or rule.rule.endswith("<path:path>")):
            error = api_routes.error(request.path, request.method)
            if error is not None:
                return _json_error(error)
        elif rule is not None and rule.rule in catch_alls:
            return _no_page_here()
        dash_app = update_paths.get(request.path)
        if dash_app is not None and request.method == "POST":
            problem = dash_call_problem(read_body(), dash_app.callback_map)  # 413 past the cap, chunked too
            if problem is not None:
                return flask.jsonify({"error": problem, "field": "body"}), 400
        return None

    @server.errorhandler(AppError)
    def refused(exc: AppError) -> tuple[flask.Response, int]:
        return flask.jsonify(exc.body()), exc.status

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        path = flask.request.path
        if not path.startswith(JSON_PREFIXES):
            return exc
        if isinstance(exc, MethodNotAllowed) and path.startswith("/api/"):
            exc = api_routes.error(path, flask.request.method) or exc  # an unknown path is 404, not 405
        return _json_error(exc)

    @server.errorhandler(RecursionError)
    @server.errorhandler(UnicodeError)
    @server.errorhandler(OverflowError)
    def undecodable(exc: Exception) -> tuple[flask.Response, int]:
        # The endpoint, not the path: a push-link path carries its token.
        log.warning(
            "%s %s: refused a value out of range (%s)", flask.request.method, flask.request.endpoint, type(exc).__name__
        )
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "a value is out of range or not text"
        return flask.jsonify({"error": f"body: {reason}", "field": "body"}), 400

    @server.errorhandler(DataError)
    def refused_by_the_database(exc: DataError) -> tuple[flask.Response, int]:
        log.warning("%s %s: the database refused a value", flask.request.method, flask.request.endpoint)
        reason = "body: a value is too long or out of range for what is stored"
        return flask.jsonify({"error": reason, "field": "body"}), 400


def _no_page_here() -> tuple[flask.Response, int]:
    """404 for a path no page has, in the request's language (Dash's catch-all would serve its page there)."""
    return flask.Response(message_page(_("There is no page at this address.")), mimetype="text/html"), 404


def dash_call_problem(body: bytes, callback_map: Mapping[str, Any]) -> str | None:
    """Why `body` is not a call Dash's renderer makes to one of `callback_map`'s callbacks, or None.

    Checks the JSON (strict, nested at most `DASH_MAX_DEPTH`), the top-level shape (`output` names a
    registered callback; `inputs`, `state`, `outputs`, `changedPropIds` have the renderer's types) and
    that each input and state is `{id, property}` (or a list of them, for pattern-matching), as many
    as the callback declares: a call Dash would otherwise answer with a 500.
    """
    try:
        call = decode_json(body, max_depth=DASH_MAX_DEPTH)
    except IngestError as exc:
        return str(exc)
    if not isinstance(call, dict):
        return "body: expected a JSON object"
    output = call.get("output")
    if not isinstance(output, str):
        return "body: 'output' must be a string"
    callback = callback_map.get(output)
    if callback is None:
        return "body: 'output' names no callback"
    for name in ("inputs", "state"):
        items = call.get(name, [])
        if not isinstance(items, list) or not all(_is_dependency(i) for i in items):
            return f"body: '{name}' must be a list of {{id, property, value}}"
        if len(items) != len(callback.get(name, [])):
            return f"body: '{name}' has {len(items)} items, the callback takes {len(callback.get(name, []))}"
    outputs = call.get("outputs", [])
    if not isinstance(outputs, list | dict):
        return "body: 'outputs' must be a list or an object"
    changed = call.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "body: 'changedPropIds' must be a list of strings"
    return None


def _is_dependency(item: object) -> bool:
    """An input/state as Dash sends it: `{id, property, value}`, or a list of them (pattern matching)."""
    if isinstance(item, list):
        return all(_is_single_dependency(i) for i in item)
    return _is_single_dependency(item)


def _is_single_dependency(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str | dict) and isinstance(item.get("property"), str)


class _ApiRoutes:
    """The server's `/api/` routes alone, to tell an unknown API path (404) from a wrong method (405).

    Built on first use, when every blueprint is registered; Dash's catch-all page route is left out.
    """

    def __init__(self, server: flask.Flask) -> None:
        self._server = server
        self._map: Map | None = None

    def error(self, path: str, method: str) -> HTTPException | None:
        if self._map is None:
            rules = [
                Rule(r.rule, methods=r.methods, endpoint=r.endpoint)
                for r in self._server.url_map.iter_rules()
                if r.rule.startswith("/api/")
            ]
            self._map = Map(rules, converters=self._server.url_map.converters)
        try:
            self._map.bind("localhost").match(path, method)
        except (NotFound, MethodNotAllowed) as exc:
            return exc
        except RequestRedirect:
            return None
        return None


def _json_error(exc: HTTPException) -> tuple[flask.Response, int]:
    status = exc.code or 500
    request = flask.request
    if isinstance(exc, NotFound):
        reason = f"path: no API route {request.path[:200]}"
    elif isinstance(exc, MethodNotAllowed):
        allowed = sorted(set(exc.valid_methods or ()) - {"HEAD", "OPTIONS"})
        reason = f"method: {request.method} is not allowed here (use {', '.join(allowed)})"
    elif status == 413:
        limit = request.max_content_length
        reason = f"body: larger than {limit} bytes" if limit else "body: too large"
    else:
        reason = f"{_FIELD_OF_STATUS.get(status, 'request')}: {exc.description or exc.name}"
    body: dict[str, Any] = {"error": reason}
    if status in _FIELD_OF_STATUS:
        body["field"] = _FIELD_OF_STATUS[status]
    response = flask.jsonify(body)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response, status
