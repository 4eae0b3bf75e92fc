"""Shared fixtures live in tests/support/, one module per kind of resource."""

pytest_plugins = [
    "tests.support.common",
    "tests.support.db",
    "tests.support.servers",
    "tests.support.browser",
    "tests.support.inprocess",
]
