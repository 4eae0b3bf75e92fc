"""Parsing of OsmAnd / Traccar Client location reports (realtime/ingest.py).

Request examples are copied from shared/research/osmand_protocol.md and the Traccar decoder
test it was read from; query strings go through urllib's decoder, as they would in the HTTP layer.
"""

from __future__ import annotations

import json
import math
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.positions import Position
from realtime.ingest import (
    MAX_BATCH_ITEMS,
    IngestError,
    PositionReport,
    parse_batch,
    parse_osmand,
    to_position,
)

KNOTS = 0.514444
SERVER_TIME = datetime(2025, 6, 15, 14, 0, tzinfo=UTC)


def pairs(query_string: str) -> list[tuple[str, str]]:
    """URL-decode a raw query string into ordered pairs, as the HTTP layer hands them over."""
    return parse_qsl(query_string, keep_blank_values=True)


def from_query(query_string: str) -> PositionReport:
    return parse_osmand(query=pairs(query_string), form=[], content_type=None, body=b"")


def from_json(document: Any, content_type: str = "application/json") -> PositionReport:
    return parse_osmand(query=[], form=[], content_type=content_type, body=json.dumps(document).encode())


def query_error(query_string: str) -> IngestError:
    with pytest.raises(IngestError) as caught:
        from_query(query_string)
    return caught.value


def json_error(document: Any) -> IngestError:
    with pytest.raises(IngestError) as caught:
        from_json(document)
    return caught.value


def client9_body(**location: Any) -> dict[str, Any]:
    """A Traccar Client 9 body (the first example of the spec), with `location` keys overridden."""
    base: dict[str, Any] = {
        "timestamp": "2025-06-15T13:45:12.862Z",
        "coords": {
            "latitude": 37.4219983,
            "longitude": -122.084,
            "accuracy": 5,
            "speed": 0,
            "heading": -1,
            "altitude": 5,
        },
        "is_moving": False,
        "odometer": 0,
        "event": "motionchange",
        "battery": {"level": 1, "is_charging": False},
        "activity": {"type": "still"},
        "extras": {},
        "_": "&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&",
    }
    base.update(location)
    return {"location": base, "device_id": "48241179"}


def last_position(**changes: Any) -> Position:
    values: dict[str, Any] = {
        "worker_id": 7,
        "device_id": "123456",
        "fix_time": datetime(2025, 6, 15, 13, 50, tzinfo=UTC),
        "device_time": datetime(2025, 6, 15, 13, 50, tzinfo=UTC),
        "server_time": datetime(2025, 6, 15, 13, 50, 2, tzinfo=UTC),
        "latitude": 60.16991,
        "longitude": 24.93545,
        "accuracy_m": 12.0,
        "altitude_m": 18.0,
        "speed_mps": 4.0,
    }
    values.update(changes)
    return Position(**values)


# --- IngestError and PositionReport ------------------------------------------------------


def test_ingest_error_names_the_field() -> None:
    """Tests that an IngestError carries field and reason and prints as 'field: reason'."""
    error = IngestError("lat", "'abc' is not a number")
    assert isinstance(error, ValueError)
    assert (error.field, error.reason) == ("lat", "'abc' is not a number")
    assert str(error) == "lat: 'abc' is not a number"


def test_report_is_frozen_with_read_only_attributes() -> None:
    """Tests that a report cannot be changed and its attributes are a read-only copy."""
    source: dict[str, str | float | int | bool] = {"alarm": "sos"}
    report = PositionReport(device_id="1", attributes=source)
    source["alarm"] = "changed"
    assert isinstance(report.attributes, MappingProxyType)
    assert report.attributes == {"alarm": "sos"}
    with pytest.raises(TypeError):
        report.attributes["alarm"] = "x"  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        report.device_id = "2"  # type: ignore[misc]


def test_report_constructor_validates_ranges() -> None:
    """Tests that building a report by hand checks the same ranges the parser checks."""
    with pytest.raises(IngestError, match="^latitude: "):
        PositionReport(device_id="1", latitude=91.0, longitude=0.0)
    with pytest.raises(IngestError, match="^longitude: missing"):
        PositionReport(device_id="1", latitude=1.0)
    with pytest.raises(IngestError, match="^fix_time: "):
        PositionReport(device_id="1", fix_time=datetime(2025, 1, 1))
    with pytest.raises(IngestError, match="^battery_pct: "):
        PositionReport(device_id="1", battery_pct=101.0)


# --- query form: what real clients send -------------------------------------------------


