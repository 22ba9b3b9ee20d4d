"""Access policy of the ``main`` blueprint (home page, language switcher, health check)."""

from tests.access import PUBLIC, USER, rule

POLICY = {
    "main.home": rule(PUBLIC, notes="landing page for guests, personal overview for members"),
    "main.healthz": rule(PUBLIC),
    "main.dismiss_tour": rule(USER, methods=("POST",), notes="closes the first-visit tour (remembered in the session)"),
    "main.font": rule(PUBLIC, url=lambda w: {"name": "source-sans-regular.ttf"}, notes="the interface's own fonts"),
    "main.set_language": rule(PUBLIC, methods=("POST",), data=lambda w: {"locale": "en", "next": "/"}),
}
