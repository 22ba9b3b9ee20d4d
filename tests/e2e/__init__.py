"""End-to-end tests: the real application served over HTTP, driven by a real Chromium (Playwright).

See ``tests/e2e/conftest.py`` for the fixtures and ``tests/e2e/helpers.py`` for the helpers they return.
"""
