"""The trainers' queue statistics are cached per NGO for a short time (QUEUE_STATS_CACHE_SECONDS): a cached view
runs none of their statements, another NGO has its own figures, and entries expire. The other tests run with the
cache off (tests/fixtures/app.py), so that their figures and statement counts see the current data."""

from __future__ import annotations

import os

import pytest

from app.core import cache as cache_module
from app.core.cache import MemoryCache, RedisCache, app_cache
from app.validation import operations as ops
from app.validation import queries
from app.validation.models import ItemDecision
from tests.fixtures.statements import count_statements


@pytest.fixture
def stats_cache(app, monkeypatch):
    """The cache on (60 s, in the process), empty before and after the test."""
    monkeypatch.setitem(app.config, "QUEUE_STATS_CACHE_SECONDS", 60)
    monkeypatch.setitem(app.extensions, cache_module._EXTENSION_KEY, MemoryCache())
    yield app_cache(app)
    app_cache(app).clear()


def test_cached_figures_run_no_statement_until_cleared(submitted, create_org, stats_cache):
    w = submitted
    first = queries.organisation_stats(w.ngo)
    assert (first.pending_submissions, first.pending_items, first.decided_items) == (1, 3, 0)
    ops.decide_item(w.items[0], w.trainer, ops.Decision(ItemDecision.VALIDATED, level=2))
    with count_statements() as statements:
        again = queries.organisation_stats(w.ngo)
    assert statements == []
    assert again.organisation is w.ngo
    assert (again.pending_submissions, again.pending_items, again.decided_items) == (1, 3, 0)  # a minute old at most
    other = queries.organisation_stats(create_org("Another NGO"))  # its own entry, not the first NGO's figures
    assert (other.pending_submissions, other.pending_items, other.decided_items) == (0, 0, 0)
    stats_cache.clear()
    fresh = queries.organisation_stats(w.ngo)
    assert (fresh.pending_submissions, fresh.pending_items, fresh.decided_items) == (1, 2, 1)


def test_memory_cache_entries_expire():
    now = [100.0]
    cache = MemoryCache(clock=lambda: now[0])
    cache.set("a", [1, 2], 60)
    now[0] += 59
    assert cache.get("a") == [1, 2]
    now[0] += 1
    assert cache.get("a") is None


def test_redis_cache_round_trip():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("no Redis server (set TEST_REDIS_URL)")
    cache = RedisCache(url)
    cache.set("test-key", [1, 2, None, 1.5], 60)
    assert cache.get("test-key") == [1, 2, None, 1.5]
    cache.clear()
    assert cache.get("test-key") is None
