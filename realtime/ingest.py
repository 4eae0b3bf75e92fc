"""Location reports from phones (OsmAnd / Traccar Client protocol) turned into domain values.

Pure functions: no I/O, no web framework, no clock. The HTTP layer hands over the request as
it arrived (URL-decoded key/value pairs, Content-Type, raw body); `parse_osmand` and
`parse_batch` return `PositionReport` values, and `to_position` makes the domain `Position`
once the pipeline knows the worker, the server time and the worker's last position.

The wire protocol is documented in `shared/research/osmand_protocol.md` (read off Traccar's
`OsmAndProtocolDecoder`). Where we differ from Traccar, on purpose:

- `timestamp=yyyy-MM-dd HH:mm:ss` is read as **UTC**. Traccar uses the server's default time
  zone, which makes the stored time depend on where the server runs.
- A decimal `timestamp` (`1377177267.5`) is accepted, with the same seconds/milliseconds
  threshold as an integer one; Traccar rejects it.
- Garbage is rejected with an `IngestError` naming the field (Traccar logs and drops the
  request): non-numbers, NaN/infinity, latitude/longitude/battery out of range, negative
  accuracy/hdop/speed (query form), an ISO 8601 time without a zone, `lat` without `lon`.
- `speed` in the query form is knots (as Traccar reads it, even from the OsmAnd app, which
  really sends m/s); we store m/s. The JSON form's `coords.speed` is already m/s.
- Bearings are normalised into 0..360 (`-90` becomes `270`).
- Repeated `cell` / `wifi` parameters are kept as one string attribute, the values joined with
  `;` (each value already contains commas); Wi-Fi MACs get `:` separators as in Traccar. Any
  other repeated parameter: the last value wins.
- `driverUniqueId`, `notificationToken`, `imei`, `alarm`, `cell` and `wifi` are always kept as
  strings (an IMEI is an identifier, not a number). Every other unknown key becomes an
  attribute: a number -> float, exactly `true`/`false` -> bool, anything else -> the string.
- JSON form: accuracy is kept as reported (Traccar hides values below `osmand.minAccuracy`);
  `battery.is_charging: false` is kept as `charging=False` (Traccar stores only `true`).
- A JSON `null` anywhere counts as "not sent".
- Hostile input is bounded: JSON nested deeper than `MAX_JSON_DEPTH`, numbers that overflow a
  double (`1e309`), times beyond the calendar (year 0 or 10000, or a zone offset that pushes
  year 1 / 9999 over the edge) are refused naming the field. At most
  `MAX_ATTRIBUTES` other attributes of at most `MAX_ATTRIBUTE_BYTES` each
  (`MAX_ATTRIBUTES_BYTES` in all) are kept per fix; the rest are dropped, and the attribute
  `dropped_attributes` says how many (Traccar keeps everything). `cell` and `wifi` keep at
  most `MAX_LIST_VALUES` values and `MAX_LIST_BYTES` each.
- `check_fix_times` refuses fix times too far ahead of the server clock or past retention
  (`dispatch.positions.fix_time_refusal`), so the HTTP layer can answer 400 with the reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import chain
from types import MappingProxyType
from typing import Final

import orjson

from dispatch.errors import InputError
from dispatch.positions import KNOTS_TO_MPS, Position, PositionLimits, fix_time_refusal

AttributeValue = str | float | int | bool

MAX_BATCH_ITEMS: Final = 10_000
"""Most positions one batch request may carry; more is refused as a whole."""

MAX_JSON_DEPTH: Final = 64
"""Deepest nesting of arrays/objects a JSON body may have; deeper is refused before parsing."""

MAX_ATTRIBUTES: Final = 32
"""Most unknown attributes kept per fix (besides `cell` / `wifi`); later ones are dropped."""

MAX_ATTRIBUTE_BYTES: Final = 256
"""Longest attribute kept, key and value together in UTF-8; a longer one is dropped whole."""

MAX_ATTRIBUTES_BYTES: Final = 4096
"""Most bytes of attributes (keys and values) kept per fix, besides `cell` / `wifi`."""

MAX_LIST_VALUES: Final = 64
"""Most `cell` or `wifi` values kept per fix (a scan lists a few dozen at most)."""

MAX_LIST_BYTES: Final = 4096
"""Most bytes of `cell` or `wifi` values kept per fix."""

DROPPED: Final = "dropped_attributes"
"""The attribute saying how many of a fix's attributes were over the bounds and not kept."""

