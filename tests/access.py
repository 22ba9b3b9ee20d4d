"""Vocabulary of the access matrix (tests/test_access.py).

Each package lists its endpoints in ``tests/<package>/access_policy.py``::

    POLICY = {"pkg.endpoint": rule(USER, url=lambda w: {"slug": w.ngo.slug}, methods=("GET", "POST"))}

and may define ``build(world)`` to create the objects its URLs need. An expectation maps every actor to one
outcome: ``"ok"`` (allowed: any status other than the ones below), ``"login"`` (redirect to the login page),
``403`` or ``404``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ACTORS = (
    "guest",
    "volunteer",
    "other_volunteer",
    "trainer",
    "other_trainer",
    "org_admin",
    "adviser",
    #: An adviser to whom world.volunteer shared the whole portfolio, documents included (tests/sharing build).
    "shared_adviser",
    "platform_admin",
)
SIGNED_IN = tuple(a for a in ACTORS if a != "guest")
#: The outcomes an expectation may name.
OUTCOMES = ("ok", "login", 403, 404)


def expect(default, **per_actor) -> dict:
    """An expectation: ``default`` for every actor, overridden per actor name."""
    outcomes = dict.fromkeys(ACTORS, default)
    unknown = set(per_actor) - set(ACTORS)
    assert not unknown, f"unknown actors {unknown}"
    outcomes.update(per_actor)
    return outcomes


#: Anyone, guests included.
PUBLIC = expect("ok")
#: Guest-only pages (login, register): signed-in users are sent away (still "ok": a redirect, not a refusal).
GUEST_PAGE = expect("ok")
#: Any signed-in user; guests go to the login page.
USER = expect("ok", guest="login")
#: Platform admins only.
PLATFORM_ADMIN = expect(403, guest="login", platform_admin="ok")
#: Admins of world.ngo (and platform admins); everyone else gets 404 (no existence oracle).
ORG_ADMIN = expect(404, guest="login", org_admin="ok", platform_admin="ok")


def outcome_of(response, requested_url: str):
    """Classify a response as the access matrix sees it.

    ``"login"`` is the login gate: a redirect to the login page whose ``next`` brings the user back to
    ``requested_url``. Other redirects to the login page (after logging out everywhere, after confirming an
    address) are ordinary outcomes, i.e. ``"ok"``. 401, 403, 404, 405 and server errors are returned as their
    status code; anything else is ``"ok"``.
    """
    from urllib.parse import parse_qs, urlsplit

    status = response.status_code
    if 300 <= status < 400:
        location = urlsplit(response.headers.get("Location", ""))
        if location.path == "/auth/login" and parse_qs(location.query).get("next") == [requested_url]:
            return "login"
    if status in (401, 403, 404, 405) or status >= 500:
        return status
    return "ok"


@dataclass(frozen=True)
class Rule:
    expectation: dict
    url: Callable | None = None
    methods: tuple[str, ...] = ("GET",)
    data: Callable | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


def rule(
    expectation: dict, *, url: Callable | None = None, methods=("GET",), data: Callable | None = None, notes: str = ""
) -> Rule:
    """One policy entry: who may do what at an endpoint (``url(world)`` gives the view arguments)."""
    assert set(expectation) == set(ACTORS), "an expectation must name every actor"
    bad = {actor: value for actor, value in expectation.items() if value not in OUTCOMES}
    assert not bad, f"unknown outcomes {bad}; use one of {OUTCOMES}"
    return Rule(expectation=expectation, url=url, methods=tuple(methods), data=data, notes=notes)