def test_legacy_android_client_query() -> None:
    """Tests that the legacy Android client's POST-with-query request parses field by field."""
    report = parse_osmand(
        query=pairs(
            "id=123456789012345&timestamp=619315200&lat=0.0&lon=0.0&speed=0.0&bearing=0.0"
            "&altitude=0.0&accuracy=0.0&batt=0.0&charge=true&mock=true&alarm=sos"
        ),
        form=[],
        content_type=None,
        body=b"",
    )
    assert report.device_id == "123456789012345"
    assert report.fix_time == datetime(1989, 8, 17, tzinfo=UTC)
    assert (report.latitude, report.longitude) == (0.0, 0.0)
    assert report.speed_mps == 0.0
    assert report.bearing_deg == 0.0
    assert report.altitude_m == 0.0
    assert report.accuracy_m == 0.0
    assert report.battery_pct == 0.0
    assert report.charging is True
    assert report.mock is True
    assert report.valid is True
    assert report.hdop is None
    assert report.attributes == {"alarm": "sos"}


def test_legacy_android_client_with_real_values() -> None:
    """Tests a typical legacy-client fix: speed in knots, fractional battery percent."""
    report = from_query(
        "id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&speed=9.72"
        "&bearing=7.19889788244&altitude=12.5&accuracy=14.9&batt=87.5"
    )
    assert report.fix_time == datetime(2017, 9, 7, 5, 56, 50, tzinfo=UTC)
    assert report.latitude == 40.7232948571
    assert report.longitude == -74.0061408571
    assert report.speed_mps == pytest.approx(9.72 * KNOTS)
    assert report.bearing_deg == 7.19889788244
    assert report.battery_pct == 87.5
    assert report.charging is None


def test_osmand_app_get_template_with_milliseconds() -> None:
    """Tests the OsmAnd app's GET template: millisecond timestamp, `hdop`, Java float strings."""
    report = from_query(
        "id=123456&lat=60.16991&lon=24.93545&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=1.5&bearing=271.3"
    )
    assert report.fix_time == datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)
    assert (report.latitude, report.longitude) == (60.16991, 24.93545)
    assert report.hdop == 6.0
    assert report.altitude_m == 224.0
    # OsmAnd really sends m/s here, but the protocol (and Traccar) reads `speed` as knots.
    assert report.speed_mps == pytest.approx(1.5 * KNOTS)
    assert report.bearing_deg == 271.3
    assert "hdop" not in report.attributes


def test_traccar_decoder_examples_all_parse() -> None:
    """Tests that every query the Traccar decoder test accepts also parses here."""
    for query in (
        "id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0",
        "id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=0.0",
        "lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681",
        "id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0",
        "id=123456&timestamp=1377177267&lat=60.0&lon=30.0",
        "lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456",
        "id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
        "id=123456&timestamp=1377177267&location=60.0,30.0",
    ):
        assert isinstance(from_query(query), PositionReport), query


def test_traccar_sdk_form_body_is_used_when_the_query_is_empty() -> None:
    """Tests the Traccar SDK's x-www-form-urlencoded POST: the form pairs are read when the query has none."""
    form = pairs(
        "id=48241179&lat=52.520008&lon=13.404954&timestamp=1748600000&accuracy=4.5&altitude=34.0"
        "&speed=7.78&bearing=180.0&batt=87&charge=false&battery_health=good&battery_voltage=4.12"
    )
    report = parse_osmand(
        query=[], form=form, content_type="application/x-www-form-urlencoded", body=b"ignored, already decoded"
    )
    assert report.device_id == "48241179"
    assert report.fix_time == datetime(2025, 5, 30, 10, 13, 20, tzinfo=UTC)
    assert (report.latitude, report.longitude) == (52.520008, 13.404954)
    assert report.accuracy_m == 4.5
    assert report.speed_mps == pytest.approx(7.78 * KNOTS)
    assert report.battery_pct == 87.0
    assert report.charging is False
    assert report.attributes == {"battery_health": "good", "battery_voltage": 4.12}


def test_query_wins_over_form() -> None:
    """Tests that the form is ignored when the query string has parameters (as in Traccar)."""
    report = parse_osmand(
        query=pairs("id=1&lat=1.0&lon=2.0"), form=pairs("id=2&lat=3.0&lon=4.0"), content_type=None, body=b""
    )
    assert (report.device_id, report.latitude, report.longitude) == ("1", 1.0, 2.0)


def test_report_without_coordinates_parses() -> None:
    """Tests that a report without lat/lon (a heartbeat) parses with both coordinates None."""
    report = from_query("id=123456&timestamp=1377177267&batt=50")
    assert (report.latitude, report.longitude) == (None, None)
    assert report.battery_pct == 50.0


def test_missing_timestamp_leaves_fix_time_unset() -> None:
    """Tests that without `timestamp` the fix time is None (the server's receive time is used later)."""
    assert from_query("id=1&lat=1&lon=2").fix_time is None


# --- query form: aliases and parameter rules --------------------------------------------


def test_deviceid_alias() -> None:
    """Tests that `deviceid` is accepted in place of `id`."""
    assert from_query("deviceid=123456&lat=60.0&lon=30.0").device_id == "123456"


