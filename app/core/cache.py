"""A small cache of figures that may be a little stale (seconds), per application.

For numbers that are costly to compute and read often, where a short delay is acceptable: the trainers' queue
statistics (:func:`app.validation.queries.organisation_stats`) sort thousands of recent decisions per view.

With ``REDIS_URL`` set, the values (JSON) live in Redis, shared by every process of the instance; otherwise in an
in-process dictionary with an expiry per entry (each process computes its own figures at most once per lifetime).
A Redis error never fails a page: the value is computed again and the error logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

logger = logging.getLogger("acquis.cache")

_EXTENSION_KEY = "acquis_cache"
#: Entries an in-process cache keeps at most (the oldest expiry goes first).
MAX_ENTRIES = 10_000


class MemoryCache:
    """An in-process mapping whose entries expire; safe to share between the threads of one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or ``None`` when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def set(self, key: str, value: Any, seconds: float) -> None:
        """Store ``value`` under ``key`` for ``seconds``."""
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                del self._entries[min(self._entries, key=lambda k: self._entries[k][0])]
            self._entries[key] = (self._clock() + seconds, value)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


class RedisCache:
    """The same interface on Redis (values as JSON, keys prefixed), shared by every process of the instance."""

    PREFIX = "acquis:cache:"

    def __init__(self, url: str):
        from redis import Redis  # optional dependency: only with REDIS_URL

        self._redis = Redis.from_url(url)

    def get(self, key: str) -> Any | None:
        raw = self._redis.get(self.PREFIX + key)
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, seconds: float) -> None:
        self._redis.set(self.PREFIX + key, json.dumps(value), ex=max(1, int(seconds)))

    def clear(self) -> None:
        for key in self._redis.scan_iter(self.PREFIX + "*"):
            self._redis.delete(key)


def app_cache(app: Flask | None = None) -> MemoryCache | RedisCache:
    """The cache of ``app`` (the current one by default), made on first use."""
    app = app or current_app._get_current_object()
    cache = app.extensions.get(_EXTENSION_KEY)
    if cache is None:
        url = app.config.get("REDIS_URL")
        cache = app.extensions[_EXTENSION_KEY] = RedisCache(url) if url else MemoryCache()
    return cache


def cached(key: str, seconds: float, compute: Callable[[], Any]) -> Any:
    """``compute()``'s value (JSON-serialisable), reused for ``seconds`` under ``key``; ``seconds <= 0`` computes
    every time."""
    if seconds <= 0:
        return compute()
    cache = app_cache()
    try:
        value = cache.get(key)
    except Exception:  # a cache that does not answer must not fail the page
        logger.exception("cache read failed for %s", key)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, seconds)
        except Exception:
            logger.exception("cache write failed for %s", key)
    return value