# Traccar's rule: an integer timestamp below Integer.MAX_VALUE is seconds, anything larger is
# milliseconds. 2147483647 s is 2038-01-19, so the two ranges cannot be confused today.
_SECONDS_LIMIT: Final = Decimal(2_147_483_647)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# re.ASCII: `\d` must not accept Arabic-Indic or full-width digits, which float() would take.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_EPOCH_NUMBER = re.compile(r"\d+(?:\.\d*)?", re.ASCII)
_SPACE_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_NON_FINITE_WORDS: Final = frozenset(
    {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
)

_TEXT_KEYS: Final = frozenset({"driverUniqueId", "notificationToken", "imei", "alarm"})
_LIST_KEYS: Final = frozenset({"cell", "wifi"})
_MISSING_ID: Final = "missing (send id or deviceid)"
_BAD_TIMESTAMP: Final = "is not Unix seconds, milliseconds or ISO 8601 with a zone"
_OUT_OF_RANGE: Final = "is out of range (after year 9999 or before year 1 in UTC)"
# 9999-12-31T23:59:59Z, the last second a datetime holds.
_MAX_EPOCH_SECONDS: Final = Decimal(253_402_300_800)


class IngestError(InputError):
    """A report, or one field of it, cannot be used; `field` names it as the client sent it.

    `str(error)` is `"<field>: <reason>"`, e.g. `lat: 'abc' is not a number`, ready to be sent
    back in a 400 answer. Field names are the wire names (`lat`, `heading`,
    `location.coords.latitude`), or `body` / `item` when the request or a batch item as a whole
    is unusable. It is raised by the parsers and also returned as a value inside
    `parse_batch`'s list, in place of the item it describes.
    """

    field: str

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)


@dataclass(frozen=True, slots=True)
class PositionReport:
    """One location report as a phone sent it, validated and in our units, not yet tied to a worker.

    `fix_time` is aware UTC, or None when the phone sent no time (the server's receive time is
    used then). `latitude`/`longitude` are both None when the report carries no fix (a
    heartbeat); `to_position` then carries over the worker's last coordinates. `speed_mps` is
    metres per second whatever unit was on the wire; `bearing_deg` is within 0..360;
    `battery_pct` within 0..100. `attributes` holds every other value the phone sent,
    read-only. Constructing one directly validates the same ranges.
    """

    device_id: str
    fix_time: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    hdop: float | None = None
    charging: bool | None = None
    mock: bool = False
    valid: bool = True
    attributes: Mapping[str, AttributeValue] = field(default_factory=lambda: MappingProxyType({}))
    time_field: str = field(default="timestamp", compare=False, repr=False)
    """The wire name the fix time came in (`timestamp`, `location.timestamp`), for error answers."""

    def __post_init__(self) -> None:
        if not self.device_id:
            raise IngestError("device_id", "missing")
        if self.fix_time is not None:
            if self.fix_time.tzinfo is None:
                raise IngestError("fix_time", "must be timezone-aware")
            object.__setattr__(self, "fix_time", self.fix_time.astimezone(UTC))
        if (self.latitude is None) != (self.longitude is None):
            raise IngestError("longitude" if self.longitude is None else "latitude", "missing while the other is set")
        limits = {
            "latitude": (-90.0, 90.0),
            "longitude": (-180.0, 180.0),
            "accuracy_m": (0.0, math.inf),
            "speed_mps": (0.0, math.inf),
            "bearing_deg": (0.0, 360.0),
            "altitude_m": (-math.inf, math.inf),
            "battery_pct": (0.0, 100.0),
            "hdop": (0.0, math.inf),
        }
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and low <= value <= high):
                raise IngestError(name, f"{value!r} is not a finite number within {low:g}..{high:g}")
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))


def parse_osmand(
    *, query: Sequence[tuple[str, str]], form: Sequence[tuple[str, str]], content_type: str | None, body: bytes
) -> PositionReport:
    """Parse one OsmAnd / Traccar Client request (any method, any path) into a report.

    `query` and `form` are the URL-decoded key/value pairs of the query string and of an
    `application/x-www-form-urlencoded` body, in the order sent. As in Traccar: a Content-Type
    starting with `application/json` (case-insensitive here) selects the JSON body form (Traccar
    Client 9: `{"device_id", "location": {...}}`; a flat object with `id` is accepted too);
    otherwise the query pairs are used, or the form pairs when the query has none.

    Raises IngestError naming the first bad field, `id` when the device id is missing or empty,
    `body` when a JSON body is not valid JSON or not an object.
    """
    if content_type is not None and content_type.strip().lower().startswith("application/json"):
        document = decode_json(body)
        if not isinstance(document, dict):
            raise IngestError("body", f"expected a JSON object, got {json_kind(document)}")
        return _parse_object(document)
    return _parse_flat(query if query else form)