def test_heading_alias() -> None:
    """Tests that `heading` is accepted in place of `bearing`."""
    assert from_query("id=1&lat=60.0&lon=30.0&heading=45.5").bearing_deg == 45.5


def test_location_parameter_sets_both_coordinates() -> None:
    """Tests that `location=lat,lon` sets latitude and longitude, with a literal or encoded comma."""
    report = from_query("id=123456&timestamp=1377177267&location=60.0,30.0")
    assert (report.latitude, report.longitude) == (60.0, 30.0)
    report = from_query("id=1&location=-33.8688%2C151.2093")
    assert (report.latitude, report.longitude) == (-33.8688, 151.2093)


def test_later_coordinate_parameter_wins() -> None:
    """Tests that whichever of lat/lon/location comes later wins."""
    report = from_query("id=1&lat=10.0&lon=20.0&location=60.0,30.0")
    assert (report.latitude, report.longitude) == (60.0, 30.0)
    report = from_query("id=1&location=60.0,30.0&lat=10.0")
    assert (report.latitude, report.longitude) == (10.0, 30.0)


def test_speed_knots_are_converted_to_metres_per_second() -> None:
    """Tests that `speed` is read as knots: 10 kn = 5.14444 m/s."""
    assert from_query("id=1&lat=1&lon=1&speed=10").speed_mps == pytest.approx(5.14444)
    assert from_query("id=1&lat=1&lon=1&speed=0").speed_mps == 0.0


@pytest.mark.parametrize(("raw", "expected"), [("-90", 270.0), ("360", 0.0), ("725.5", 5.5), ("-0.0", 0.0)])
def test_bearing_is_normalised_into_a_circle(raw: str, expected: float) -> None:
    """Tests that a bearing outside 0..360 is wrapped onto the compass."""
    assert from_query(f"id=1&lat=1&lon=1&bearing={raw}").bearing_deg == pytest.approx(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("TRUE", True), ("false", False), ("0", False), ("no", False), ("", False)],
)
def test_valid_parameter(raw: str, expected: bool) -> None:
    """Tests that `valid` is true only for true/1, anything else is invalid (Traccar's rule)."""
    assert from_query(f"id=1&lat=1&lon=1&valid={raw}").valid is expected


def test_valid_defaults_to_true() -> None:
    """Tests that a report without `valid` is valid."""
    assert from_query("id=1&lat=1&lon=1").valid is True


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False), ("1", True), ("0", False)])
def test_mock_and_charge_flags(raw: str, expected: bool) -> None:
    """Tests that `mock` and `charge` accept true/false/1/0."""
    report = from_query(f"id=1&lat=1&lon=1&mock={raw}&charge={raw}")
    assert report.mock is expected
    assert report.charging is expected


def test_unknown_keys_become_typed_attributes() -> None:
    """Tests that other keys are kept: numbers as float, exactly true/false as bool, else the string."""
    report = from_query(
        "id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&speed=40"
        "&ignition=true&door=false&rpm=933&fuel=24&vacc=0&alarm=alert+message&trip=Test+2&flag=TRUE"
        "&driverUniqueId=12345&notificationToken=abc%3A123&imei=356938035643809"
    )
    assert report.attributes == {
        "ignition": True,
        "door": False,
        "rpm": 933.0,
        "fuel": 24.0,
        "vacc": 0.0,
        "alarm": "alert message",
        "trip": "Test 2",
        "flag": "TRUE",
        "driverUniqueId": "12345",
        "notificationToken": "abc:123",
        "imei": "356938035643809",
    }
    assert isinstance(report.attributes["rpm"], float)


def test_repeated_cell_and_wifi_are_joined_and_other_keys_keep_the_last() -> None:
    """Tests that repeated cell/wifi values are kept ';'-joined (MACs with ':'), other repeats keep the last."""
    report = from_query(
        "id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90"
        "&wifi=00-14-22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70&trip=a&trip=b"
    )
    assert report.attributes == {
        "cell": "257,02,16,2224;257,02,16,2223,-90",
        "wifi": "00:14:22:01:23:45,-80;00:1C:B3:09:85:15,-70",
        "trip": "b",
    }


def test_numbers_are_read_permissively() -> None:
    """Tests that the number spellings real phones send are accepted: `60`, `60.0`, `.5`, `1.0E-4`, spaces."""
    report = from_query("id=1&lat=60&lon=1.0E-4&accuracy=.5&altitude=+12.&batt=%2087%20")
    assert (report.latitude, report.longitude) == (60.0, 0.0001)
    assert report.accuracy_m == 0.5
    assert report.altitude_m == 12.0
    assert report.battery_pct == 87.0


def test_id_is_stripped() -> None:
    """Tests that whitespace around the device id is dropped."""
    assert from_query("id=+123456+&lat=1&lon=1").device_id == "123456"


