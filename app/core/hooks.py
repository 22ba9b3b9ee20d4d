"""Page panels: a lower package's page shows HTML contributed by packages above it.

The experience page (package ``experiences``) shows the claims made on it, but ``experiences`` must not import
``claims`` (packages only depend downwards). Instead the page calls ``{{ template_hook('experience-panels',
experience=experience) }}`` and each package above contributes a :class:`Panel` that returns rendered HTML.

Panels only add HTML to a page. No rule may depend on one: a data question (is this experience locked, does a
validation use this evidence file) is answered by a direct query at the floor that owns the rule. Packages
register their panels explicitly when the app is created (``create_app`` calls each package's
``register_panels(app)`` in the order of ``app.PAGE_EXTENSIONS``), never as a side effect of an import; on the page,
panels come in increasing ``order``. Each panel runs its own fixed number of queries.

The hooks (:data:`PANEL_HOOKS`), with the panels contributed today, by order:

- ``dashboard-panels`` (``claims/dashboard.html``, ``claims=``: plain :class:`app.claims.coverage.PortfolioClaim`
  rows, not ORM objects): 30 validation — the validations of the claims;
  40 portability — the badges to download;
  50 vae — the blocs a VAE jury awarded.
- ``experience-panels`` (``experiences/detail.html``, ``experience=``): 10 claims — competence suggestions;
  20 claims — the claims made on it; 30 validation — its submissions, referents and history; 40 portability —
  its exports.
- ``claim-panels`` (``claims/detail.html``, ``claim=``): 30 validation — decisions, validations, history;
  40 portability — the claim's badge.
- ``submission-panels`` (``validation/submission.html``, ``submission=, items=, versions=``): 10 validation —
  other claims the reviewer may validate at the same time.
- ``experience-delete-warnings`` (``experiences/delete.html``, ``experience=``) and ``claim-delete-warnings``
  (``claims/delete.html``, ``claim=``): 30 validation — what deleting it affects: the validations (the NGO
  keeps them, withdrawn), the review history and the referents' confirmations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, render_template
from markupsafe import Markup

#: Every hook a template may call, and what its panels show.
PANEL_HOOKS: dict[str, str] = {
    "dashboard-panels": "below the volunteer's dashboard, per package",
    "experience-panels": "below an experience's facts",
    "claim-panels": "below a claim",
    "submission-panels": "below a submission under review",
    "experience-delete-warnings": "what deleting an experience also deletes",
    "claim-delete-warnings": "what deleting a claim also deletes",
}

_EXTENSION_KEY = "acquis.panels"


@dataclass(frozen=True)
class Panel:
    """One package's contribution to hook ``hook``: ``render(**context)`` returns escaped Markup or nothing;
    ``order`` places it among the hook's panels (lower first)."""

    hook: str
    order: int
    render: Callable[..., Markup | None]


def register_panels(app, *panels: Panel) -> None:
    """Add ``panels`` to ``app`` (registering the same panel again changes nothing).

    :raises ValueError: for a hook not listed in :data:`PANEL_HOOKS`.
    """
    registry: dict[str, list[Panel]] = app.extensions.setdefault(_EXTENSION_KEY, {})
    for contribution in panels:
        if contribution.hook not in PANEL_HOOKS:
            raise ValueError(f"unknown panel hook {contribution.hook!r}")
        entries = registry.setdefault(contribution.hook, [])
        if contribution not in entries:
            entries.append(contribution)
            entries.sort(key=lambda p: p.order)


def template_hook(name: str, **kwargs) -> Markup:
    """Concatenated HTML of the panels registered for hook ``name``, in their order (each must return escaped
    Markup)."""
    panels = current_app.extensions.get(_EXTENSION_KEY, {}).get(name, ())
    return Markup("").join(value for p in panels if (value := p.render(**kwargs)))


def panel(template: str, **context) -> Markup:
    """Render a panel: an autoescaped template's output is safe HTML already, so marking it Markup only stops
    :func:`template_hook` from escaping it a second time."""
    return Markup(render_template(template, **context))  # noqa: S704
