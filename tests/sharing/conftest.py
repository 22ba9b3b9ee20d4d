"""The sharing tests' ``world``: the shared portfolio (``portfolio_world`` in tests/conftest.py)."""

import pytest


@pytest.fixture
def world(portfolio_world):
    return portfolio_world