# --- timestamps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1377177267", datetime(2013, 8, 22, 13, 14, 27, tzinfo=UTC)),
        ("2147483646", datetime(2038, 1, 19, 3, 14, 6, tzinfo=UTC)),
        ("1442068686579", datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)),
        ("1377177267.5", datetime(2013, 8, 22, 13, 14, 27, 500000, tzinfo=UTC)),
        ("1442068686579.25", datetime(2015, 9, 12, 14, 38, 6, 579250, tzinfo=UTC)),
        ("2016-01-27T18:55:47Z", datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)),
        ("2025-06-15T13:45:12.862Z", datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)),
        ("2016-01-27T20:55:47+02:00", datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)),
        ("2016-01-27T13:55:47.250-05:00", datetime(2016, 1, 27, 18, 55, 47, 250000, tzinfo=UTC)),
        ("2014-06-04 09:10:11", datetime(2014, 6, 4, 9, 10, 11, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(raw: str, expected: datetime) -> None:
    """Tests each timestamp form: seconds, milliseconds, decimal seconds, ISO 8601 with a zone, space form as UTC."""
    report = parse_osmand(query=[("id", "1"), ("timestamp", raw)], form=[], content_type=None, body=b"")
    assert report.fix_time == expected
    assert report.fix_time is not None and report.fix_time.utcoffset() == timedelta(0)


def test_url_encoded_space_form_timestamp() -> None:
    """Tests the Traccar example `2014-06-04+09%3A10%3A11` (read as UTC, not the server's zone)."""
    report = from_query("lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&id=353861053849681")
    assert report.fix_time == datetime(2014, 6, 4, 9, 10, 11, tzinfo=UTC)


def test_iso_timestamp_without_zone_is_rejected() -> None:
    """Tests that an ISO 8601 time without Z or an offset is refused rather than guessed."""
    error = query_error("id=1&timestamp=2016-01-27T18%3A55%3A47")
    assert error.field == "timestamp"
    assert "no time zone" in error.reason


@pytest.mark.parametrize(
    "raw",
    ["2016-13-01", "2016-01-15 21:41:18.000", "2016-02-30 10:00:00", "yesterday", "-5", "1e9", "2016-01-27Tnoon"],
)
def test_unparseable_timestamps_are_rejected(raw: str) -> None:
    """Tests that an unparseable timestamp names the field and the accepted forms."""
    with pytest.raises(IngestError) as caught:
        parse_osmand(query=[("id", "1"), ("timestamp", raw)], form=[], content_type=None, body=b"")
    assert str(caught.value) == f"timestamp: {raw!r} is not Unix seconds, milliseconds or ISO 8601 with a zone"


def test_timestamp_out_of_range() -> None:
    """Tests that a millisecond timestamp past year 9999 is an error, not a crash."""
    error = query_error("id=1&timestamp=99999999999999999999")
    assert error.field == "timestamp"
    assert "out of range" in error.reason


# --- validation: each error names its field ----------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("lat=60&lon=30", "id: missing (send id or deviceid)"),
        ("id=&lat=60&lon=30", "id: missing (send id or deviceid)"),
        ("deviceid=+&lat=60&lon=30", "id: missing (send id or deviceid)"),
        ("id=1&lat=abc&lon=30", "lat: 'abc' is not a number"),
        ("id=1&lat=&lon=30", "lat: '' is not a number"),
        ("id=1&lat=60,5&lon=30", "lat: '60,5' is not a number"),
        ("id=1&lat=91&lon=30", "lat: '91' is not within -90..90"),
        ("id=1&lat=-90.5&lon=30", "lat: '-90.5' is not within -90..90"),
        ("id=1&lat=60&lon=180.01", "lon: '180.01' is not within -180..180"),
        ("id=1&lat=nan&lon=30", "lat: 'nan' is not a finite number"),
        ("id=1&lat=60&lon=Infinity", "lon: 'Infinity' is not a finite number"),
        ("id=1&lat=1e999&lon=30", "lat: '1e999' is not a finite number"),
        ("id=1&lat=60", "lon: missing (lat was sent)"),
        ("id=1&lon=30", "lat: missing (lon was sent)"),
        ("id=1&location=60", "location: '60' is not 'lat,lon'"),
        ("id=1&location=60,30,1", "location: '60,30,1' is not 'lat,lon'"),
        ("id=1&location=95,30", "location: '95' is not within -90..90"),
        ("id=1&lat=60&lon=30&accuracy=-1", "accuracy: '-1' is negative"),
        ("id=1&lat=60&lon=30&speed=-1", "speed: '-1' is negative"),
        ("id=1&lat=60&lon=30&speed=fast", "speed: 'fast' is not a number"),
        ("id=1&lat=60&lon=30&bearing=north", "bearing: 'north' is not a number"),
        ("id=1&lat=60&lon=30&heading=nan", "heading: 'nan' is not a finite number"),
        ("id=1&lat=60&lon=30&altitude=high", "altitude: 'high' is not a number"),
        ("id=1&lat=60&lon=30&hdop=-2", "hdop: '-2' is negative"),
        ("id=1&lat=60&lon=30&batt=101", "batt: '101' is not within 0..100"),
        ("id=1&lat=60&lon=30&batt=-1", "batt: '-1' is not within 0..100"),
        ("id=1&lat=60&lon=30&charge=maybe", "charge: 'maybe' is not true or false"),
        ("id=1&lat=60&lon=30&mock=yes", "mock: 'yes' is not true or false"),
        (
            "id=1&lat=60&lon=30&timestamp=2016-13-01",
            "timestamp: '2016-13-01' is not Unix seconds, milliseconds or ISO 8601 with a zone",
        ),
    ],
)
def test_query_validation_errors_name_the_field(query: str, message: str) -> None:
    """Tests that each kind of garbage value is refused with a message naming its parameter."""
    assert str(query_error(query)) == message


