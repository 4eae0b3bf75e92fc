"""The plan processes setting (OUTFIELD_PLAN_PROCESSES): how many processes a large day's plan may search with."""

from __future__ import annotations

import os

import pytest

from data.settings import Settings


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", **env})


def test_plan_processes_default_to_two_on_two_cpus_and_can_be_set(tmp_path):
    """Tests that a machine with 2+ CPUs plans a large day on 2 processes by default, and the variable changes it."""
    assert settings(tmp_path).plan_processes == (2 if (os.cpu_count() or 1) >= 2 else 1)
    assert settings(tmp_path, OUTFIELD_PLAN_PROCESSES="1").plan_processes == 1


@pytest.mark.parametrize("raw", ["two", "0"])
def test_plan_processes_below_one_stop_start_up_naming_the_variable(tmp_path, raw):
    """Tests that a non-number or 0 is refused at start-up, naming the variable."""
    with pytest.raises(ValueError, match="OUTFIELD_PLAN_PROCESSES"):
        settings(tmp_path, OUTFIELD_PLAN_PROCESSES=raw)