def parse_batch(body: bytes) -> list[PositionReport | IngestError]:
    """Parse the JSON batch endpoint's body into one result per item, in the items' order.

    The body is a JSON array of flat objects with the query form's keys (`id`, `lat`, `lon`,
    `timestamp`, `speed` in knots, ...; what Traccar's SDK sends with `uploadJson=true`), or an
    object `{"positions": [...]}` whose items are flat objects or the Traccar Client 9 form
    `{"device_id", "location": {...}}`. Values may be JSON numbers or strings.

    Each item is parsed on its own: a bad item becomes an IngestError at its own index, so the
    caller can answer per item. An empty list is a valid (empty) batch. Raises IngestError on
    field `body` only when the body as a whole is unusable: not JSON, not an array or
    `positions` object, or more than MAX_BATCH_ITEMS items.
    """
    return [parse_item(item) for item in batch_items(body)]


def batch_items(body: bytes) -> list[object]:
    """The items of a batch body, each still as decoded JSON (see `parse_batch` for the forms).

    Raises IngestError on field `body` when the body as a whole is unusable.
    """
    document = decode_json(body)
    items: object
    if isinstance(document, dict):
        items = document.get("positions")
        if not isinstance(items, list):
            raise IngestError("body", "expected a JSON array or an object with a 'positions' array")
    elif isinstance(document, list):
        items = document
    else:
        raise IngestError(
            "body", f"expected a JSON array or an object with a 'positions' array, got {json_kind(document)}"
        )
    if len(items) > MAX_BATCH_ITEMS:
        raise IngestError("body", f"{len(items)} items exceed the limit of {MAX_BATCH_ITEMS}")
    return items


def parse_item(item: object) -> PositionReport | IngestError:
    """One decoded batch item as a report, or the IngestError naming what is wrong with it."""
    if not isinstance(item, dict):
        return IngestError("item", f"expected a JSON object, got {json_kind(item)}")
    try:
        return _parse_object(item)
    except IngestError as error:
        return error


PlainFix = tuple[
    str, datetime | None, float, float, float | None, float | None, float | None, float | None, float | None, int | None
]
"""(device id, fix time, latitude, longitude, accuracy m, speed m/s, bearing °, altitude m, battery %, fix time in
microseconds since the epoch): the last is the fix time as read (None with it), handed to the alert evaluator beside
the stored fix (`StoredFixes.fix_us`) instead of being read back from the `datetime`."""

_PLAIN_KEYS: Final = frozenset(
    {"id", "deviceid", "lat", "lon", "timestamp", "speed", "bearing", "heading", "altitude", "accuracy", "batt"}
)


def plain_fix(item: dict[str, object]) -> PlainFix | None:
    """The common batch item read with minimal work, or None when it needs `parse_item`.

    "Common" is a flat object with a string id, JSON numbers for `lat`, `lon` (both present),
    `accuracy`, `speed` (knots), `bearing`/`heading`, `altitude`, `batt`, an integer `timestamp`
    (Unix seconds or milliseconds, as `_timestamp` reads it) and no other key. Everything it
    returns is what `parse_item` would make of the item (the same units, ranges and later-key-wins
    order); anything else, a bad value included, is left to `parse_item`, which names the error.
    """
    if not item.keys() <= _PLAIN_KEYS:
        return None
    device_id: str | None = None
    fix_time: datetime | None = None
    fix_us: int | None = None
    latitude = longitude = accuracy_m = speed_mps = bearing_deg = altitude_m = battery_pct = None
    for key, value in item.items():
        kind = value.__class__
        if key == "id" or key == "deviceid":
            if kind is not str:
                return None
            device_id = value.strip() or None  # type: ignore[attr-defined]
            continue
        if key == "timestamp":
            # An int below Integer.MAX_VALUE is seconds, anything larger milliseconds (`_from_epoch`).
            if kind is not int or value < 0:  # type: ignore[operator]
                return None
            micros = value * 1_000_000 if value < _SECONDS_LIMIT_INT else value * 1000  # type: ignore[operator]
            if micros >= _MAX_EPOCH_MICROS:
                return None
            fix_time, fix_us = _EPOCH + timedelta(0, 0, micros), micros  # positional: a third cheaper than by name
            continue
        if kind is float:
            number = value
        elif kind is int and -_HUGE_INT < value < _HUGE_INT:  # type: ignore[operator]
            number = float(value)  # type: ignore[arg-type]
        else:  # a string, null, a boolean, or an int too large for a double
            return None
        if not -math.inf < number < math.inf:  # type: ignore[operator]
            return None
        if key == "lat":
            if not -90.0 <= number <= 90.0:
                return None
            latitude = number
        elif key == "lon":
            if not -180.0 <= number <= 180.0:
                return None
            longitude = number
        elif key == "speed":
            if number < 0:
                return None
            speed_mps = number * KNOTS_TO_MPS
        elif key == "bearing" or key == "heading":
            bearing_deg = _normalise_bearing(number)
        elif key == "accuracy":
            if number < 0:
                return None
            accuracy_m = number
        elif key == "altitude":
            altitude_m = number
        else:  # batt
            if not 0.0 <= number <= 100.0:
                return None
            battery_pct = number
    if device_id is None or latitude is None or longitude is None:
        return None
    return (
        device_id, fix_time, latitude, longitude, accuracy_m, speed_mps, bearing_deg, altitude_m, battery_pct,
        fix_us,
    )  # fmt: skip


