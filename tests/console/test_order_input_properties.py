"""Property tests of the new-order parser: any JSON gives an order within range or a FieldError naming a field."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.order_input import MAX_ID, MAX_SERVICE_S, FieldError, parse_new_order

KEYS = ["site_id", "type", "priority", "required_skills", "window_start", "window_end", "service_minutes",
        "service_duration_s", "notes", "reference"]  # fmt: skip
TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z",
         "2025-03-03T09:00:00", "10000-01-01T00:00:00Z", "yesterday", ""]
    ),
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    TIMES,
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)), max_leaves=10)  # fmt: skip
BODIES = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), VALUES),
    st.fixed_dictionaries(
        {"site_id": st.one_of(st.integers(min_value=-5, max_value=2**64), st.text(max_size=5)), "window_start": TIMES,
         "window_end": TIMES},
        optional={"priority": SCALARS, "service_minutes": SCALARS, "service_duration_s": SCALARS, "type": SCALARS,
                  "required_skills": VALUES, "notes": SCALARS, "reference": SCALARS},
    ),
    VALUES,
)  # fmt: skip


@given(BODIES)
def test_any_body_gives_an_order_in_range_or_a_field_error(body):
    """Tests that parse_new_order never raises anything but FieldError, and an accepted order's values are within range."""
    try:
        order = parse_new_order(body)
    except FieldError as error:
        assert error.field and error.reason
        return
    assert 1 <= order.site_id <= MAX_ID
    assert 1 <= order.priority <= 5
    assert 0 < order.service_duration_s <= MAX_SERVICE_S
    assert datetime(2000, 1, 1, tzinfo=UTC) <= order.window.start < order.window.end < datetime(2100, 1, 1, tzinfo=UTC)
    assert order.window.start.utcoffset() is not None and len(order.reference) <= 100
