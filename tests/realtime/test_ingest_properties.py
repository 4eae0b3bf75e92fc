"""Property tests of the position parsers: whatever a phone or an attacker sends, the answer is a report or an IngestError.

Hypothesis runs derandomised (the `ci` profile in tests/support/common.py).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.positions import PositionLimits
from realtime.ingest import (
    DROPPED,
    MAX_ATTRIBUTE_BYTES,
    MAX_ATTRIBUTES,
    MAX_ATTRIBUTES_BYTES,
    MAX_LIST_BYTES,
    IngestError,
    PositionReport,
    check_fix_times,
    decode_json,
    parse_batch,
    parse_item,
    parse_osmand,
    plain_fix,
)

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
KNOWN_KEYS = ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading", "altitude",
              "accuracy", "hdop", "batt", "charge", "mock", "valid", "cell", "wifi", "imei", "alarm", "outdated",
              DROPPED]  # fmt: skip

EDGY_NUMBERS = st.sampled_from(
    ["0", "-0", "1e20", "-1e20", "1e309", "NaN", "inf", "-inf", "9" * 400, "0001-01-01T00:00:00+01:00",
     "9999-12-31T23:59:59-01:00", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "1733300000000000",
     "2147483647", "2147483648", "1970-01-01 00:00:00", "2025-02-30 00:00:00", "90", "-90.0000001", "180.5", ""]
)  # fmt: skip
VALUES = st.one_of(st.text(max_size=40), EDGY_NUMBERS, st.floats(allow_nan=True, allow_infinity=True).map(repr))
PAIRS = st.lists(st.tuples(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12)), VALUES), max_size=40)

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    EDGY_NUMBERS,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8)), inner, max_size=8)
    ),
    max_leaves=30,
)  # fmt: skip
LOCATED = st.fixed_dictionaries(
    {"device_id": st.one_of(st.text(max_size=10), JSON_SCALARS)},
    optional={
        "location": st.fixed_dictionaries(
            {"timestamp": JSON_SCALARS},
            optional={
                "coords": st.dictionaries(
                    st.sampled_from(["latitude", "longitude", "accuracy", "speed", "heading", "altitude"]), JSON_SCALARS
                ),
                "battery": st.dictionaries(st.sampled_from(["level", "is_charging"]), JSON_SCALARS),
                "extras": st.dictionaries(st.text(max_size=300), JSON_VALUES, max_size=50),
                "odometer": JSON_SCALARS,
                "is_moving": JSON_SCALARS,
            },
        )
    },
)


def assert_within_range(report: PositionReport) -> None:
    """What an accepted report promises: values in range, an aware UTC time, bounded attributes."""
    assert report.device_id
    if report.fix_time is not None:
        assert report.fix_time.utcoffset() == timedelta(0)
    if report.latitude is not None:
        assert -90 <= report.latitude <= 90 and -180 <= report.longitude <= 180  # type: ignore[operator]
    for value in (report.accuracy_m, report.speed_mps, report.hdop):
        assert value is None or (math.isfinite(value) and value >= 0)
    assert report.bearing_deg is None or 0 <= report.bearing_deg < 360
    assert report.battery_pct is None or 0 <= report.battery_pct <= 100
    plain = {k: v for k, v in report.attributes.items() if k not in ("cell", "wifi", DROPPED)}
    assert len(plain) <= MAX_ATTRIBUTES
    sizes = [len(k.encode()) + len(str(v).encode()) for k, v in plain.items()]
    assert all(size <= MAX_ATTRIBUTE_BYTES for size in sizes) and sum(sizes) <= MAX_ATTRIBUTES_BYTES
    for key in ("cell", "wifi"):
        assert len(str(report.attributes.get(key, "")).encode()) <= MAX_LIST_BYTES
    dropped = report.attributes.get(DROPPED)
    assert dropped is None or (isinstance(dropped, int) and dropped > 0)


@given(PAIRS)
def test_any_query_string_gives_a_report_in_range_or_an_ingest_error(pairs):
    """Tests that parse_osmand on any key/value pairs either raises IngestError naming a field or returns a report within range."""
    try:
        report = parse_osmand(query=pairs, form=[], content_type=None, body=b"")
    except IngestError as error:
        assert error.field and error.reason
        return
    assert_within_range(report)


@given(st.one_of(LOCATED, JSON_VALUES))
def test_any_json_body_gives_a_report_in_range_or_an_ingest_error(document):
    """Tests that the JSON form (Traccar Client 9 or flat) never raises anything but IngestError, whatever the document."""
    try:
        report = parse_osmand(query=[], form=[], content_type="application/json", body=json.dumps(document).encode())
    except IngestError as error:
        assert error.field and error.reason
        return
    assert_within_range(report)


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_json_or_an_ingest_error_on_body(body):
    """Tests that decode_json refuses any non-JSON bytes (invalid UTF-8 included) with an IngestError on `body`."""
    try:
        decode_json(body)
    except IngestError as error:
        assert error.field == "body"


@given(st.integers(min_value=65, max_value=5_000), st.sampled_from(["[", '{"a":']))
def test_nesting_past_the_limit_is_refused_without_recursion(depth, opener):
    """Tests that arrays/objects nested deeper than 64 levels are refused on `body`, however deep."""
    closer = "]" if opener == "[" else "}"
    body = (opener * depth + "1" + closer * depth).encode()
    try:
        decode_json(body)
    except IngestError as error:
        assert error.field == "body" and "nested deeper than 64" in error.reason
    else:
        raise AssertionError("accepted JSON nested deeper than the limit")


@given(st.lists(st.one_of(LOCATED, JSON_VALUES), max_size=8))
def test_a_batch_gives_one_outcome_per_item_and_time_checks_keep_the_window(items):
    """Tests that parse_batch answers each item (report or IngestError) in order, and check_fix_times leaves only fixes inside the window."""
    limits = PositionLimits()
    results = check_fix_times(parse_batch(json.dumps(items).encode()), now=NOW, limits=limits)
    assert len(results) == len(items)
    for result in results:
        if isinstance(result, IngestError):
            assert result.field and result.reason
            continue
        assert_within_range(result)
        if result.fix_time is not None:
            assert NOW - timedelta(seconds=limits.max_age_s) <= result.fix_time
            assert result.fix_time <= NOW + timedelta(seconds=limits.max_future_s)


PLAIN_KEYS = [
    "id",
    "deviceid",
    "lat",
    "lon",
    "timestamp",
    "speed",
    "bearing",
    "heading",
    "altitude",
    "accuracy",
    "batt",
]
PLAIN_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400), 2**1000, 2**1024]),
    st.integers(min_value=0, max_value=300_000_000_000_000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-200, max_value=200),
    st.text(max_size=6),
    st.none(),
    st.booleans(),
)


NEAR_RANGE = st.one_of(st.floats(min_value=-400, max_value=400), st.integers(min_value=-400, max_value=400))
TIMES = st.one_of(st.integers(min_value=-10, max_value=2**31 + 10), st.integers(min_value=2**31, max_value=2**48))
PLAIN_ITEMS = st.fixed_dictionaries(
    {
        "id": st.text(max_size=6),
        "lat": st.one_of(st.floats(min_value=-91, max_value=91), st.integers(min_value=-91, max_value=91)),
        "lon": st.one_of(st.floats(min_value=-181, max_value=181), st.integers(min_value=-181, max_value=181)),
    },
    optional={
        **{key: st.one_of(NEAR_RANGE, PLAIN_VALUES) for key in [*PLAIN_KEYS[5:], "deviceid"]},
        "timestamp": st.one_of(TIMES, PLAIN_VALUES),
    },
)


@given(st.one_of(PLAIN_ITEMS, st.dictionaries(st.sampled_from([*PLAIN_KEYS, "hdop", "x"]), PLAIN_VALUES, max_size=11)))
def test_the_lean_batch_reading_agrees_with_the_full_parser(item):
    """Tests that whenever plain_fix reads a batch item (the batch endpoint's fast path), parse_item reads the same
    device, time, place, units and ranges from it, with no attributes; anything else is left to parse_item."""
    plain = plain_fix(item)
    if plain is None:
        return
    report = parse_item(item)
    assert isinstance(report, PositionReport), report
    assert plain[:9] == (
        report.device_id,
        report.fix_time,
        report.latitude,
        report.longitude,
        report.accuracy_m,
        report.speed_mps,
        report.bearing_deg,
        report.altitude_m,
        report.battery_pct,
    )
    # The time as read, handed to the alert evaluator beside the stored fix, is the fix time in microseconds.
    assert plain[9] == (
        None
        if report.fix_time is None
        else (report.fix_time - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    )
    assert report.attributes == {} and report.hdop is None and report.valid and not report.mock


def test_the_lean_batch_reading_takes_the_common_item():
    """Tests that the items phones and the simulator send (JSON numbers, integer ms time) take the fast path."""
    item = {"id": "dev-1", "lat": 43.73, "lon": 7.42, "timestamp": 1741003200000, "speed": 5, "batt": 80}
    assert plain_fix(item) == (
        "dev-1", datetime(2025, 3, 3, 12, 0, tzinfo=UTC), 43.73, 7.42, None, 5 * 0.514444, None, None, 80.0,
        1741003200000000,
    )  # fmt: skip


JSON_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=30,
)  # fmt: skip


@given(JSON_DOCUMENTS, st.booleans())
def test_decode_json_reads_what_the_standard_library_reads(document, ascii_only):
    """Tests that decode_json (orjson first, then `json` for what it refuses) decodes any JSON document to the
    value Python's `json` makes of it, integers beyond 64 bits exact and non-ASCII text as sent."""
    body = json.dumps(document, ensure_ascii=ascii_only).encode()
    assert decode_json(body) == json.loads(body)


def test_nesting_up_to_the_limit_is_read():
    """Tests that 64 levels of arrays/objects are read (65 are refused, above)."""
    assert decode_json(("[" * 64 + "1" + "]" * 64).encode()) == json.loads("[" * 64 + "1" + "]" * 64)
    assert decode_json(('{"a":' * 63 + "[1]" + "}" * 63).encode()) == json.loads('{"a":' * 63 + "[1]" + "}" * 63)


@pytest.mark.parametrize(
    "body",
    [
        b"[-9223372036854775809]",
        b"[18446744073709551616]",
        b'{"lat": -12345678901234567890}',
        b"[1, -99999999999999999999]",
    ],
)
def test_integers_beyond_64_bits_are_read_exact(body):
    """Tests that an integer orjson would read as a float (below -2**63, from 2**64 on) is read exact, as `json` does:
    an error answer then shows the value as sent."""
    assert decode_json(body) == json.loads(body)
    assert all(type(v) is int for v in (json.loads(body).values() if body.startswith(b"{") else json.loads(body)))