_HUGE_INT: Final = 2**1000  # beyond this an int may overflow float(); the full parser names the field
_SECONDS_LIMIT_INT: Final = 2_147_483_647
_MAX_EPOCH_MICROS: Final = 253_402_300_800 * 1_000_000


def check_fix_times(
    items: Sequence[PositionReport | IngestError], *, now: datetime, limits: PositionLimits
) -> list[PositionReport | IngestError]:
    """The items with each report whose fix time the filter would refuse replaced by an IngestError.

    A fix time more than `limits.max_future_s` ahead of `now` (the server's clock) or older than
    `limits.max_age_s` becomes `IngestError(<the report's time field>, reason)`, so the caller
    can answer 400 naming `timestamp` before looking up the device; a report without a time is
    fine (the server's receive time is used).
    """
    out: list[PositionReport | IngestError] = []
    for item in items:
        if isinstance(item, PositionReport) and item.fix_time is not None:
            refusal = fix_time_refusal(item.fix_time, now, limits)
            if refusal is not None:
                out.append(IngestError(item.time_field, refusal))
                continue
        out.append(item)
    return out


def to_position(report: PositionReport, *, worker_id: int, server_time: datetime, last: Position | None) -> Position:
    """Make the domain Position of a report once its worker and the server's receive time are known.

    `fix_time` is the report's time, or `server_time` when the phone sent none; `device_time`
    equals `fix_time` (the protocol has no separate device clock). `hdop` goes into the
    attributes. A report without coordinates (a heartbeat) gets `last`'s latitude, longitude,
    accuracy, altitude and validity and the attribute `outdated=True`, as Traccar does; unlike
    Traccar we keep the report's own time as `fix_time`, so the filter sees a new report
    rather than a duplicate of the last fix.

    Raises IngestError on `lat` when there are no coordinates and no `last` to carry over.
    """
    fix_time = report.fix_time if report.fix_time is not None else server_time
    attributes: dict[str, AttributeValue] = dict(report.attributes)
    # `outdated` is ours to set: a phone must not mark a real fix as stale, or vice versa.
    attributes.pop("outdated", None)
    if report.hdop is not None:
        attributes["hdop"] = report.hdop
    if report.latitude is not None and report.longitude is not None:
        latitude, longitude = report.latitude, report.longitude
        accuracy_m, altitude_m, valid = report.accuracy_m, report.altitude_m, report.valid
    elif last is not None:
        latitude, longitude = last.latitude, last.longitude
        accuracy_m, altitude_m, valid = last.accuracy_m, last.altitude_m, last.valid
        attributes["outdated"] = True
    else:
        raise IngestError("lat", "missing, and no earlier position to carry over")
    return Position(
        worker_id=worker_id,
        device_id=report.device_id,
        fix_time=fix_time,
        device_time=fix_time,
        server_time=server_time,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m,
        speed_mps=report.speed_mps,
        bearing_deg=report.bearing_deg,
        altitude_m=altitude_m,
        battery_pct=report.battery_pct,
        charging=report.charging,
        mock=report.mock,
        valid=valid,
        attributes=MappingProxyType(attributes),
    )


# --- the two body forms ------------------------------------------------------------------


def _parse_object(document: dict[str, object]) -> PositionReport:
    """A JSON object: the Traccar Client 9 form if it has `device_id` or a `location` object, else flat."""
    if "device_id" in document or isinstance(document.get("location"), dict):
        return _parse_located(document)
    return _parse_flat(document.items())


