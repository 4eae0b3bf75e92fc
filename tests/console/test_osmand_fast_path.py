"""`/osmand`'s plain query path reads a request exactly as Werkzeug's request would."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.wrappers import Request

from console.osmand_wsgi import plain_query

# What a query string is made of, escapes included: the plain path must take only what it reads as Werkzeug does.
QUERY = st.text(alphabet="id=lat&lon;%2B+.-_09é ", max_size=40)


def _environ(query: str, **extra: str) -> dict[str, object]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/osmand",
        "QUERY_STRING": query.encode().decode("latin-1"),  # as a WSGI server hands over the raw bytes
        "wsgi.input": io.BytesIO(b""),
        "SERVER_NAME": "h",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        **extra,
    }


@given(QUERY)
def test_a_plain_query_gives_the_pairs_werkzeug_gives(query: str) -> None:
    """Tests that whenever the plain path reads a query (no escapes, no body) its pairs are Werkzeug's, in order,
    blanks and repeats included, and that a query with an escape, a `+` or non-ASCII text is left to Werkzeug."""
    environ = _environ(query)
    pairs = plain_query(environ)
    if pairs is None:
        assert not query.isascii() or "%" in query or "+" in query
        return
    request = Request(environ)
    assert pairs == list(request.args.items(multi=True))
    assert list(request.form.items(multi=True)) == [] and request.get_data() == b""


def test_a_request_with_a_body_or_a_json_type_takes_werkzeug_s_path() -> None:
    """Tests that a form or JSON body (sized or chunked), and a JSON content type even with no body (refused as an
    empty JSON body), are not read by the plain path."""
    query = "id=a&lat=1&lon=2"
    assert plain_query(_environ(query)) == [("id", "a"), ("lat", "1"), ("lon", "2")]
    assert plain_query(_environ(query, CONTENT_LENGTH="0", CONTENT_TYPE="application/x-www-form-urlencoded")) == [
        ("id", "a"),
        ("lat", "1"),
        ("lon", "2"),
    ]
    assert plain_query(_environ(query, CONTENT_LENGTH="7", CONTENT_TYPE="application/x-www-form-urlencoded")) is None
    assert plain_query(_environ(query, HTTP_TRANSFER_ENCODING="chunked")) is None
    assert plain_query(_environ(query, CONTENT_TYPE="Application/JSON; charset=utf-8")) is None
