"""Shared pytest configuration: fixtures live in tests/fixtures/ as plugins."""

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.pds",
    "tests.fixtures.letmepost_server",
]