def _parse_flat(pairs: Iterable[tuple[str, object]]) -> PositionReport:
    """The query / form / flat-JSON form; pairs are handled in order, so a later value wins."""
    device_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    fix_time: datetime | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    hdop: float | None = None
    charging: bool | None = None
    mock = False
    valid = True
    attributes: dict[str, AttributeValue] = {}
    lists: dict[str, list[str]] = {}
    for key, value in pairs:
        if value is None:
            continue
        match key:
            case "id" | "deviceid":
                device_id = _text(key, value).strip() or None
            case "lat":
                latitude = _latitude(key, value)
            case "lon":
                longitude = _longitude(key, value)
            case "location":
                latitude, longitude = _lat_lon_pair(key, value)
            case "timestamp":
                fix_time = _timestamp(key, value)
            case "speed":
                speed_mps = _at_least_zero(key, value) * KNOTS_TO_MPS
            case "bearing" | "heading":
                bearing_deg = _bearing(key, value)
            case "altitude":
                altitude_m = _number(key, value)
            case "accuracy":
                accuracy_m = _at_least_zero(key, value)
            case "hdop":
                hdop = _at_least_zero(key, value)
            case "batt":
                battery_pct = _within(key, value, 0.0, 100.0)
            case "charge":
                charging = _flag(key, value)
            case "mock":
                mock = _flag(key, value)
            case "valid":
                # Traccar: `true` (any case) or `1` is valid, anything else invalid.
                valid = value is True or (isinstance(value, str | int) and str(value).strip().lower() in ("true", "1"))
            case _ if key in _LIST_KEYS:
                text = _text(key, value)
                if key == "wifi":
                    mac, comma, rest = text.partition(",")
                    text = mac.replace("-", ":") + comma + rest
                lists.setdefault(key, []).append(text)
            case _ if key in _TEXT_KEYS:
                attributes[key] = _text(key, value)
            case "":
                continue
            case _:
                attribute = _attribute(value)
                if attribute is not None:
                    attributes[key] = attribute
    if device_id is None:
        raise IngestError("id", _MISSING_ID)
    if (latitude is None) != (longitude is None):
        sent, missing = ("lat", "lon") if longitude is None else ("lon", "lat")
        raise IngestError(missing, f"missing ({sent} was sent)")
    return PositionReport(
        device_id=device_id,
        fix_time=fix_time,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m,
        speed_mps=speed_mps,
        bearing_deg=bearing_deg,
        altitude_m=altitude_m,
        battery_pct=battery_pct,
        hdop=hdop,
        charging=charging,
        mock=mock,
        valid=valid,
        attributes=_bounded(attributes, lists),
    )


def _parse_located(document: dict[str, object]) -> PositionReport:
    """The Traccar Client 9 (flutter_background_geolocation) form, spec section 3."""
    raw_id = document.get("device_id")
    device_id = _text("device_id", raw_id).strip() if raw_id is not None else ""
    if not device_id:
        raise IngestError("device_id", "missing")
    location = _object("location", document.get("location"))
    if location is None:
        raise IngestError("location", "missing")
    raw_time = location.get("timestamp")
    if raw_time is None:
        raise IngestError("location.timestamp", "missing")
    fix_time = _timestamp("location.timestamp", raw_time)

    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    coords = _object("location.coords", location.get("coords"))
    if coords is not None:
        for name in ("latitude", "longitude"):
            if coords.get(name) is None:
                raise IngestError(f"location.coords.{name}", "missing")
        latitude = _latitude("location.coords.latitude", coords["latitude"])
        longitude = _longitude("location.coords.longitude", coords["longitude"])
        if coords.get("accuracy") is not None:
            accuracy_m = _at_least_zero("location.coords.accuracy", coords["accuracy"])
        if coords.get("altitude") is not None:
            altitude_m = _number("location.coords.altitude", coords["altitude"])
        # The SDK sends -1 for "unknown" speed and heading.
        if coords.get("speed") is not None:
            speed = _number("location.coords.speed", coords["speed"])
            speed_mps = speed if speed >= 0 else None
        if coords.get("heading") is not None:
            heading = _number("location.coords.heading", coords["heading"])
            bearing_deg = _normalise_bearing(heading) if heading >= 0 else None

    battery_pct: float | None = None
    charging: bool | None = None
    battery = _object("location.battery", location.get("battery"))
    if battery is not None:
        if battery.get("level") is not None:
            level = _number("location.battery.level", battery["level"])
            if level > 1:
                raise IngestError("location.battery.level", f"{_show(battery['level'])} is not within 0..1")
            # -1 is "unknown"; round away float noise such as 0.79 * 100 = 79.00000000000001.
            battery_pct = round(level * 100.0, 6) if level >= 0 else None
        if battery.get("is_charging") is not None:
            charging = _flag("location.battery.is_charging", battery["is_charging"])

    mock = location.get("mock") is not None and _flag("location.mock", location["mock"])

    attributes: dict[str, AttributeValue] = {}
    extras = _object("location.extras", location.get("extras"))
    for key, value in (extras or {}).items():
        attribute = _json_attribute(value)
        if attribute is not None:
            attributes[key] = attribute
    # The location's own fields win over extras of the same name (Traccar: location.alarm
    # beats extras.alarm).
    if location.get("event") is not None:
        attributes["event"] = _text("location.event", location["event"])
    if location.get("is_moving") is not None:
        attributes["motion"] = _flag("location.is_moving", location["is_moving"])
    if location.get("odometer") is not None:
        odometer = location["odometer"]
        number = _number("location.odometer", odometer)
        attributes["odometer"] = odometer if isinstance(odometer, int) else number
    activity = _object("location.activity", location.get("activity"))
    if activity is not None and activity.get("type") is not None:
        attributes["activity"] = _text("location.activity.type", activity["type"])
    if location.get("alarm") is not None:
        attributes["alarm"] = _text("location.alarm", location["alarm"])

    return PositionReport(
        device_id=device_id,
        fix_time=fix_time,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m,
        speed_mps=speed_mps,
        bearing_deg=bearing_deg,
        altitude_m=altitude_m,
        battery_pct=battery_pct,
        charging=charging,
        mock=mock,
        # Traccar: a report with coords is valid, one without is a heartbeat on old coordinates.
        valid=coords is not None,
        attributes=_bounded(attributes, {}),
        time_field="location.timestamp",
    )


