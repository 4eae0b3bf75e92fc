"""Request bodies read safely: size-limited, strict JSON, and typed fields refused with a reason.

Every JSON body of the API comes through here, so none of the ways a body can be hostile reaches
a handler: a body over the route's size limit (also when sent chunked, without Content-Length)
is 413, and invalid UTF-8, JSON nested deeper than `MAX_JSON_DEPTH`, `1e309`, `NaN`, a lone
surrogate or the wrong JSON type (`[1]`, `null`, `1` where an object belongs) are 400 naming
`body`. Ids are whole numbers within 1..`MAX_ID`, what a SQLite INTEGER / PostgreSQL BIGINT
column holds, so a too-large id is refused naming its field instead of failing in the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

import flask

from dispatch.errors import MAX_ID, deny
from dispatch.fields import refuse_unknown
from realtime.ingest import MAX_JSON_DEPTH, IngestError, decode_json, json_kind

NOT_AN_OBJECT: Final = "body: expected a JSON object (Content-Type: application/json)"


def limit_body(max_bytes: int) -> None:
    """Cap this request's body at `max_bytes`; reading more (chunked too) answers 413 naming `body`.

    Call it before anything reads the body (form, files, data): the stream is wrapped on first use.
    """
    flask.request.max_content_length = max_bytes


def read_body() -> bytes:
    """The request body, 413 naming `body` when it is over the cap (`limit_body`, else MAX_CONTENT_LENGTH).

    Werkzeug stops a chunked body (no Content-Length) at the cap without saying so; asking for one
    byte more makes it answer 413, so a cut body is never parsed as if it were whole.
    """
    request = flask.request
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(data) >= limit:
        request.stream.read(1)  # raises RequestEntityTooLarge: the body went on past the cap
    return data


def json_document(*, max_depth: int = MAX_JSON_DEPTH) -> object | None:
    """The request's JSON document, or None when the Content-Type is not `application/json`.

    A JSON Content-Type with a body that is not strict JSON is 400 naming `body` (see
    `realtime.ingest.decode_json`). Requiring the JSON Content-Type keeps a cross-site HTML form
    (which can only send form or text types) from posting to the API with a user's cookie.
    """
    if not flask.request.is_json:
        return None
    try:
        return decode_json(read_body(), max_depth=max_depth)
    except IngestError as exc:
        deny(400, str(exc), "body")


IGNORED_KEYS: Final = 20
IGNORED_KEY_CHARS: Final = 80
"""An answer names at most this many ignored keys, each cut to this length: a body of 100,000 made-up keys, or one
key of a megabyte, is not echoed back."""


def ignored_keys(body: Mapping[str, Any], known: Collection[str]) -> list[str]:
    """The keys of `body` a contract route does not read, sorted, for its answer to list as `ignored`.

    The routes other tools rely on (`POST /api/v1/work-orders`, `/assign`, `POST /api/v1/plans`, an alert's ack)
    keep taking a key they do not know, as they always did, so an outside tool that sends one more is not broken; the
    answer names what was not read, so a misspelt optional field ("reasn") is not dropped without a word either.
    """
    unknown = sorted(str(key) for key in body if key not in known)
    return [key if len(key) <= IGNORED_KEY_CHARS else key[:IGNORED_KEY_CHARS] + "…" for key in unknown[:IGNORED_KEYS]]


def json_object(*, optional: bool = False, known: Collection[str] | None = None) -> dict[str, Any]:
    """The request's JSON object; with `optional`, an empty body is `{}`.

    Anything else is 400 naming `body`: no JSON Content-Type, or a JSON array, null, number or
    string where the object belongs. With `known`, a key not in it is 400 naming the key (a misspelt
    optional field would otherwise be dropped without a word).
    """
    if optional and not read_body().strip():
        return {}
    document = json_document()
    if document is None:
        deny(400, NOT_AN_OBJECT, "body")
    if not isinstance(document, dict):
        deny(400, f"body: expected a JSON object, got {json_kind(document)}", "body")
    if known is not None:
        refuse_unknown(document, known)
    return document


def whole_id(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """`body[name]` as an id (a JSON whole number within 1..MAX_ID); None when absent and optional."""
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        deny(400, f"{name}: missing or not a whole number", name)
    check_id(name, value)
    return value


def id_list(body: dict[str, Any], name: str, *, reason: str) -> list[int] | None:
    """`body[name]` as a list of ids, None when absent; `reason` is the 400's text for a wrong type."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        deny(400, f"{name}: {reason}", name)
    for item in value:
        check_id(name, item)
    return value


def check_id(name: str, value: int) -> None:
    """400 naming `name` when `value` cannot be an id (not within 1..MAX_ID)."""
    if not 1 <= value <= MAX_ID:
        deny(400, f"{name}: {_short(value)} is not an id (1..{MAX_ID})", name)


def _short(value: int) -> str:
    return str(value) if abs(value) < 10**30 else f"a {value.bit_length()}-bit number"
