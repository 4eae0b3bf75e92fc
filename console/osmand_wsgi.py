"""`/osmand`, the phones' hot path, served in front of Flask as plain WSGI.

Every phone reports every few seconds, so this one route carries most of the server's requests. It
needs nothing of the console's request machinery: no session, no login, no same-origin rule (the
device id is the protocol's credential, as in Traccar), no Dash, no per-page CSP. Served by Flask
it cost about twice the parse-and-store work in hooks and response processing (bench/README.md,
"Ingestion"); here it is a Werkzeug request, the shared parser, the pipeline and a fixed set of
headers. The rules are the same as everywhere else: the body is capped (chunked too), bad input is
a 4xx JSON `{"error", "field"}` naming the field, nothing of a bad request is stored, a fix is
acknowledged only once committed, and the query string (coordinates) is never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request

from dispatch.clock import Clock
from dispatch.positions import PositionLimits
from realtime.ingest import IngestError, PositionReport, check_fix_times, parse_osmand, plain_query_fix
from realtime.pipeline import PositionPipeline, StoreUnavailable

log = logging.getLogger(__name__)

OSMAND_MAX_BYTES = 64 * 1024  # what Traccar's HTTP layer accepts for one report
PATHS = frozenset({"/osmand", "/osmand/"})
METHODS = frozenset({"GET", "POST", "PUT"})

# An API answer, never a page: nothing here may be rendered, framed or sniffed as HTML.
HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("Cache-Control", "no-store"),
]

_OK_HEADERS = (*HEADERS, ("Content-Length", "0"))

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class OsmandEndpoint:
    """WSGI middleware: `/osmand` here, every other path to `app` (the Flask server)."""

    def __init__(self, app: WsgiApp, *, pipeline: PositionPipeline, clock: Clock, limits: PositionLimits) -> None:
        self._app = app
        self._pipeline = pipeline
        self._clock = clock
        self._limits = limits

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in PATHS:
            return self._app(environ, start_response)
        status, body, extra = self._answer(environ)
        if not body and not extra:
            start_response(status, list(_OK_HEADERS))
            return [body]
        headers = [*HEADERS, *extra, ("Content-Length", str(len(body)))]
        if body:
            headers.append(("Content-Type", "application/json"))
        start_response(status, headers)
        return [body]

    def _answer(self, environ: dict[str, Any]) -> tuple[str, bytes, list[tuple[str, str]]]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in METHODS:
            allowed = ", ".join(sorted(METHODS))
            reason = f"method: {method} is not allowed here (use {allowed})"
            return "405 METHOD NOT ALLOWED", _error(reason, "method"), [("Allow", allowed)]
        try:
            query = plain_query(environ)
            if query is not None:
                plain = plain_query_fix(query)  # the common query: no report built, the batch path's decisions
                if plain is not None:
                    self._pipeline.ingest_plain(plain)
                else:
                    self._store(parse_osmand(query=query, form=[], content_type=None, body=b""))
            else:
                self.ingest(Request(environ))
        except IngestError as exc:
            return "400 BAD REQUEST", _error(str(exc), exc.field), []
        except RequestEntityTooLarge:
            return "413 REQUEST ENTITY TOO LARGE", _error(f"body: larger than {OSMAND_MAX_BYTES} bytes", "body"), []
        except HTTPException as exc:  # a malformed form body, a client that went away mid-body
            return f"{exc.code} {exc.name.upper()}", _error(f"body: {exc.description or exc.name}", "body"), []
        except (RecursionError, UnicodeError, OverflowError) as exc:
            log.warning("/osmand: refused a value out of range (%s)", type(exc).__name__)
            return "400 BAD REQUEST", _error("body: a value is out of range or not text", "body"), []
        except StoreUnavailable as exc:
            # Nothing of the request was stored; phones retry, and a resend of a stored fix is a duplicate.
            return "503 SERVICE UNAVAILABLE", _error(f"not stored, retry later: {exc}", None), [("Retry-After", "1")]
        return "200 OK", b"", []

    def ingest(self, request: Request) -> None:
        """Parse, check and store one report; an expected failure raises (the caller answers it).

        A duplicate resend and a fix taken off shift (not stored) are answered 200 too: the phone
        cannot act on an error and would only retry (Traccar answers the same way).
        """
        request.max_content_length = OSMAND_MAX_BYTES  # before anything reads the body; chunked too
        body = request.get_data(cache=True)
        if request.content_length is None and len(body) >= OSMAND_MAX_BYTES:
            request.stream.read(1)  # Werkzeug cuts a chunked body at the cap silently: this raises 413
        is_json = (request.content_type or "").startswith("application/json")
        report = parse_osmand(
            query=list(request.args.items(multi=True)),
            form=[] if is_json else list(request.form.items(multi=True)),
            content_type=request.content_type,
            body=body if is_json else b"",
        )
        self._store(report)

    def _store(self, report: PositionReport) -> None:
        (checked,) = check_fix_times([report], now=self._clock.now(), limits=self._limits)
        if isinstance(checked, IngestError):
            raise checked
        self._pipeline.ingest(report)


def plain_query(environ: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The query's pairs, as `Request(environ).args` gives them, for what phones send most: a query string of
    plain ASCII (no `%` escape, no `+`) and no body; None for anything else, which takes Werkzeug's path.

    Without escapes a pair is its text split at the first `=` (`urllib.parse.parse_qsl` with blank values
    kept, as Werkzeug reads a query, does nothing more to it), and with no body there is no form to read.
    Building a Werkzeug request, its MultiDict of arguments and its input stream was a third of the request
    thread's work per fix (bench/README.md, "Ingestion").
    """
    if environ.get("CONTENT_LENGTH", "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ:
        return None
    if environ.get("CONTENT_TYPE", "").strip().lower().startswith("application/json"):
        return None  # an empty JSON body is refused as such, on Werkzeug's path
    query: str = environ.get("QUERY_STRING", "")
    if not query.isascii() or "%" in query or "+" in query:
        return None
    return [(name, value) for name, _, value in (pair.partition("=") for pair in query.split("&") if pair)]


def _error(reason: str, field: str | None) -> bytes:
    return json.dumps({"error": reason, "field": field}, separators=(",", ":")).encode()
