"""The Monaco road network, built once per test session into a temporary folder (about 1.5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.travel import OsrmRoads
from tests.routing.network import build_monaco


@pytest.fixture(scope="session")
def monaco_osrm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Base path `.../monaco.osrm` of a freshly built network."""
    return build_monaco(tmp_path_factory.mktemp("osrm"))


@pytest.fixture(scope="session")
def roads(monaco_osrm: Path) -> OsrmRoads:
    return OsrmRoads(monaco_osrm)