def test_unicode_digits_are_not_numbers() -> None:
    """Tests that non-ASCII digits (which Python's float() would accept) are refused."""
    assert query_error("id=1&lat=%D9%A3&lon=30").field == "lat"


# --- JSON body (Traccar Client 9) --------------------------------------------------------


def test_traccar_client_9_json_body() -> None:
    """Tests the spec's Traccar Client 9 JSON body: m/s speed, heading -1 unknown, battery fraction, attributes."""
    report = from_json(client9_body())
    assert report.device_id == "48241179"
    assert report.fix_time == datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)
    assert (report.latitude, report.longitude) == (37.4219983, -122.084)
    assert report.accuracy_m == 5.0
    assert report.speed_mps == 0.0
    assert report.bearing_deg is None
    assert report.altitude_m == 5.0
    assert report.battery_pct == 100.0
    assert report.charging is False
    assert report.mock is False
    assert report.valid is True
    assert report.attributes == {"motion": False, "odometer": 0, "event": "motionchange", "activity": "still"}


def test_traccar_client_9_json_with_all_fields() -> None:
    """Tests a moving fix with every field: speed kept in m/s, heading, 0.79 battery -> 79 %, extras, alarm, mock."""
    body = {
        "location": {
            "event": "motionchange",
            "is_moving": True,
            "uuid": "0e9a2473-a9a7-4c00-997b-fb97d2154e75",
            "timestamp": "2021-07-21T08:06:34.444Z",
            "odometer": 1234.5,
            "mock": True,
            "alarm": "sos",
            "coords": {
                "latitude": -6.1148096,
                "longitude": 106.6837015,
                "accuracy": 3.8,
                "speed": 18.67,
                "speed_accuracy": 0.26,
                "heading": 63,
                "heading_accuracy": 0.28,
                "altitude": 35.7,
                "altitude_accuracy": 3.8,
                "floor": None,
            },
            "activity": {"type": "in_vehicle", "confidence": 100},
            "battery": {"is_charging": True, "level": 0.79},
            "extras": {
                "device_string_test": "long_device_id",
                "device_bool_test": True,
                "device_bool_false_test": False,
                "device_integer_test": 1,
                "device_double_test": 1.345,
                "device_very_long_double_test": 1763636.3442,
                "heartbeat": True,
                "alarm": "ignored because location.alarm exists",
                "nothing": None,
                "nested": {"a": 1},
                "listed": [1, 2],
            },
            "age": 188,
        },
        "device_id": "8737767034",
    }
    report = from_json(body, content_type="application/json; charset=utf-8")
    assert report.device_id == "8737767034"
    assert report.fix_time == datetime(2021, 7, 21, 8, 6, 34, 444000, tzinfo=UTC)
    assert (report.latitude, report.longitude) == (-6.1148096, 106.6837015)
    assert report.accuracy_m == 3.8
    assert report.speed_mps == 18.67
    assert report.bearing_deg == 63.0
    assert report.altitude_m == 35.7
    assert report.battery_pct == 79.0
    assert report.charging is True
    assert report.mock is True
    assert report.attributes == {
        "device_string_test": "long_device_id",
        "device_bool_test": True,
        "device_bool_false_test": False,
        "device_integer_test": 1,
        "device_double_test": 1.345,
        "device_very_long_double_test": 1763636.3442,
        "heartbeat": True,
        "alarm": "sos",
        "event": "motionchange",
        "motion": True,
        "odometer": 1234.5,
        "activity": "in_vehicle",
    }
    assert isinstance(report.attributes["device_integer_test"], int)