# --- single values ----------------------------------------------------------------------


def decode_json(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """The JSON document of a request body: RFC 8259 JSON in UTF-8, and nothing a server chokes on.

    Raises IngestError on field `body` for: bytes that are not UTF-8; arrays/objects nested
    deeper than `max_depth` (`[[[[...` 100k deep included); `NaN`/`Infinity`; a number too large
    for a double (`1e309`); a string holding a lone UTF-16 surrogate (`"\\ud800"`), which no
    database column can store; anything else that is not JSON.
    """
    too_deep = IngestError("body", f"invalid JSON: nested deeper than {max_depth} levels")
    # orjson first (a batch's parse was a tenth of its cost with `json`): it refuses everything refused below
    # (bad UTF-8, a BOM, NaN/Infinity, 1e309, lone surrogates, nesting beyond 1024), and what it refuses
    # goes the way below, which says why in its words. It reads integers beyond 64 bits as floats, where
    # `json` keeps them exact: a body that may hold one (`_may_hold_a_long_integer`) goes the way below too.
    if not _may_hold_a_long_integer(body):
        try:
            document: object = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            if _deeper_than(document, max_depth):
                raise too_deep
            return document
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError("body", f"invalid JSON: not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise too_deep from None
    except ValueError as error:
        raise IngestError("body", f"invalid JSON: {error}") from None
    problem = _document_problem(document, max_depth)
    if problem is not None:
        raise too_deep if problem == _TOO_DEEP else IngestError("body", f"invalid JSON: {problem}")
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise IngestError("body", "invalid JSON: a string holds a lone UTF-16 surrogate") from None
    return document


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# Every digit as "0", the minus sign kept, any other byte a space: a digit run is then a plain substring to look for.
_DIGIT_RUNS: Final = bytes(
    ord("0") if chr(b).isdigit() and b < 128 else b if b == ord("-") else ord(" ") for b in range(256)
)
_LONG_RUN: Final = b"0" * 20  # 2**64 and beyond have at least 20 digits
_LONG_NEGATIVE_RUN: Final = b"-" + b"0" * 19  # below -2**63: a minus and at least 19 digits


def _may_hold_a_long_integer(body: bytes) -> bool:
    """Whether `body` has a run of digits that may be an integer orjson would read as a float (beyond 64 bits: at
    least 20 digits, or a minus and 19). Two substring searches over a translated copy: a regular expression
    (`[0-9]{20}`) restarted at every digit of a batch's many 13-digit timestamps, costing more than the parse."""
    runs = body.translate(_DIGIT_RUNS)
    return _LONG_RUN in runs or _LONG_NEGATIVE_RUN in runs


_TOO_DEEP: Final = "too deep"


def _deeper_than(document: object, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit` in a document orjson decoded (exact dicts and lists),
    one level at a time: a level is first asked, in C (`map(type, ...)` into a set), whether it holds any array or
    object at all; only then are they gathered (a batch's thousands of plain values never go through Python code)."""
    level = [document] if document.__class__ is dict or document.__class__ is list else []
    for _ in range(limit):
        if not level:
            return False
        values = chain.from_iterable(
            value.values() if value.__class__ is dict else value  # type: ignore[attr-defined]
            for value in level
        )
        if _CONTAINERS.isdisjoint(set(map(type, values))):
            return False
        level = [
            child
            for value in level
            for child in (value.values() if value.__class__ is dict else value)  # type: ignore[attr-defined]
            if child.__class__ is dict or child.__class__ is list
        ]
    return bool(level)


_CONTAINERS: Final = frozenset({dict, list})


def _document_problem(document: object, limit: int) -> str | None:
    """`_TOO_DEEP` when arrays/objects nest deeper than `limit`, a reason when a number overflowed a
    double (`1e309` parses as infinity: NaN/Infinity literals are refused while parsing), else None.

    One walk over the parsed document without recursion: cheaper than hooking every float.
    """
    if isinstance(document, float) and not math.isfinite(document):
        return "a number is too large for a double"
    pending: list[tuple[object, int]] = [(document, 1)] if isinstance(document, dict | list) else []
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return _TOO_DEEP
        for child in value.values() if isinstance(value, dict) else value:  # type: ignore[attr-defined]
            if isinstance(child, dict | list):
                pending.append((child, depth + 1))
            elif child.__class__ is float and not -math.inf < child < math.inf:
                return "a number is too large for a double"
    return None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def json_kind(value: object) -> str:
    """What kind of JSON value this is, for error messages ("an array", "null", ...)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number"


def _show(value: object) -> str:
    """A value for an error message: repr, cut short so a huge value cannot flood the answer."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _object(name: str, value: object) -> dict[str, object] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise IngestError(name, f"expected a JSON object, got {json_kind(value)}")
    return value


def _text(name: str, value: object) -> str:
    """A string value; a JSON number or boolean is accepted as its text (ids sent as numbers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise IngestError(name, f"expected a string, got {json_kind(value)}")


def _number(name: str, value: object) -> float:
    """A finite float from a decimal string (`60.0`, `-0.883333`, `1.0E-4`) or a JSON number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise IngestError(name, f"{_show(value)} is not a number")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            if text.lower() in _NON_FINITE_WORDS:
                raise IngestError(name, f"{_show(value)} is not a finite number")
            raise IngestError(name, f"{_show(value)} is not a number")
        number = float(text)
    else:
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    if not math.isfinite(number):
        raise IngestError(name, f"{_show(value)} is not a finite number")
    return number


def _within(name: str, value: object, low: float, high: float) -> float:
    number = _number(name, value)
    if not low <= number <= high:
        raise IngestError(name, f"{_show(value)} is not within {low:g}..{high:g}")
    return number


def _latitude(name: str, value: object) -> float:
    return _within(name, value, -90.0, 90.0)


def _longitude(name: str, value: object) -> float:
    return _within(name, value, -180.0, 180.0)


def _at_least_zero(name: str, value: object) -> float:
    number = _number(name, value)
    if number < 0:
        raise IngestError(name, f"{_show(value)} is negative")
    return number


def _bearing(name: str, value: object) -> float:
    return _normalise_bearing(_number(name, value))


def _normalise_bearing(degrees: float) -> float:
    bearing = degrees % 360.0
    # A tiny negative angle rounds up to exactly 360.0 under %, which is north.
    return 0.0 if bearing >= 360.0 else bearing


def _lat_lon_pair(name: str, value: object) -> tuple[float, float]:
    parts = _text(name, value).split(",")
    if len(parts) != 2:
        raise IngestError(name, f"{_show(value)} is not 'lat,lon'")
    return _latitude(name, parts[0]), _longitude(name, parts[1])


def _flag(name: str, value: object) -> bool:
    """true/false, also 1/0 and any letter case, or a JSON boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int):
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
    raise IngestError(name, f"{_show(value)} is not true or false")


def _timestamp(name: str, value: object) -> datetime:
    """Fix time, aware UTC, from any of the protocol's timestamp forms (see the module docstring)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise IngestError(name, f"{_show(value)} {_BAD_TIMESTAMP}")
    if isinstance(value, int):
        return _from_epoch(name, Decimal(value), value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise IngestError(name, f"{_show(value)} {_BAD_TIMESTAMP}")
        return _from_epoch(name, Decimal(repr(value)), value)
    text = value.strip()
    if _EPOCH_NUMBER.fullmatch(text):
        return _from_epoch(name, Decimal(text), value)
    if "T" in text:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise IngestError(name, f"{_show(value)} {_BAD_TIMESTAMP}") from None
        if parsed.tzinfo is None:
            raise IngestError(name, f"{_show(value)} has no time zone (ISO 8601 needs Z or ±hh:mm)")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in year 0 in UTC
            raise IngestError(name, f"{_show(value)} {_OUT_OF_RANGE}") from None
    if _SPACE_DATE_TIME.fullmatch(text):
        try:
            # Traccar reads this form in the server's default zone; we read it as UTC so the
            # result does not depend on where the server runs.
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            pass
    raise IngestError(name, f"{_show(value)} {_BAD_TIMESTAMP}")


def _from_epoch(name: str, number: Decimal, raw: object) -> datetime:
    if number < 0:
        raise IngestError(name, f"{_show(raw)} {_BAD_TIMESTAMP}")
    seconds = number if number < _SECONDS_LIMIT else number / 1000
    # Checked before converting: a 60,000-digit number must not become a 60,000-digit int.
    if seconds >= _MAX_EPOCH_SECONDS:
        raise IngestError(name, f"{_show(raw)} {_OUT_OF_RANGE}")
    return _EPOCH + timedelta(microseconds=int((seconds * 1_000_000).to_integral_value()))


def _bounded(attributes: Mapping[str, AttributeValue], lists: Mapping[str, list[str]]) -> dict[str, AttributeValue]:
    """The attributes kept within the bounds, in the order sent, and `DROPPED` counting the rest.

    An attribute over `MAX_ATTRIBUTE_BYTES` is dropped whole (a cut value would be a lie), as is
    every attribute after the first `MAX_ATTRIBUTES` or past `MAX_ATTRIBUTES_BYTES` in all.
    `lists` (`cell`, `wifi`) keep their first `MAX_LIST_VALUES` values within `MAX_LIST_BYTES`,
    joined with `;`. A `dropped_attributes` sent by the phone is ignored: it is ours to set.
    """
    kept: dict[str, AttributeValue] = {}
    dropped = 0
    total_bytes = 0
    for key, value in attributes.items():
        if key == DROPPED:
            continue
        size = _utf8_len(key) + _utf8_len(value if isinstance(value, str) else str(value))
        if len(kept) >= MAX_ATTRIBUTES or size > MAX_ATTRIBUTE_BYTES or total_bytes + size > MAX_ATTRIBUTES_BYTES:
            dropped += 1
            continue
        kept[key] = value
        total_bytes += size
    for key, values in lists.items():
        taken: list[str] = []
        list_bytes = 0
        for value in values:
            size = _utf8_len(value) + 1
            if len(taken) >= MAX_LIST_VALUES or list_bytes + size > MAX_LIST_BYTES:
                dropped += 1
                continue
            taken.append(value)
            list_bytes += size
        if taken:
            kept[key] = ";".join(taken)
    if dropped:
        kept[DROPPED] = dropped
    return kept


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _attribute(value: object) -> AttributeValue | None:
    """An unknown query/flat key's value: number -> float, exactly true/false -> bool, else str."""
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            number = float(text)
            return number if math.isfinite(number) else value
        if value in ("true", "false"):
            return value == "true"
        return value
    return _json_attribute(value)


def _json_attribute(value: object) -> AttributeValue | None:
    """A JSON value as an attribute; null, objects, arrays and non-finite numbers are dropped."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


# --- /osmand's common query ------------------------------------------------------------


_QUERY_TIME_DIGITS: Final = 15
"""Longest timestamp `plain_query_fix` reads (Unix ms have 13 digits until the year 2286); longer ones take the full
parser, which refuses what is beyond the calendar without turning a huge run of digits into an int."""


def plain_query_fix(pairs: Iterable[tuple[str, str]]) -> PlainFix | None:
    """The common OsmAnd / Traccar Client query read with minimal work, or None when it needs `parse_osmand`.

    "Common" is what those apps send most: the keys `plain_fix` takes (`id`/`deviceid`, `lat` and `lon` both,
    `timestamp`, `speed` in knots, `bearing`/`heading`, `altitude`, `accuracy`, `batt`) and no other, each number a
    plain decimal as text (`_NUMBER`, no spaces) and the timestamp ASCII digits (Unix seconds, or milliseconds from
    Integer.MAX_VALUE on, as `_timestamp` reads it). What it returns is what `parse_osmand` reads from the same
    pairs (the same units, ranges and later-key-wins order, a property test holds them equal); anything else
    (`charge`, `hdop`, a decimal or ISO time, an escape, a bad value) is left to `parse_osmand`, which names the error.
    Skipping the report it would build, with its checks and its copies, is most of the request's own work.
    """
    device_id: str | None = None
    fix_time: datetime | None = None
    fix_us: int | None = None
    latitude = longitude = accuracy_m = speed_mps = bearing_deg = altitude_m = battery_pct = None
    for key, value in pairs:
        if key == "id" or key == "deviceid":
            device_id = value.strip() or None
            continue
        if key == "timestamp":
            if not (value.isascii() and value.isdigit() and len(value) <= _QUERY_TIME_DIGITS):
                return None
            count = int(value)
            micros = count * 1_000_000 if count < _SECONDS_LIMIT_INT else count * 1000
            if micros >= _MAX_EPOCH_MICROS:
                return None
            fix_time, fix_us = _EPOCH + timedelta(0, 0, micros), micros  # positional: a third cheaper than by name
            continue
        if key not in _PLAIN_KEYS or _NUMBER.fullmatch(value) is None:
            return None
        number = float(value)
        if not -math.inf < number < math.inf:  # 1e999
            return None
        if key == "lat":
            if not -90.0 <= number <= 90.0:
                return None
            latitude = number
        elif key == "lon":
            if not -180.0 <= number <= 180.0:
                return None
            longitude = number
        elif key == "speed":
            if number < 0:
                return None
            speed_mps = number * KNOTS_TO_MPS
        elif key == "bearing" or key == "heading":
            bearing_deg = _normalise_bearing(number)
        elif key == "accuracy":
            if number < 0:
                return None
            accuracy_m = number
        elif key == "altitude":
            altitude_m = number
        else:  # batt
            if not 0.0 <= number <= 100.0:
                return None
            battery_pct = number
    if device_id is None or latitude is None or longitude is None:
        return None
    return (
        device_id, fix_time, latitude, longitude, accuracy_m, speed_mps, bearing_deg, altitude_m, battery_pct,
        fix_us,
    )  # fmt: skip
