"""The check-in review threshold setting (OUTFIELD_CHECKIN_REVIEW_THRESHOLD)."""

from __future__ import annotations

import pytest

from data.settings import Settings


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", **env})


def test_the_review_threshold_defaults_to_60_and_can_be_set(tmp_path):
    """Tests that check-ins under 60 are reviewed by default, and the variable changes it."""
    assert settings(tmp_path).checkin_review_threshold == 60
    assert settings(tmp_path, OUTFIELD_CHECKIN_REVIEW_THRESHOLD="75").checkin_review_threshold == 75


@pytest.mark.parametrize("raw", ["sixty", "-1", "102"])
def test_a_threshold_outside_0_to_101_stops_start_up_naming_the_variable(tmp_path, raw):
    """Tests that a non-number or a value outside 0..101 (101: review everything) is refused, naming the variable."""
    with pytest.raises(ValueError, match="OUTFIELD_CHECKIN_REVIEW_THRESHOLD"):
        settings(tmp_path, OUTFIELD_CHECKIN_REVIEW_THRESHOLD=raw)