def test_json_unknown_speed_heading_and_battery() -> None:
    """Tests the iOS mock example: speed -1, heading -1 and battery level -1 all mean "unknown"."""
    report = from_json(
        {
            "location": {
                "extras": {},
                "mock": True,
                "coords": {
                    "speed_accuracy": -1,
                    "speed": -1,
                    "longitude": -122.406417,
                    "ellipsoidal_altitude": 0,
                    "floor": None,
                    "heading_accuracy": -1,
                    "latitude": 37.785834000000001,
                    "accuracy": 5,
                    "altitude_accuracy": -1,
                    "altitude": 0,
                    "heading": -1,
                },
                "is_moving": False,
                "age": 188,
                "odometer": 0,
                "uuid": "2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8",
                "event": "motionchange",
                "battery": {"level": -1, "is_charging": False},
                "activity": {"type": "unknown", "confidence": 100},
                "timestamp": "2025-05-09T04:11:30.579Z",
            },
            "device_id": "658765",
        }
    )
    assert report.speed_mps is None
    assert report.bearing_deg is None
    assert report.battery_pct is None
    assert report.mock is True
    assert report.latitude == 37.785834


def test_json_without_coords_is_a_heartbeat() -> None:
    """Tests that a JSON location without coords parses with no coordinates and valid=False."""
    body = client9_body(extras={"heartbeat": True})
    del body["location"]["coords"]
    report = from_json(body)
    assert (report.latitude, report.longitude) == (None, None)
    assert report.valid is False
    assert report.attributes["heartbeat"] is True


def test_json_numbers_may_be_strings() -> None:
    """Tests that numeric JSON values sent as strings are accepted."""
    report = from_json(client9_body(coords={"latitude": "37.5", "longitude": "-122.25", "speed": "3.5"}))
    assert (report.latitude, report.longitude, report.speed_mps) == (37.5, -122.25, 3.5)


def test_flat_json_object_is_accepted_on_the_osmand_endpoint() -> None:
    """Tests that a flat object with the query keys (id, lat, lon, speed in knots) also parses as JSON."""
    report = from_json({"id": "1", "lat": 60.0, "lon": 30.0, "speed": 10, "timestamp": 1377177267})
    assert report.speed_mps == pytest.approx(10 * KNOTS)
    assert report.fix_time == datetime(2013, 8, 22, 13, 14, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"location": {"timestamp": "2025-06-15T13:45:12Z"}}, "device_id"),
        ({"device_id": "", "location": {"timestamp": "2025-06-15T13:45:12Z"}}, "device_id"),
        ({"device_id": "1"}, "location"),
        ({"device_id": "1", "location": []}, "location"),
        ({"device_id": "1", "location": {"coords": {"latitude": 1, "longitude": 2}}}, "location.timestamp"),
        (client9_body(timestamp="2025-06-15T13:45:12"), "location.timestamp"),
        (client9_body(coords={"longitude": 2}), "location.coords.latitude"),
        (client9_body(coords={"latitude": 1, "longitude": None}), "location.coords.longitude"),
        (client9_body(coords={"latitude": 100, "longitude": 2}), "location.coords.latitude"),
        (client9_body(coords={"latitude": 1, "longitude": "east"}), "location.coords.longitude"),
        (client9_body(coords={"latitude": True, "longitude": 2}), "location.coords.latitude"),
        (client9_body(coords={"latitude": 1, "longitude": 2, "accuracy": -1}), "location.coords.accuracy"),
        (client9_body(coords={"latitude": 1, "longitude": 2, "speed": "x"}), "location.coords.speed"),
        (client9_body(coords="here"), "location.coords"),
        (client9_body(battery={"level": 1.5}), "location.battery.level"),
        (client9_body(battery={"level": 0.5, "is_charging": "perhaps"}), "location.battery.is_charging"),
        (client9_body(mock="sometimes"), "location.mock"),
        (client9_body(extras=[1]), "location.extras"),
        (client9_body(event={"x": 1}), "location.event"),
    ],
)
def test_json_validation_errors_name_the_field(document: Any, field: str) -> None:
    """Tests that a bad JSON-form value is refused naming its path in the document."""
    assert json_error(document).field == field


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "expected a JSON object, got an array"),
        (b'"text"', "expected a JSON object, got a string"),
        (b"", "invalid JSON: "),
        (b"{not json", "invalid JSON: "),
        (b'{"device_id": NaN}', "invalid JSON: NaN is not a JSON value"),
        (b"\xff\xfe{", "invalid JSON: not UTF-8"),
        (b"[" * 100_000, "invalid JSON: "),
    ],
)
def test_json_body_errors(body: bytes, reason: str) -> None:
    """Tests that a JSON body that is not one JSON object is refused on field `body`."""
    with pytest.raises(IngestError) as caught:
        parse_osmand(query=[], form=[], content_type="application/json", body=body)
    assert caught.value.field == "body"
    assert caught.value.reason.startswith(reason)


def test_json_content_type_wins_over_the_query() -> None:
    """Tests that Content-Type application/json selects the JSON body even when the URL has a query."""
    report = parse_osmand(
        query=pairs("id=999&lat=1&lon=1"),
        form=[],
        content_type="Application/JSON",
        body=json.dumps(client9_body()).encode(),
    )
    assert report.device_id == "48241179"


