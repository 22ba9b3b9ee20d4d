"""Access policy of the ``main`` blueprint (home page, language switcher, health check)."""

from tests.access import PUBLIC, rule

POLICY = {
    "main.home": rule(PUBLIC, notes="landing page for guests, personal overview for members"),
    "main.healthz": rule(PUBLIC),
    "main.set_language": rule(PUBLIC, methods=("POST",), data=lambda w: {"locale": "en", "next": "/"}),
}
