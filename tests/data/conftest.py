"""Helpers local to the data tests."""

from __future__ import annotations

from functools import partial

import pytest
from werkzeug.security import generate_password_hash


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash passwords with a cheap PBKDF2 instead of scrypt, for tests where passwords are incidental.

    The demo creates three users; at ~130 ms per scrypt hash that would dominate the scenario tests.
    """
    import data.users_repo

    monkeypatch.setattr(
        data.users_repo, "generate_password_hash", partial(generate_password_hash, method="pbkdf2:sha256:1000")
    )