# --- batch ---------------------------------------------------------------------------------


def test_batch_of_flat_items_keeps_order_and_errors_in_place() -> None:
    """Tests that a batch returns one result per item in order, a bad item as an IngestError at its index."""
    body = json.dumps(
        [
            {
                "id": "48241179",
                "lat": 52.52,
                "lon": 13.405,
                "timestamp": 1748600000,
                "speed": 10,
                "batt": 87,
                "charge": True,
            },
            {"id": "48241179", "lat": "abc", "lon": 13.405, "timestamp": 1748600005},
            {"id": "48241179", "lat": "52.53", "lon": "13.41", "timestamp": "1748600010", "accuracy": None},
            "not an object",
            {"lat": 1, "lon": 2},
            {"id": 48241179, "timestamp": 1748600020, "alarm": "sos", "level": 3, "ratio": 0.5, "tags": ["x"]},
        ]
    ).encode()
    results = parse_batch(body)
    assert len(results) == 6
    first, second, third, fourth, fifth, sixth = results
    assert isinstance(first, PositionReport)
    assert first.speed_mps == pytest.approx(10 * KNOTS)
    assert (first.battery_pct, first.charging) == (87.0, True)
    assert isinstance(second, IngestError) and str(second) == "lat: 'abc' is not a number"
    assert isinstance(third, PositionReport)
    assert (third.latitude, third.longitude, third.accuracy_m) == (52.53, 13.41, None)
    assert third.fix_time == datetime(2025, 5, 30, 10, 13, 30, tzinfo=UTC)
    assert isinstance(fourth, IngestError) and fourth.field == "item"
    assert isinstance(fifth, IngestError) and str(fifth) == "id: missing (send id or deviceid)"
    assert isinstance(sixth, PositionReport)
    assert sixth.device_id == "48241179"
    assert sixth.attributes == {"alarm": "sos", "level": 3, "ratio": 0.5}


def test_batch_positions_object_with_both_item_forms() -> None:
    """Tests `{"positions": [...]}` holding a flat item and a Traccar Client 9 item."""
    body = json.dumps(
        {
            "positions": [
                {"id": "1", "lat": 60.0, "lon": 30.0, "timestamp": "2016-01-27T18:55:47Z"},
                client9_body(),
                client9_body(coords={"latitude": 1, "longitude": 500}),
            ]
        }
    ).encode()
    first, second, third = parse_batch(body)
    assert isinstance(first, PositionReport) and first.device_id == "1"
    assert isinstance(second, PositionReport) and second.device_id == "48241179"
    assert isinstance(third, IngestError) and third.field == "location.coords.longitude"


def test_empty_batch() -> None:
    """Tests that an empty array is an empty batch, not an error."""
    assert parse_batch(b"[]") == []
    assert parse_batch(b'{"positions": []}') == []


def test_batch_limit() -> None:
    """Tests that exactly MAX_BATCH_ITEMS items parse and one more refuses the whole body."""
    item = {"id": "1", "lat": 1, "lon": 2}
    assert len(parse_batch(json.dumps([item] * MAX_BATCH_ITEMS).encode())) == MAX_BATCH_ITEMS
    with pytest.raises(IngestError) as caught:
        parse_batch(json.dumps([item] * (MAX_BATCH_ITEMS + 1)).encode())
    assert caught.value.field == "body"
    assert "10001 items" in caught.value.reason


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"42", b'"x"', b"null", b'{"items": []}', b'{"positions": {}}', b"[1,"]
)
def test_batch_whole_body_errors(body: bytes) -> None:
    """Tests that a body that is not JSON, not an array and not a `positions` object is refused on `body`."""
    with pytest.raises(IngestError) as caught:
        parse_batch(body)
    assert caught.value.field == "body"


# --- to_position ---------------------------------------------------------------------------


def test_to_position_copies_the_report() -> None:
    """Tests that a full report becomes a Position with device_time = fix_time and hdop in the attributes."""
    report = from_query(
        "id=123456&lat=60.16991&lon=24.93545&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=1.5"
        "&bearing=90&accuracy=8&batt=55&charge=true&mock=true&alarm=sos"
    )
    position = to_position(report, worker_id=7, server_time=SERVER_TIME, last=None)
    assert position.worker_id == 7
    assert position.device_id == "123456"
    assert position.fix_time == position.device_time == datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)
    assert position.server_time == SERVER_TIME
    assert (position.latitude, position.longitude) == (60.16991, 24.93545)
    assert position.speed_mps == pytest.approx(1.5 * KNOTS)
    assert (position.bearing_deg, position.altitude_m, position.accuracy_m) == (90.0, 224.0, 8.0)
    assert (position.battery_pct, position.charging, position.mock, position.valid) == (55.0, True, True, True)
    assert dict(position.attributes) == {"alarm": "sos", "hdop": 6.0}


