"""Push links and the field worker's endpoints. The link in the path is the worker's credential."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import flask
import qrcode
import qrcode.image.svg

from console import i18n
from console.auth import Auth, deny
from console.request_body import MAX_ID, json_document, json_object, limit_body, read_body
from dispatch.access import Action
from dispatch.fields import outside_calendar
from services.field_service import MAX_PHOTO_BYTES, FieldInputError, FieldService, LinkError

FIELD_DIR = Path(__file__).resolve().parent / "field"
BASEMAP_FILE = Path(__file__).resolve().parent / "assets" / "basemap" / "monaco_roads.geojson"
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # the form's other fields and boundaries around an 8 MiB photo


def create_blueprint(*, auth: Auth, field: FieldService) -> flask.Blueprint:
    bp = flask.Blueprint("field", __name__)

    # --- the dispatcher issues and revokes links ---

    @bp.post("/api/v1/workers/<int:worker_id>/push-link")
    def issue(worker_id: int) -> tuple[flask.Response, int]:
        actor = auth.require_worker(Action.MANAGE_ORDERS, worker_id)
        body = json_object(optional=True, known=("day", "send"))
        try:
            day = date.fromisoformat(body["day"]) if body.get("day") else field.today()
        except (TypeError, ValueError):
            deny(400, f"day: {body.get('day')!r} is not a date (YYYY-MM-DD)", "day")
        if (why := outside_calendar(day)) is not None:
            deny(400, f"day: {why}", "day")
        try:
            link = field.issue_link(actor=actor, worker_id=worker_id, day=day, send=bool(body.get("send")))
        except ValueError as exc:
            if isinstance(exc, FieldInputError):
                raise
            deny(400, str(exc), str(exc).split(":", 1)[0])
        return flask.jsonify(
            {"worker_id": link.worker_id, "url": link.url, "token": link.token, "expires_at": link.expires_at.isoformat(),
             "qr_svg": qr_svg(link.url)}
        ), 201  # fmt: skip

    @bp.post("/api/v1/workers/<int:worker_id>/push-link/revoke")
    def revoke(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.MANAGE_ORDERS, worker_id)
        return flask.jsonify({"worker_id": worker_id, "version": field.revoke_links(actor=actor, worker_id=worker_id)})

    @bp.get("/api/v1/work-orders/<int:order_id>/field-record")
    def record(order_id: int) -> flask.Response:
        actor = auth.require_order(Action.VIEW_ORDERS, order_id)
        return flask.jsonify(field.field_record(actor=actor, order_id=order_id))

    @bp.get("/api/v1/photos/<int:photo_id>/<any(thumbnail, original, watermarked):size>")
    def photo(photo_id: int, size: str) -> flask.Response:
        actor = auth.require(Action.VIEW_ORDERS)
        found = field.photo_file(photo_id, size)
        if found is None or not auth.photo_in_scope(actor, photo_id):
            deny(404, f"no {size} photo with id {photo_id}")
        path, mimetype = found
        return flask.send_file(path, mimetype=mimetype, max_age=3600)

    # --- the worker's page and its API ---

    @bp.get("/field/<token>")
    def page(token: str) -> Any:
        # A refused link still gets the page (with the refusal's status): it asks /day and shows the reason.
        try:
            field.open(token)
            status = 200
        except LinkError as exc:
            status = exc.status
        return flask.send_file(FIELD_DIR / "index.html", mimetype="text/html", max_age=0), status

    @bp.get("/field/sw.js")
    def service_worker() -> flask.Response:
        response = flask.send_file(FIELD_DIR / "sw.js", mimetype="text/javascript", max_age=0)
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    @bp.get("/field/static/basemap.geojson")
    def basemap() -> flask.Response:
        """The streets under the phone's small map: the wall screen's basemap (OpenStreetMap data, ODbL; the map
        credits it), public like the page itself, no one's data."""
        return flask.send_file(BASEMAP_FILE, mimetype="application/geo+json", max_age=0)

    @bp.get("/field/static/<path:name>")
    def static(name: str) -> flask.Response:
        return flask.send_from_directory(FIELD_DIR, name, max_age=0)

    @bp.get("/api/v1/field/<token>/day")
    def day(token: str) -> flask.Response:
        return flask.jsonify(i18n.with_zone_labels(field.day(field.open(token))))

    @bp.post("/api/v1/field/<token>/actions")
    def actions(token: str) -> flask.Response:
        claims = field.open(token)
        results = field.sync(claims, json_document())
        for result in results:  # an action refused or judged one by one: its words in the phone's language
            for key in ("error", "verdict_reason"):
                if isinstance(result.get(key), str):
                    result[key] = i18n.reason(result[key])
        return flask.jsonify({"results": results})

    @bp.post("/api/v1/field/<token>/photos")
    def photos(token: str) -> tuple[flask.Response, int]:
        limit_body(MAX_PHOTO_BYTES + MULTIPART_OVERHEAD_BYTES)
        claims = field.open(token)
        upload = flask.request.files.get("file")
        if upload is None:
            deny(400, "file: missing (multipart form field 'file')", "file")
        form = flask.request.form
        try:
            order_id = int(form.get("order_id", ""))
        except ValueError:
            deny(400, "order_id: missing or not a whole number", "order_id")
        if not 1 <= order_id <= MAX_ID:
            deny(400, f"order_id: not an id (1..{MAX_ID})", "order_id")
        client_action_id = form.get("client_action_id", "").strip()
        if not client_action_id or len(client_action_id) > 100:
            deny(400, "client_action_id: missing or longer than 100 characters", "client_action_id")
        taken = _taken_at(form.get("taken_at")) or field.now()
        body, created = field.add_photo(
            claims, order_id=order_id, client_action_id=client_action_id,
            data=upload.read(MAX_PHOTO_BYTES + 1), content_type=upload.mimetype or "", taken_at=taken,
        )  # fmt: skip
        return flask.jsonify(body), 201 if created else 200

    @bp.post("/api/v1/field/<token>/positions")
    def positions(token: str) -> flask.Response:
        claims = field.open(token)
        return flask.jsonify(field.report_positions(claims, read_body()))

    return bp


def _taken_at(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        deny(400, f"taken_at: {raw[:60]!r} is not an ISO 8601 time", "taken_at")
    if value.tzinfo is None:
        deny(400, "taken_at: needs a time zone", "taken_at")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        deny(400, f"taken_at: {raw[:60]!r} is beyond the calendar in UTC", "taken_at")


def qr_svg(url: str) -> str:
    """The link as an SVG QR code, for the dispatcher to show on screen."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()
