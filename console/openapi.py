"""The OpenAPI 3.1 description of the HTTP API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
}


def _resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


_ERRORS = {
    "400": _resp("Bad input: `field` names the field and `error` the reason", {"$ref": "#/components/schemas/Error"}),
    "401": _resp("No or invalid bearer token", {"$ref": "#/components/schemas/Error"}),
    "403": _resp("The caller's role may not do this", {"$ref": "#/components/schemas/Error"}),
}
_NOT_STORED = _resp(
    "The database could not store the request (nothing of it was stored): retry after `Retry-After` seconds",
    {"$ref": "#/components/schemas/Error"},
)
_ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_WORKER_ID = {"name": "worker_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the push link's token",
}
_LINK_ERRORS = {
    "401": _resp("The link is not valid (tampered)", {"$ref": "#/components/schemas/Error"}),
    "410": _resp("The link expired or was revoked", {"$ref": "#/components/schemas/Error"}),
}
_PLAN_ID = {"name": "plan_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_JSON_BODY = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Outfield API",
        "version": "1",
        "description": "Field-service dispatch: positions, workers, work orders. Times are ISO 8601 with their offset "
        "(answered in UTC). An error's `error` is English unless the request sends `Accept-Language: zh-CN`; its "
        "`field` is the same in every language. A key a route does not know in a JSON object body is a 400 naming it "
        "and listing the route's keys (a misspelt optional field is never dropped quietly); the push-link page's "
        "actions, positions, reminders and push subscription and the trackers' batches let unknown keys pass.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": _ERROR,
            "Position": {
                "type": "object",
                "required": ["latitude", "longitude", "fix_time", "speed_mps", "accuracy_m"],
                "properties": {
                    "latitude": {"type": "number"},
                    "longitude": {"type": "number"},
                    "fix_time": {"type": "string", "format": "date-time"},
                    "speed_mps": {"type": ["number", "null"]},
                    "accuracy_m": {"type": ["number", "null"]},
                    "bearing_deg": {"type": ["number", "null"]},
                    "battery_pct": {"type": ["number", "null"]},
                },
            },  # fmt: skip
            "NewOrder": {
                "type": "object",
                "required": ["site_id", "window_start", "window_end"],
                "description": "A key not listed here is not read; the answer lists such keys as `ignored`.",
                "properties": {
                    "site_id": {"type": "integer"},
                    "type": {"enum": ["visit", "repair", "inspection", "delivery", "emergency"]},
                    "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                    "required_skills": {"type": "array", "items": {"type": "string"}},
                    "window_start": {"type": "string", "format": "date-time"},
                    "window_end": {"type": "string", "format": "date-time"},
                    "service_minutes": {"type": "integer"},
                    "service_duration_s": {"type": "integer"},
                    "notes": {"type": "string"},
                    "reference": {"type": "string"},
                },
            },  # fmt: skip
            "Order": {
                "type": "object",
                "required": ["id", "status", "assigned_worker_id"],
                "properties": {
                    "id": {"type": "integer"},
                    "status": {"type": "string"},
                    "assigned_worker_id": {"type": ["integer", "null"]},
                    "site_id": {"type": "integer"},
                    "type": {"type": "string"},
                    "priority": {"type": "integer"},
                    "dispatch": {
                        "type": "object",
                        "description": "how the order was dispatched at creation (auto/manual/none)",
                    },
                },
            },  # fmt: skip
            "Candidates": {
                "type": "object",
                "properties": {
                    "candidates": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "rank": {"type": "integer"},
                                "worker_id": {"type": "integer"},
                                "name": {"type": "string"},
                                "eta_s": {"type": "number"},
                                "score_s": {"type": "number"},
                            },
                        },
                    },
                    "excluded": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "worker_id": {"type": "integer"},
                                "reason": {"type": "string"},
                                "kind": {"type": "string"},
                            },
                        },
                    },
                },
            },  # fmt: skip
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/osmand": {
            method: {
                "summary": "A position from Traccar Client / OsmAnd (query string, form or JSON body of at most 64 KiB); the device id is the credential",
                "security": [],
                "responses": {
                    "200": _resp("Stored, or a resend of a stored fix, or taken off shift (empty body)"),
                    "400": _ERRORS["400"],
                    "503": _NOT_STORED,
                },
            }
            for method in ("get", "post", "put")
        },
        "/api/v1/positions": {
            "post": {
                "summary": "Many positions at once (JSON array of OsmAnd-style objects)",
                "requestBody": _JSON_BODY,
                "responses": {
                    "200": _resp("Per-item outcome: accepted count, rejected items by index"),
                    **_ERRORS,
                    "503": _NOT_STORED,
                },
            }
        },
        "/api/v1/workers/{worker_id}/positions": {
            "get": {
                "summary": "A worker's stored positions between `from` and `to` (ISO 8601 with zone); audited",
                "parameters": [
                    {"name": "worker_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                ],
                "responses": {
                    "200": _resp(
                        "Positions by fix time", {"type": "array", "items": {"$ref": "#/components/schemas/Position"}}
                    ),
                    "404": _resp("No such worker"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/work-orders": {
            "post": {
                "summary": "Create a work order; auto-dispatched types are assigned at once",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewOrder"}}},
                },
                "responses": {
                    "201": _resp("The order", {"$ref": "#/components/schemas/Order"}),
                    "404": _resp("Unknown site"),
                    "409": _resp(
                        "Another order has this `reference` (nothing stored)", {"$ref": "#/components/schemas/Error"}
                    ),
                    **_ERRORS,
                },
            },
            "get": {
                "summary": "Orders, optionally filtered by `status` (comma-separated)",
                "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _resp("Orders"), **_ERRORS},
            },
        },
        "/api/v1/work-orders/{order_id}": {
            "get": {
                "summary": "One order with its status history",
                "parameters": [_ORDER_ID],
                "responses": {"200": _resp("The order"), "404": _resp("No such order"), **_ERRORS},
            },
        },  # fmt: skip
        "/api/v1/work-orders/{order_id}/candidates": {
            "get": {
                "summary": "Ranked candidates with ETA and score; excluded workers with the reason",
                "parameters": [_ORDER_ID],
                "responses": {
                    "200": _resp("Ranking", {"$ref": "#/components/schemas/Candidates"}),
                    "404": _resp("No such order"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/work-orders/batch-assign": {
            "post": {
                "summary": "Assign all new orders (or `order_ids`) at once: optimal total travel, same rules as one at a time",
                "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": _resp("Assigned pairs, orders left with reasons, total travel"),
                    "404": _resp("An order is not new"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/plans": {
            "post": {
                "summary": "Start a route optimisation (JSON: date (the office's local day: its orders and shifts), worker_ids, order_ids, seconds, minimise: time|distance|mix, balance_workload); returns its id at once",
                "requestBody": _JSON_BODY,
                "responses": {"202": _resp("Queued: {id, status}"), **_ERRORS},
            }
        },
        "/api/v1/plans/{plan_id}": {
            "get": {
                "summary": "Status (queued, running, done, stopped, failed, interrupted), progress (best cost, elapsed) and, when done, the plan",
                "parameters": [_PLAN_ID],
                "responses": {"200": _resp("The plan job"), "404": _resp("No such plan"), **_ERRORS},
            }
        },
        "/api/v1/plans/{plan_id}/stop": {
            "post": {
                "summary": "Stop a queued or running optimisation early; it keeps the best plan found so far",
                "parameters": [_PLAN_ID],
                "responses": {"200": _resp("{id, stopping}"), "404": _resp("No such plan"), **_ERRORS},
            }
        },
        "/api/v1/plans/{plan_id}/move": {
            "post": {
                "summary": "A new draft with `order_id` moved to `worker_id`, both routes re-timed, and the rules it breaks",
                "parameters": [_PLAN_ID],
                "requestBody": _JSON_BODY,
                "responses": {
                    "201": _resp("{id, edited_from, plan, violations}"),
                    "404": _resp("No such plan"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/plans/{plan_id}/compare": {
            "get": {
                "summary": "What publishing this plan changes against its day's published plan: moved, re-timed, added, dropped visits and who gains or loses",
                "parameters": [_PLAN_ID],
                "responses": {
                    "200": _resp(
                        "{published_id, moved, retimed, added, dropped, workers, summary}; published_id null when nothing is published"
                    ),
                    "404": _resp("No such plan"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/plans/{plan_id}/publish": {
            "post": {
                "summary": "Publish a finished plan: each order is assigned to its planned worker and the push-link pages follow the route",
                "parameters": [_PLAN_ID],
                "responses": {
                    "200": _resp("{id, published, assigned, kept}"),
                    "404": _resp("No such plan"),
                    "409": _resp("The plan checker found broken rules: {error, field, violations}"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/plans/{plan_id}/replan": {
            "post": {
                "summary": "Re-optimise the rest of a published day (JSON: seconds); work under way stays pinned; returns the new draft's id",
                "parameters": [_PLAN_ID],
                "requestBody": _JSON_BODY,
                "responses": {"202": _resp("Queued: {id, status, replan_of}"), "404": _resp("No such plan"), **_ERRORS},
            }
        },
        "/api/v1/live": {
            "get": {
                "summary": "The live map's snapshot: workers (with their last position) and open orders as GeoJSON",
                "responses": {"200": _resp("{workers, orders}"), **_ERRORS},
            }
        },
        "/api/v1/openapi.json": {
            "get": {"summary": "This document", "security": [], "responses": {"200": _resp("OpenAPI 3.1")}}
        },
        "/api/v1/workers/{worker_id}/push-link": {
            "post": {
                "summary": "A signed link to the worker's day (JSON, optional: day YYYY-MM-DD, send: true to hand it to the webhook), with a QR code",
                "parameters": [_WORKER_ID],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"201": _resp("{worker_id, url, token, expires_at, qr_svg}"), **_ERRORS},
            }
        },
        "/api/v1/workers/{worker_id}/push-link/revoke": {
            "post": {
                "summary": "Every link issued so far for the worker stops working at once",
                "parameters": [_WORKER_ID],
                "responses": {"200": _resp("{worker_id, version}"), **_ERRORS},
            }
        },
        "/api/v1/work-orders/{order_id}/field-record": {
            "get": {
                "summary": "What the field sent for an order: check-ins with verdicts, confidence (0-100) with reasons [{code, points_lost, text}] and review {status, note, by, at}; photos with thumbnail/original/watermarked URLs; the service report; review decisions (audited)",
                "parameters": [_ORDER_ID],
                "responses": {
                    "200": _resp(
                        "The record",
                        {
                            "type": "object",
                            "required": ["order_id", "checkins", "photos", "report"],
                            "properties": {
                                "order_id": {"type": "integer"},
                                "checkins": {"type": "array"},
                                "photos": {"type": "array"},
                                "report": {"type": ["object", "null"]},
                            },
                        },
                    ),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/photos/{photo_id}/{size}": {
            "get": {
                "summary": "A photo from the field as sent (original), its JPEG thumbnail, or the server's stamped copy (watermarked: time on the worker's or the office's clock with its zone, site, worker)",
                "parameters": [
                    {"name": "photo_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {
                        "name": "size",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["thumbnail", "original", "watermarked"]},
                    },
                ],
                "responses": {"200": _resp("The image"), "404": _resp("No such photo"), **_ERRORS},
            }
        },
        "/api/v1/checkins/review": {
            "get": {
                "summary": "Check-ins for managers to review: pending (scored under the threshold, lowest first), approved, rejected or all; with score, reasons, order, site, worker and photo URLs (managers and admins; audited)",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["pending", "approved", "rejected", "all"], "default": "pending"},
                    },
                ],
                "responses": {"200": _resp("{status, threshold, checkins}"), **_ERRORS},
            }
        },
        "/api/v1/checkins/{checkin_id}/review": {
            "post": {
                "summary": "Approve or reject a check-in waiting for review ({decision: approve|reject, note}; the note is required to reject); kept with who and when, in the order's field record and the audit log (managers and admins)",
                "parameters": [{"name": "checkin_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": _JSON_BODY,
                "responses": {
                    "200": _resp("The check-in with its review"),
                    "404": _resp("No such check-in", {"$ref": "#/components/schemas/Error"}),
                    "409": _resp(
                        "Already decided, or it never needed review (scored at or above the threshold)",
                        {"$ref": "#/components/schemas/Error"},
                    ),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/forms": {
            "get": {
                "summary": "Service-report forms, every version, by order type then newest first (office roles); each {id, order_type, version, name, needs_approval, fields: [{id, label, type: text|number|choice|checkbox|photo|signature, required, choices?, min?, max?}], created_at}",
                "parameters": [
                    {
                        "name": "order_type",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["visit", "repair", "inspection", "delivery", "emergency"]},
                    }
                ],
                "responses": {"200": _resp("{forms}"), **_ERRORS},
            },
            "post": {
                "summary": "Save a form as the next version of its order type ({order_type, name, needs_approval?, fields}); reports keep the version they were filled with (managers and admins; audited). 400 names the field, e.g. fields[2].choices",
                "requestBody": _JSON_BODY,
                "responses": {"201": _resp("The stored version"), **_ERRORS},
            },
        },
        "/api/v1/forms/{form_id}": {
            "get": {
                "summary": "One form version",
                "parameters": [{"name": "form_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": _resp("The form version"),
                    "404": _resp("No such form", {"$ref": "#/components/schemas/Error"}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/service-reports/pending": {
            "get": {
                "summary": "Service reports waiting for a manager's approval, oldest first, with order, site, worker, form version, answers, photo URLs and the report's steps (managers and admins; audited)",
                "responses": {"200": _resp("{reports}"), **_ERRORS},
            }
        },
        "/api/v1/orders/{order_id}/report/review": {
            "post": {
                "summary": "Approve or return the order's report waiting for approval ({decision: approve|return, note}; the note is required to return); an order event with who and when, audited (managers and admins)",
                "parameters": [_ORDER_ID],
                "requestBody": _JSON_BODY,
                "responses": {
                    "200": _resp("{order_id, report_id, status, note, by, at}"),
                    "404": _resp("No such order", {"$ref": "#/components/schemas/Error"}),
                    "409": _resp("No report waiting for approval", {"$ref": "#/components/schemas/Error"}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/field/{token}/day": {
            "get": {
                "summary": "The worker's orders of the link's day in route order (the push-link page's data), each with its order type's current form, its report (status, a returned report's note) and the report's steps",
                "security": [],
                "parameters": [_TOKEN],
                "responses": {"200": _resp("{worker, day, expires_at, orders}"), **_LINK_ERRORS},
            }
        },
        "/api/v1/field/{token}/actions": {
            "post": {
                "summary": "The phone's queued actions ({actions: [{client_action_id, order_id, action, at, location?: {lat, lon, accuracy_m, at?, mock?}, report?: {text, parts, signed_by, signature?, form_id, form_version, answers}}], sent_at?: the phone's clock at upload}); one result per action (a check-in's with its verdict and confidence), replays harmless",
                "security": [],
                "parameters": [_TOKEN],
                "requestBody": _JSON_BODY,
                "responses": {"200": _resp("{results}"), "400": _ERRORS["400"], **_LINK_ERRORS},
            }
        },
        "/api/v1/field/{token}/photos": {
            "post": {
                "summary": "A photo of an order's site (multipart: file, order_id, client_action_id, taken_at); at most 8 MiB and 40 MP",
                "security": [],
                "parameters": [_TOKEN],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file", "order_id", "client_action_id"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "order_id": {"type": "integer"},
                                    "client_action_id": {"type": "string"},
                                    "taken_at": {"type": "string", "format": "date-time"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _resp("Stored"),
                    "200": _resp("Already stored (a replay)"),
                    "400": _ERRORS["400"],
                    **_LINK_ERRORS,
                },
            }  # fmt: skip
        },
        "/api/v1/field/{token}/positions": {
            "post": {
                "summary": "Positions from the open push-link page (with the worker's consent), as the batch endpoint takes them",
                "security": [],
                "parameters": [_TOKEN],
                "requestBody": _JSON_BODY,
                "responses": {"200": _resp("{accepted, received}"), "400": _ERRORS["400"], **_LINK_ERRORS},
            }
        },
        "/api/v1/who-is-near": {
            "get": {
                "summary": "The n nearest available workers (on shift, with the skills) to a point, with ETAs",
                "parameters": [
                    {"name": "lat", "in": "query", "required": True, "schema": {"type": "number"}},
                    {"name": "lon", "in": "query", "required": True, "schema": {"type": "number"}},
                    {"name": "n", "in": "query", "schema": {"type": "integer", "default": 5}},
                    {"name": "skills", "in": "query", "schema": {"type": "string"}, "description": "comma-separated"},
                ],
                "responses": {"200": _resp("Workers nearest first"), **_ERRORS},
            }
        },
        "/api/v1/work-orders/{order_id}/assign": {
            "post": {
                "summary": "Assign to `worker_id`; choosing another than the top candidate needs a `reason` (logged)",
                "parameters": [_ORDER_ID],
                "requestBody": _JSON_BODY,
                "responses": {
                    "200": _resp("The order"),
                    "404": _resp("No such order or worker"),
                    "409": _resp("Refused: illegal transition or override without reason"),
                    **_ERRORS,
                },
            }
        },  # fmt: skip
        "/api/v1/work-orders/{order_id}/status": {
            "post": {
                "summary": "Move an order through its lifecycle (`status`, `reason` for declined/failed)",
                "parameters": [_ORDER_ID],
                "requestBody": _JSON_BODY,
                "responses": {
                    "200": _resp("The order"),
                    "404": _resp("No such order"),
                    "409": _resp("Illegal transition"),
                    **_ERRORS,
                },
            }
        },
    },
}

# A worker's history: stops, trips and the raw track (console/api_tracks.py).
_WORKER_RANGE = [
    {"name": "worker_id", "in": "path", "required": True, "schema": {"type": "integer"}},
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "default: `to` − 24 h"},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "default: now; at most 31 days after `from`"},
]  # fmt: skip
OPENAPI["components"]["schemas"].update(
    {
        "Stop": {
            "type": "object",
            "required": ["start", "end", "latitude", "longitude", "duration_s"],
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "latitude": {"type": "number"},
                "longitude": {"type": "number"},
                "duration_s": {"type": "number"},
            },
        },
        "Trip": {
            "type": "object",
            "required": ["start", "end", "distance_m", "duration_s"],
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "distance_m": {"type": "number"},
                "duration_s": {"type": "number"},
            },
        },
    }
)
OPENAPI["paths"].update(
    {
        "/api/v1/workers/{worker_id}/stops": {
            "get": {
                "summary": "Where the worker stayed within 100 m for 5 minutes or more, from the filtered fixes of the range; audited",
                "parameters": _WORKER_RANGE,
                "responses": {
                    "200": _resp("Stops by time", {"type": "array", "items": {"$ref": "#/components/schemas/Stop"}}),
                    "404": _resp("No such worker"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/workers/{worker_id}/trips": {
            "get": {
                "summary": "The movements between the stops of the range: distance along the filtered track and duration; audited",
                "parameters": _WORKER_RANGE,
                "responses": {
                    "200": _resp("Trips by time", {"type": "array", "items": {"$ref": "#/components/schemas/Trip"}}),
                    "404": _resp("No such worker"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/workers/{worker_id}/track.gpx": {
            "get": {
                "summary": "Every stored fix of the range as GPX 1.1 (one track, times in UTC); audited",
                "parameters": _WORKER_RANGE,
                "responses": {
                    "200": {
                        "description": "GPX 1.1",
                        "content": {"application/gpx+xml": {"schema": {"type": "string"}}},
                    },
                    "404": _resp("No such worker"),
                    **_ERRORS,
                },
            }
        },
    }
)

# A worker's day against its published plan, and the track as GeoJSON (console/api_day.py, console/api_tracks.py).
_TIME = {"type": "string", "format": "date-time"}
_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
_SOURCE = {"type": ["string", "null"], "enum": ["check-in", "check-out", "geofence", None]}
OPENAPI["components"]["schemas"].update(
    {
        "PlannedVisitActual": {
            "type": "object",
            "required": ["order_id", "seq", "site_id", "site_name", "window_start", "window_end", "planned_arrival",
                         "planned_start", "planned_departure", "actual_arrival", "arrival_source", "actual_departure",
                         "departure_source", "status", "late_by_window_s", "vs_plan_s"],
            "properties": {
                "order_id": {"type": "integer"}, "seq": {"type": "integer"}, "site_id": {"type": "integer"},
                "site_name": {"type": "string"}, "window_start": _TIME, "window_end": _TIME,
                "planned_arrival": _TIME, "planned_departure": _TIME,
                "planned_start": {**_TIME, "description": "when the plan has the visit begin: the planned arrival, or"
                                  " when the window opens if the plan has the worker wait for it"},
                "actual_arrival": _MAYBE_TIME, "arrival_source": _SOURCE,
                "actual_departure": _MAYBE_TIME, "departure_source": _SOURCE,
                "status": {"type": "string", "enum": ["on_time", "late", "missed", "pending"]},
                "late_by_window_s": {"type": ["number", "null"], "description": "seconds after the window closed"},
                "vs_plan_s": {"type": ["number", "null"], "description": "arrival minus planned_start (negative: early)"},
            },
        },
        "PlanVersusActual": {
            "type": "object",
            "required": ["worker_id", "date", "has_plan", "plan_id", "visits", "missed", "late", "unplanned_stops",
                         "planned_distance_m", "actual_distance_m"],
            "properties": {
                "worker_id": {"type": "integer"},
                "date": {"type": "string", "format": "date"},
                "has_plan": {"type": "boolean", "description": "false: nothing published that day (no visits, planned_distance_m null)"},
                "plan_id": {"type": ["integer", "null"]},
                "visits": {"type": "array", "items": {"$ref": "#/components/schemas/PlannedVisitActual"}},
                "missed": {"type": "array", "items": {"type": "integer"}, "description": "order ids"},
                "late": {"type": "array", "items": {"type": "integer"}, "description": "order ids"},
                "unplanned_stops": {"type": "array", "items": {"$ref": "#/components/schemas/Stop"}},
                "planned_distance_m": {"type": ["number", "null"]},
                "actual_distance_m": {"type": "number"},
            },
        },
    }
)  # fmt: skip
OPENAPI["paths"].update(
    {
        "/api/v1/workers/{worker_id}/plan-vs-actual": {
            "get": {
                "summary": "A local day's published route of the worker against what happened: per visit planned and actual"
                " arrival and departure (check-in, else geofence from the track), on time / late / missed / pending,"
                " unplanned stops, planned and driven distance; audited",
                "parameters": [
                    _WORKER_ID,
                    {"name": "date", "in": "query", "required": True, "schema": {"type": "string", "format": "date"},
                     "description": "the local day (the worker's own zone, else OUTFIELD_TIMEZONE), YYYY-MM-DD"},
                ],
                "responses": {
                    "200": _resp("The day compared (has_plan false when nothing was published)",
                                 {"$ref": "#/components/schemas/PlanVersusActual"}),
                    "404": _resp("No such worker"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/workers/{worker_id}/track.geojson": {
            "get": {
                "summary": "The range's filtered track (LineString), stops (Points) and trips (LineStrings) as a GeoJSON"
                " FeatureCollection; audited",
                "parameters": _WORKER_RANGE,
                "responses": {
                    "200": {
                        "description": "GeoJSON (RFC 7946)",
                        "content": {"application/geo+json": {"schema": {"type": "object"}}},
                    },
                    "404": _resp("No such worker"),
                    **_ERRORS,
                },
            }
        },
    }
)  # fmt: skip

# Geofence events and alerts (console/api_alerts.py): a contract other tools rely on.
OPENAPI["components"]["schemas"].update(
    {
        "GeofenceEvent": {
            "type": "object",
            "required": ["type", "site_id", "at"],
            "properties": {
                "type": {"type": "string", "enum": ["enter", "exit"]},
                "site_id": {"type": "integer"},
                "at": {"type": "string", "format": "date-time", "description": "the fix time of the crossing"},
            },
        },
        "Alert": {
            "type": "object",
            "required": ["id", "kind", "worker_id", "order_id", "raised_at", "reason", "status"],
            "properties": {
                "id": {"type": "integer"},
                "kind": {
                    "type": "string",
                    "enum": [
                        "sos",
                        "mock_location",
                        "impossible_jump",
                        "low_battery",
                        "offline",
                        "late_risk",
                        "off_route",
                        "long_stop",
                        "suspicious_check_in",
                        "left_site_without_check_out",
                    ],
                },  # fmt: skip
                "worker_id": {"type": ["integer", "null"]},
                "order_id": {"type": ["integer", "null"]},
                "raised_at": {"type": "string", "format": "date-time"},
                "reason": {"type": "string"},
                "status": {"type": "string", "enum": ["open", "acknowledged", "cleared"]},
                "severity": {"type": "integer", "description": "1 = most severe"},
                "note": {"type": "string", "description": "the acknowledgement's note"},
                "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
    }
)
OPENAPI["paths"].update(
    {
        "/api/v1/workers/{worker_id}/events": {
            "get": {
                "summary": "The worker's geofence enter/exit events of the range (after the dwell), by fix time; audited",
                "parameters": _WORKER_RANGE,
                "responses": {
                    "200": _resp(
                        "Events by time", {"type": "array", "items": {"$ref": "#/components/schemas/GeofenceEvent"}}
                    ),
                    "404": _resp("No such worker", {"$ref": "#/components/schemas/Error"}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/alerts": {
            "get": {
                "summary": "Alerts, newest first (a field worker: their own only)",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["open", "acknowledged", "all"]},
                        "description": "default: open",
                    },
                    {"name": "worker_id", "in": "query", "schema": {"type": "integer"}},
                ],  # fmt: skip
                "responses": {
                    "200": _resp("Alerts", {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/alerts/{alert_id}/ack": {
            "post": {
                "summary": "Acknowledge an open alert with a note (dispatchers and admins); pushed to every console",
                "parameters": [{"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["note"],
                                "description": "A key other than note is not read; the answer lists it as `ignored`.",
                                "properties": {"note": {"type": "string", "minLength": 1, "maxLength": 2000}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _resp("The alert, acknowledged", {"$ref": "#/components/schemas/Alert"}),
                    "404": _resp("No such alert", {"$ref": "#/components/schemas/Error"}),
                    **_ERRORS,
                },
            }
        },
    }
)
# Order history and managers' reports (console/api_reports.py).
_PERIOD = [
    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}, "description": "first day (ISO date)"},
    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}, "description": "last day, included; at most 366 days from `from`"},
]  # fmt: skip
_GROUP = {
    "name": "group",
    "in": "query",
    "schema": {"enum": ["worker", "team", "organisation", "type"], "default": "team"},
}
_FORMAT = {"name": "format", "in": "query", "schema": {"enum": ["json", "csv", "xlsx"], "default": "json"}}


def _table(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string"}},
        },
    }


OPENAPI["paths"].update(
    {
        "/api/v1/reports": {
            "get": {
                "summary": "The managers' reports: name, description and figures (managers and admins)",
                "responses": {"200": _resp("Report names", {"type": "array", "items": {"type": "object"}}), **_ERRORS},
            }
        },
        "/api/v1/reports/{name}": {
            "get": {
                "summary": "A report over a period per worker, team, order type or the organisation, as JSON, CSV or XLSX; audited",
                "description": "JSON gives `total` rows, `per_page` of them (`page` 1 first); CSV and XLSX hold every row.",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    *_PERIOD,
                    _GROUP,
                    _FORMAT,
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}},
                    {
                        "name": "per_page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
                    },
                ],
                "responses": {"200": _table("The report's rows"), "404": _resp("No such report"), **_ERRORS},
            }
        },
        "/api/v1/reports/orders": {
            "get": {
                "summary": "The orders behind one figure of one row (`wrong=1`: only those that went wrong for it)",
                "parameters": [
                    *_PERIOD,
                    _GROUP,
                    {
                        "name": "key",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "worker id, team, or all",
                    },
                    {"name": "figure", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "wrong", "in": "query", "schema": {"enum": ["0", "1"]}},
                ],
                "responses": {"200": _resp("The orders", {"type": "object"}), **_ERRORS},
            }
        },
        "/api/v1/orders/history": {
            "get": {
                "summary": "Every order of a period, finished ones included, filtered, paged (latest window first), exportable",
                "parameters": [
                    *_PERIOD,
                    {"name": "worker_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "team", "in": "query", "schema": {"type": "string"}},
                    {"name": "site_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "customer", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "comma-separated statuses",
                    },
                    {
                        "name": "type",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "comma-separated order types",
                    },
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "text in the reference, notes, site name or address",
                    },
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    _FORMAT,
                ],
                "responses": {"200": _table("`total`, `page`, `per_page` and the page's `orders`"), **_ERRORS},
            }
        },
        "/api/v1/orders/{order_id}/record": {
            "get": {
                "summary": "An order's whole record: timeline (who, when, where), check-ins, photos, report, the visit's track (audited)",
                "parameters": [_ORDER_ID],
                "responses": {"200": _resp("The record", {"type": "object"}), "404": _resp("No such order"), **_ERRORS},
            }
        },
        "/api/v1/work-orders/{order_id}/signature": {
            "get": {
                "summary": "The customer's signature on the order's latest service report (PNG; audited)",
                "parameters": [_ORDER_ID],
                "responses": {
                    "200": {"description": "PNG", "content": {"image/png": {"schema": {"type": "string"}}}},
                    "404": _resp("No such order or no signature"),
                    **_ERRORS,
                },
            }
        },
    }
)

# The customer's link and survey, and outgoing webhooks (console/api_customer.py).
_CUSTOMER_TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the customer link's token",
}
_CUSTOMER_LINK_ERRORS = {
    "404": _resp("The link is not one we issued", {"$ref": "#/components/schemas/Error"}),
    "410": _resp("The link expired or was revoked, or its order is gone", {"$ref": "#/components/schemas/Error"}),
}
_WEBHOOK_ID = {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "integer"}}
OPENAPI["paths"].update(
    {
        "/api/v1/work-orders/{order_id}/customer-link": {
            "post": {
                "summary": "A link for the order's customer ({send?: bool} sends it through OUTFIELD_LINK_WEBHOOK); audited",
                "parameters": [_ORDER_ID],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {"send": {"type": "boolean"}}}}}},
                "responses": {
                    "201": _resp("The link", {"type": "object", "required": ["url", "token", "expires_at"],
                                              "properties": {"order_id": {"type": "integer"}, "url": {"type": "string"},
                                                             "token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}}),
                    "404": _resp("No such order"),
                    "409": _resp("The order is cancelled"),
                    "502": _resp("The notification hook failed", {"$ref": "#/components/schemas/Error"}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/work-orders/{order_id}/customer-link/revoke": {
            "post": {
                "summary": "Every customer link of the order stops working at once",
                "parameters": [_ORDER_ID],
                "responses": {"200": _resp("{order_id, revoked}"), "404": _resp("No such order"), **_ERRORS},
            }
        },
        "/api/v1/track/{token}": {
            "get": {
                "summary": "The customer's view: status, the worker's first name, and only while en route to this order the position and ETA (audited)",
                "security": [],
                "parameters": [_CUSTOMER_TOKEN],
                "responses": {
                    "200": _resp("The view", {"type": "object", "required": ["status", "position", "eta", "survey"],
                                              "properties": {"status": {"type": "string"},
                                                             "worker_first_name": {"type": ["string", "null"]},
                                                             "position": {"type": ["object", "null"]},
                                                             "eta": {"type": ["object", "null"]},
                                                             "survey": {"type": "object"}}}),
                    **_CUSTOMER_LINK_ERRORS,
                },
            }
        },
        "/api/v1/track/{token}/survey": {
            "post": {
                "summary": "The customer's rating of a done visit ({rating: 1..5, comment?: at most 1000 characters}), once per order",
                "security": [],
                "parameters": [_CUSTOMER_TOKEN],
                "requestBody": _JSON_BODY,
                "responses": {
                    "201": _resp("{order_id, rating, comment, alert_id}"),
                    "409": _resp("Already rated, or the visit is not done yet"),
                    **_CUSTOMER_LINK_ERRORS,
                },
            }
        },
        "/api/v1/webhooks": {
            "post": {
                "summary": "An outgoing webhook ({url: http(s), not link-local; events: [order.status_changed, checkin.recorded, alert.raised, late_entry.recorded, timesheet.approved, survey.answered, report.delivered]; secret: 16-200 characters}); admin only",
                "requestBody": _JSON_BODY,
                "responses": {"201": _resp("{id, url, events, created_at} (never the secret)"), **_ERRORS},
            },
            "get": {
                "summary": "The current webhooks (never their secrets); admin only",
                "responses": {"200": _resp("[{id, url, events, created_at}]", {"type": "array"}), **_ERRORS},
            },
        },
        "/api/v1/webhooks/{webhook_id}": {
            "delete": {
                "summary": "Stop a webhook (its delivery log is kept; pending deliveries are given up)",
                "parameters": [_WEBHOOK_ID],
                "responses": {"204": {"description": "Deleted"}, "404": _resp("No such webhook"), **_ERRORS},
            }
        },
        "/api/v1/webhooks/{webhook_id}/deliveries": {
            "get": {
                "summary": "The webhook's delivery log, newest first: status, attempts, last response code, next attempt",
                "parameters": [_WEBHOOK_ID],
                "responses": {"200": _resp("[{id, event_id, event_type, status, attempts, last_status_code, ...}]", {"type": "array"}),
                              "404": _resp("No such webhook"), **_ERRORS},
            }
        },
        "/api/v1/webhook-deliveries/{delivery_id}/replay": {
            "post": {
                "summary": "Send a logged delivery again (same event id and body)",
                "parameters": [{"name": "delivery_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"202": _resp("The delivery, pending again"), "404": _resp("No such delivery"), **_ERRORS},
            }
        },
    }
)  # fmt: skip


# Attendance and hours (console/api_attendance.py, issue #14).
_ENTRY_ID = {"name": "entry_id", "in": "path", "required": True, "schema": {"type": "integer"}}
OPENAPI["paths"].update(
    {
        "/api/v1/field/{token}/attendance": {
            "get": {
                "summary": "The worker's attendance on the push link: clock policy (required|optional|off), today's clock events, late entries of the last week with their decisions, the day's report or its prefill from the day's visits",
                "parameters": [_TOKEN],
                "responses": {"200": _resp("{clock_in, clock_events, clocked_in, late_entries, day_report, day_report_prefill}"), **_LINK_ERRORS},
            }
        },
        "/api/v1/field/{token}/reminders": {
            "post": {
                "summary": "The worker's reminder switch ({enabled: true|false}; on by default)",
                "parameters": [_TOKEN],
                "requestBody": _JSON_BODY,
                "responses": {"200": _resp("{reminders_enabled}"), **_LINK_ERRORS},
            }
        },
        "/api/v1/field/{token}/push-key": {
            "get": {
                "summary": "The server's VAPID public key (made once) for the page's Web Push subscription",
                "parameters": [_TOKEN],
                "responses": {"200": _resp("{public_key}"), **_LINK_ERRORS},
            }
        },
        "/api/v1/field/{token}/push-subscription": {
            "post": {
                "summary": "Keep the phone's Web Push subscription ({endpoint: https URL, keys: {p256dh, auth}, language: en|zh_CN, the page's, which its notifications are written in}) for reminders",
                "parameters": [_TOKEN],
                "requestBody": _JSON_BODY,
                "responses": {"201": _resp("New"), "200": _resp("Known already"), **_LINK_ERRORS},
            }
        },
        "/api/v1/late-entries": {
            "get": {
                "summary": "Late entries (missed check-ins/outs entered afterwards with the real time and a reason) for managers: pending (oldest first), approved, rejected or all (managers and admins)",
                "parameters": [{"name": "status", "in": "query", "schema": {"enum": ["pending", "approved", "rejected", "all"], "default": "pending"}}],
                "responses": {"200": _resp("{status, late_entries}"), **_ERRORS},
            }
        },
        "/api/v1/late-entries/{entry_id}": {
            "get": {
                "summary": "One late entry with its site and the worker's track 30 min either side of its time (managers and admins; audited)",
                "parameters": [_ENTRY_ID],
                "responses": {"200": _resp("The entry, {site, track}"), "404": _resp("No such late entry"), **_ERRORS},
            }
        },
        "/api/v1/late-entries/{entry_id}/decision": {
            "post": {
                "summary": "Approve or reject a pending late entry ({decision: approve|reject, note}; the note is required to reject); only an approved one counts for hours; emits late_entry.decided (managers and admins; audited)",
                "parameters": [_ENTRY_ID],
                "requestBody": _JSON_BODY,
                "responses": {"200": _resp("The entry with its decision"), "404": _resp("No such late entry"),
                              "409": _resp("Decided already", {"$ref": "#/components/schemas/Error"}), **_ERRORS},
            }
        },
        "/api/v1/day-reports": {
            "get": {
                "summary": "Workers' day reports of a period (what was done, problems, km, notes), by team and worker (managers and admins)",
                "parameters": [*_PERIOD, {"name": "team", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _resp("{from, to, team, day_reports}"), **_ERRORS},
            }
        },
        "/api/v1/timesheets": {
            "get": {
                "summary": "Hours per worker and local day (the worker's own zone, else the office's; `from`/`to` name local days) (planned, worked, on site, travel, breaks, overtime, late start, early leave, missing clock-out; minutes) with their approval, as JSON, CSV or XLSX (managers and admins); at most 62 days",
                "parameters": [*_PERIOD, _FORMAT, {"name": "worker_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                               {"name": "team", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _table("{from, to, rows}"), "404": _resp("No such worker"), **_ERRORS},
            }
        },
        "/api/v1/timesheets/approve": {
            "post": {
                "summary": "Approve one worker's day ({worker_id, day}) once it is over and no late entry of it waits; the figures are kept; emits timesheet.approved (managers and admins; audited)",
                "requestBody": _JSON_BODY,
                "responses": {"201": _resp("The approved row"), "404": _resp("No such worker"),
                              "409": _resp("Approved already, or late entries wait", {"$ref": "#/components/schemas/Error"}), **_ERRORS},
            }
        },
    }
)  # fmt: skip


# Administration: workers, leave, sites, users, teams and the audit log (console/api_admin.py).
_CONFLICT = _resp(
    "The value is held by another record, or the change is one you may not make to yourself",
    {"$ref": "#/components/schemas/Error"},
)
_TOO_LARGE = _resp("The body is larger than the route takes")
_POINT = {
    "type": "object",
    "required": ["lat", "lon"],
    "properties": {
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
    },
}
_ROAD_ROUTE = {
    "type": "object",
    "required": ["points", "duration_s", "distance_m", "on_roads"],
    "properties": {
        "points": {
            "type": "array",
            "minItems": 2,
            "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        },
        "duration_s": {"type": "number", "minimum": 0},
        "distance_m": {"type": "number", "minimum": 0},
        "on_roads": {"type": "boolean"},
    },
}
_WORKER_BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "device_id": {"type": "string"},
        "skills": {"type": "array", "items": {"type": "string"}},
        "team_id": {"type": ["integer", "null"]},
        "team": {"type": "string", "description": "an existing team's name"},
        "home_base": {"oneOf": [_POINT, {"type": "null"}]},
        "shifts": {
            "type": "array",
            "items": {"type": "string"},
            "description": "wall-clock times in the worker's zone (the office's, OUTFIELD_TIMEZONE, unless set), e.g. `Mon-Fri 07:00-15:30`; an end of `24:00` is the end of the day (a shift may not cross midnight)",
        },
        "active": {"type": "boolean"},
    },
}
_WORKER = {
    "type": "object",
    "required": ["id", "name", "device_id", "skills", "team", "team_id", "home_base", "shifts", "active"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "device_id": {"type": "string"},
        "skills": {"type": "array", "items": {"type": "string"}},
        "team": {"type": "string"},
        "team_id": {"type": ["integer", "null"]},
        "home_base": {"oneOf": [_POINT, {"type": "null"}]},
        "shifts": {"type": "array", "items": {"type": "string"}},
        "active": {"type": "boolean"},
        "leaves": {"type": "array", "items": {"$ref": "#/components/schemas/Leave"}},
    },
}
_LEAVE = {
    "type": "object",
    "required": ["id", "start", "end", "reason"],
    "properties": {
        "id": {"type": "integer"},
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "reason": {"type": "string"},
    },
}
_SITE = {
    "type": "object",
    "required": ["id", "name", "location", "geofence_radius_m", "geofence_polygon", "category", "customer"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "address": {"type": "string"},
        "location": _POINT,
        "geofence_radius_m": {"type": "number"},
        "geofence_polygon": {"type": ["object", "null"], "description": "GeoJSON Polygon"},
        "category": {"type": "string"},
        "customer": {"type": "string"},
        "external_ref": {"type": "string"},
    },
}
_USER = {
    "type": "object",
    "required": ["id", "name", "role", "active", "teams"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "role": {"enum": ["admin", "dispatcher", "manager", "field_worker"]},
        "active": {"type": "boolean"},
        "teams": {"type": "array", "items": {"type": "integer"}},
        "worker_id": {"type": ["integer", "null"]},
        "has_password": {"type": "boolean"},
        "token": {"type": "string", "description": "the first API token, in the creation's answer only"},
    },
}
_TEAM = {
    "type": "object",
    "required": ["id", "name", "active"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "active": {"type": "boolean"},
        "workers": {"type": "integer"},
        "users": {"type": "integer"},
    },
}
OPENAPI["components"]["schemas"].update(
    {"Worker": _WORKER, "Leave": _LEAVE, "Site": _SITE, "User": _USER, "Team": _TEAM}
)
_SITE_ID = {"name": "site_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TEAM_ID = {"name": "team_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_LEAVE_ID = {"name": "leave_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _one(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _many(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _one(name)}


_EDIT = {**_ERRORS, "409": _CONFLICT, "413": _TOO_LARGE}
OPENAPI["paths"].update(
    {
        "/api/v1/workers": {
            "get": {"summary": "Every worker, active or not (office roles)", "responses": {"200": _resp("Workers", _many("Worker")), **_ERRORS}},
            "post": {
                "summary": "Add a worker ({name, device_id, skills, team_id | team, home_base {lat, lon}, shifts, active}); 201 with the worker, who appears on the live map at once at their home base; 409 naming device_id when another worker has it",
                "requestBody": _body(_WORKER_BODY),
                "responses": {"201": _resp("The worker", _one("Worker")), **_EDIT},
            },
        },
        "/api/v1/workers/{worker_id}": {
            "get": {"summary": "One worker with their leave", "parameters": [_WORKER_ID],
                    "responses": {"200": _resp("The worker", _one("Worker")), "404": _resp("No such worker"), **_ERRORS}},
            "patch": {
                "summary": "Change the fields sent; `active: false` deactivates (their push links are revoked, they leave the live map)",
                "parameters": [_WORKER_ID], "requestBody": _body(_WORKER_BODY),
                "responses": {"200": _resp("The worker", _one("Worker")), "404": _resp("No such worker"), **_EDIT},
            },
        },
        "/api/v1/workers/{worker_id}/leaves": {
            "get": {"summary": "The worker's leave, earliest first", "parameters": [_WORKER_ID],
                    "responses": {"200": _resp("Leave", _many("Leave")), "404": _resp("No such worker"), **_ERRORS}},
            "post": {"summary": "Record leave: {start, end (dates, both included), reason}", "parameters": [_WORKER_ID],
                     "requestBody": _JSON_BODY,
                     "responses": {"201": _resp("The leave", _one("Leave")), "404": _resp("No such worker"), **_ERRORS}},
        },
        "/api/v1/workers/{worker_id}/leaves/{leave_id}": {
            "delete": {"summary": "Remove a leave", "parameters": [_WORKER_ID, _LEAVE_ID],
                       "responses": {"204": {"description": "Removed"}, "404": _resp("No such leave"), **_ERRORS}},
        },
        "/api/v1/sites": {
            "get": {"summary": "Every site with its geofence, category and customer", "responses": {"200": _resp("Sites", _many("Site")), **_ERRORS}},
            "post": {
                "summary": "Add a site ({name, location {lat, lon}, address, geofence_radius_m (0-10000), geofence_polygon (GeoJSON Polygon or WKT, or null), category, customer})",
                "requestBody": _JSON_BODY, "responses": {"201": _resp("The site", _one("Site")), **_EDIT},
            },
        },
        "/api/v1/sites/{site_id}": {
            "get": {"summary": "One site", "parameters": [_SITE_ID],
                    "responses": {"200": _resp("The site", _one("Site")), "404": _resp("No such site"), **_ERRORS}},
            "patch": {"summary": "Change the fields sent", "parameters": [_SITE_ID], "requestBody": _JSON_BODY,
                      "responses": {"200": _resp("The site", _one("Site")), "404": _resp("No such site"), **_EDIT}},
        },
        "/api/v1/users": {
            "get": {"summary": "Every user (admin)", "responses": {"200": _resp("Users", _many("User")), **_ERRORS}},
            "post": {"summary": "Add a user ({name, role, password?, teams?, worker_id?}); the answer carries their first API token, once",
                     "requestBody": _JSON_BODY, "responses": {"201": _resp("The user", _one("User")), **_EDIT}},
        },
        "/api/v1/users/{user_id}": {
            "patch": {"summary": "Change {role, teams, active}; deactivating ends the user's sessions and revokes their API tokens",
                      "parameters": [_USER_ID], "requestBody": _JSON_BODY,
                      "responses": {"200": _resp("The user", _one("User")), "404": _resp("No such user"), **_EDIT}},
        },
        "/api/v1/users/{user_id}/password-reset": {
            "post": {"summary": "A new password ({password?}; none sent: a generated one, in the answer once); ends the user's sessions and API tokens",
                     "parameters": [_USER_ID],
                     "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {"password": {"type": "string"}}}}}},
                     "responses": {"200": _resp("{user_id, password, tokens_revoked}"), "404": _resp("No such user"), **_EDIT}},
        },
        "/api/v1/tokens/current": {
            "delete": {"summary": "Revoke the bearer token this call is made with (any role; audited): it stops working at once, the user's other tokens do not; 400 naming Authorization for a browser session",
                       "responses": {"204": {"description": "Revoked"}, **_ERRORS}},
        },
        "/api/v1/roads/route": {
            "get": {
                "summary": "The road path the server's travel times drive between two points (the road network, else a straight line: on_roads false); 404 naming to when the network has none",
                "parameters": [{"name": n, "in": "query", "required": True, "schema": {"type": "number"}}
                               for n in ("from_lat", "from_lon", "to_lat", "to_lon")],
                "responses": {"200": _resp("{points [[lat, lon], ...] from start to end, duration_s, distance_m, on_roads}", _ROAD_ROUTE),
                              "404": _resp("No road route between the points", {"$ref": "#/components/schemas/Error"}), **_ERRORS},
            }
        },
        "/api/v1/teams": {
            "get": {"summary": "Every team with its numbers of workers and users", "responses": {"200": _resp("Teams", _many("Team")), **_ERRORS}},
            "post": {"summary": "Add a team ({name, active?}); 409 naming name when taken", "requestBody": _JSON_BODY,
                     "responses": {"201": _resp("The team", _one("Team")), **_EDIT}},
        },
        "/api/v1/teams/{team_id}": {
            "patch": {"summary": "Rename or (de)activate; its workers' team name follows", "parameters": [_TEAM_ID],
                      "requestBody": _JSON_BODY,
                      "responses": {"200": _resp("The team", _one("Team")), "404": _resp("No such team"), **_EDIT}},
            "delete": {"summary": "Remove a team (its workers stay, without a team)", "parameters": [_TEAM_ID],
                       "responses": {"204": {"description": "Removed"}, "404": _resp("No such team"), **_ERRORS}},
        },
        "/api/v1/audit": {
            "get": {
                "summary": "The audit log, newest first (at most 1000): admins see everything, managers who viewed whose location; CSV with format=csv",
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "actor", "in": "query", "schema": {"type": "string"}, "description": "a user's name"},
                    {"name": "action", "in": "query", "schema": {"type": "string"}},
                    {"name": "worker_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"], "default": "json"}},
                ],
                "responses": {
                    "200": {"description": "{entries: [{id, at, actor_id, actor, action, subject_type, subject_id, details}]}, or CSV",
                            "content": {"application/json": {"schema": {"type": "object", "required": ["entries"]}},
                                        "text/csv": {"schema": {"type": "string"}}}},
                    "404": _resp("No user with that name (actor)"),
                    **_ERRORS,
                },
            }
        },
    }
)  # fmt: skip


_CONSENT = _resp(
    "The worker's consent: {state: given|none|withdrawn, text_version (the current text), given_text_version, given_at, source: link|paper, withdrawn_at, recorded_by (the office user who recorded consent on paper)}",
    {
        "type": "object",
        "required": ["state", "text_version"],
        "properties": {"state": {"enum": ["given", "none", "withdrawn"]}, "text_version": {"type": "string"}},
    },
)
_CONSENT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["given"],
                "properties": {"given": {"type": "boolean"}, "text_version": {"type": "string"}},
            }
        }
    },
}
_ZIP = {
    "description": "A zip: data.json (every table), one CSV per table, files/ (photos, signatures)",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
}
OPENAPI["paths"].update(
    {
        "/api/v1/users/{user_id}/scope": {
            "put": {
                "summary": "Which teams' workers and orders a dispatcher or manager sees ({all_teams: bool, teams: [name]}); admin only, audited",
                "parameters": [{"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"all_teams": {"type": "boolean"},
                                                     "teams": {"type": "array", "items": {"type": "string"}}}}}}},
                "responses": {"200": _resp("{user_id, all_teams, teams}"), "404": _resp("No such user"), **_ERRORS},
            }
        },
        "/api/v1/workers/{worker_id}/consent": {
            "get": {
                "summary": "The worker's consent to location tracking (office users who may see the worker)",
                "parameters": [_WORKER_ID],
                "responses": {"200": _CONSENT, "404": _resp("No such worker"), **_ERRORS},
            },
            "post": {
                "summary": "Record consent given on paper ({given: true, text_version: the current one}) or withdraw it ({given: false}); admin only, audited",
                "parameters": [_WORKER_ID],
                "requestBody": _CONSENT_BODY,
                "responses": {"200": _CONSENT, "404": _resp("No such worker"),
                              "409": _resp("Nothing to withdraw"), **_ERRORS},
            },
        },
        "/api/v1/field/{token}/consent": {
            "get": {
                "summary": "The worker's own consent, read through their push link",
                "security": [],
                "parameters": [_TOKEN],
                "responses": {"200": _CONSENT, **_LINK_ERRORS},
            },
            "post": {
                "summary": "The worker gives ({given: true, text_version}) or withdraws ({given: false}) consent on their page; audited",
                "security": [],
                "parameters": [_TOKEN],
                "requestBody": _CONSENT_BODY,
                "responses": {"200": _CONSENT, "409": _resp("Nothing to withdraw"), **_LINK_ERRORS},
            },
        },
        "/api/v1/workers/{worker_id}/anonymise": {
            "post": {
                "summary": "Anonymise a leaver for good ({confirm: true}): name, device, fixes, events, photos, signatures, check-in coordinates removed; orders and km kept; admin only, audited",
                "parameters": [_WORKER_ID],
                "requestBody": _JSON_BODY,
                "responses": {"200": _resp("{worker_id, anonymised_at, removed: {kind: count}}"),
                              "404": _resp("No such worker"), "409": _resp("Already anonymised"), **_ERRORS},
            }
        },
        "/api/v1/workers/{worker_id}/export": {
            "get": {
                "summary": "Everything held about the worker as a zip; the worker's own login or an admin; audited",
                "parameters": [_WORKER_ID],
                "responses": {"200": _ZIP, "404": _resp("No such worker"), **_ERRORS},
            }
        },
        "/api/v1/field/{token}/export": {
            "get": {
                "summary": "Everything held about the worker as a zip, through their own push link; audited",
                "security": [],
                "parameters": [_TOKEN],
                "responses": {"200": _ZIP, **_LINK_ERRORS},
            }
        },
    }
)  # fmt: skip


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _complete(paths: dict[str, Any]) -> None:
    """Give every operation the answers every route can give, each 4xx with the Error body.

    Any route: 404 for an unknown path or a path id beyond 2^63-1, 405 for a wrong method; one with
    a body: 400 and 413 (body over its size limit). They are added here once rather than per route.
    """
    for operations in paths.values():
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.setdefault("404", _resp("Unknown path, or no such resource"))
            responses.setdefault("405", _resp("Method not allowed here"))
            if method in ("post", "put"):
                responses.setdefault("400", _ERRORS["400"])
                responses.setdefault("413", _resp("The body is larger than the route takes"))
            for code, response in responses.items():
                if code.startswith("4"):
                    response.setdefault("content", _ERROR_CONTENT)


_complete(OPENAPI["paths"])