def test_to_position_defaults_fix_time_to_server_time() -> None:
    """Tests that a report without a timestamp gets the server's receive time as fix and device time."""
    position = to_position(from_query("id=1&lat=1&lon=2"), worker_id=1, server_time=SERVER_TIME, last=None)
    assert position.fix_time == position.device_time == SERVER_TIME


def test_to_position_carries_over_the_last_coordinates() -> None:
    """Tests that a report without lat/lon gets the last position's coordinates and `outdated=True`."""
    last = last_position(valid=True)
    report = from_query("id=123456&timestamp=1749996000&batt=40")
    position = to_position(report, worker_id=7, server_time=SERVER_TIME, last=last)
    assert (position.latitude, position.longitude) == (last.latitude, last.longitude)
    assert (position.accuracy_m, position.altitude_m) == (12.0, 18.0)
    assert position.attributes["outdated"] is True
    assert position.fix_time == datetime(2025, 6, 15, 14, 0, tzinfo=UTC)
    assert position.speed_mps is None
    assert position.battery_pct == 40.0


def test_to_position_carry_over_of_json_heartbeat() -> None:
    """Tests that a JSON heartbeat without coords takes the last position's coordinates and validity."""
    body = client9_body()
    del body["location"]["coords"]
    position = to_position(from_json(body), worker_id=7, server_time=SERVER_TIME, last=last_position())
    assert (position.latitude, position.longitude) == (60.16991, 24.93545)
    assert position.valid is True
    assert position.attributes["outdated"] is True


def test_to_position_without_coordinates_or_last_position() -> None:
    """Tests that a report without coordinates and no earlier position is an error on `lat`."""
    with pytest.raises(IngestError) as caught:
        to_position(from_query("id=1&batt=40"), worker_id=1, server_time=SERVER_TIME, last=None)
    assert str(caught.value) == "lat: missing, and no earlier position to carry over"


def test_to_position_ignores_a_phone_sent_outdated_flag() -> None:
    """Tests that only the server marks a position outdated, not a phone's `outdated` parameter."""
    position = to_position(
        from_query("id=1&lat=1&lon=2&outdated=true"), worker_id=1, server_time=SERVER_TIME, last=None
    )
    assert "outdated" not in position.attributes


# --- properties ------------------------------------------------------------------------------

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
knots = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(lat=latitudes, lon=longitudes, speed=knots)
def test_in_range_values_round_trip_through_the_query_form(lat: float, lon: float, speed: float) -> None:
    """Tests that any finite in-range lat/lon/speed, written as Python or fixed-point text, parses back exactly."""
    for text in (repr, lambda x: format(x, ".17f")):
        report = parse_osmand(
            query=[("id", "1"), ("lat", text(lat)), ("lon", text(lon)), ("speed", text(speed))],
            form=[],
            content_type=None,
            body=b"",
        )
        assert report.latitude == float(text(lat))
        assert report.longitude == float(text(lon))
        assert report.speed_mps == float(text(speed)) * KNOTS
    assert from_query(f"id=1&lat={lat!r}&lon={lon!r}").latitude == lat


@given(a=knots, b=knots)
def test_knots_conversion_is_monotonic(a: float, b: float) -> None:
    """Tests that a higher speed in knots never yields a lower speed in m/s."""
    low, high = sorted((a, b))
    low_mps = from_query(f"id=1&lat=0&lon=0&speed={low!r}").speed_mps
    high_mps = from_query(f"id=1&lat=0&lon=0&speed={high!r}").speed_mps
    assert low_mps is not None and high_mps is not None
    assert 0 <= low_mps <= high_mps


@given(bearing=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_bearing_always_lands_on_the_compass(bearing: float) -> None:
    """Tests that any finite bearing is normalised into 0..360."""
    result = from_query(f"id=1&lat=0&lon=0&bearing={bearing!r}").bearing_deg
    assert result is not None and 0 <= result < 360
    assert math.isclose(math.cos(math.radians(result)), math.cos(math.radians(bearing)), abs_tol=1e-6)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "batt", "x"]),
            st.text(max_size=20),
        ),
        max_size=8,
    )
)
def test_query_parser_fails_only_with_ingest_error(query: list[tuple[str, str]]) -> None:
    """Tests that arbitrary query pairs give a report or an IngestError, never another exception."""
    try:
        parse_osmand(query=query, form=[], content_type=None, body=b"")
    except IngestError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
item_keys = st.sampled_from(["id", "device_id", "lat", "lon", "timestamp", "speed", "location", "coords", "battery"])


@given(st.lists(st.dictionaries(item_keys, json_values, max_size=6), max_size=5))
def test_batch_parser_fails_only_with_ingest_error(items: list[dict[str, Any]]) -> None:
    """Tests that arbitrary JSON items each give a report or an IngestError, one per item."""
    results = parse_batch(json.dumps(items).encode())
    assert len(results) == len(items)
    assert all(isinstance(result, PositionReport | IngestError) for result in results)
