"""Consent, retention periods and anonymised names (dispatch.privacy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.privacy import (
    CONSENT_WITHDRAWN,
    NO_CONSENT,
    Consent,
    ConsentSource,
    ConsentState,
    RetentionDays,
    anonymised_name,
    consent_refusal,
    consent_state,
)

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def test_a_withdrawn_consent_always_stops_tracking_and_none_only_when_required():
    """Tests that a withdrawn consent refuses fixes whatever the setting, no consent refuses them only when
    consent is required, and a given consent keeps them."""
    given = Consent(1, 7, "1", NOW, ConsentSource.LINK)
    withdrawn = Consent(1, 7, "1", NOW, ConsentSource.LINK, withdrawn_at=NOW + timedelta(hours=1))
    assert consent_state(None) is ConsentState.NONE and consent_state(given) is ConsentState.GIVEN
    assert consent_refusal(consent_state(withdrawn), required=False) == CONSENT_WITHDRAWN
    assert consent_refusal(ConsentState.NONE, required=True) == NO_CONSENT
    assert consent_refusal(ConsentState.NONE, required=False) is None
    assert consent_refusal(ConsentState.GIVEN, required=True) is None


def test_each_kind_has_its_own_cutoff_and_zero_days_is_refused():
    """Tests that retention cut-offs follow each kind's days and that 0 days is refused naming the kind."""
    cut = RetentionDays(positions=30, audit=400).cutoffs(NOW)
    assert cut["positions"] == NOW - timedelta(days=30) and cut["audit"] == NOW - timedelta(days=400)
    assert cut["photos"] == NOW - timedelta(days=365)
    with pytest.raises(ValueError, match="^photos: 0"):
        RetentionDays(photos=0)


def test_a_leaver_is_called_former_worker_with_their_id():
    """Tests the name an anonymised worker keeps on orders and reports."""
    assert anonymised_name(12) == "Former worker #12"
