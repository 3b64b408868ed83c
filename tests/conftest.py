"""Suite-wide pytest settings: markers shared by every test directory."""

from __future__ import annotations


def pytest_configure(config):
    """Register the markers so `-m` selections work and typos are caught."""
    config.addinivalue_line(
        "markers", "tooling: repository-level checks (ansible-test sanity, ansible-lint, build, changelog)"
    )
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
