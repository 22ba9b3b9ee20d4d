"""Template hooks: a lower package's page shows panels contributed by packages above it.

The experience page (package ``experiences``) shows the claims made on it, but ``experiences`` must not import
``claims`` (packages only depend downwards). Instead the page calls ``{{ template_hook('experience-panels',
experience=experience) }}`` and the claims package connects a receiver that returns rendered HTML. Receivers run
their own fixed number of queries.

The same signals carry questions that are not HTML. The hooks in use (sender → who answers):

- template panels: ``dashboard-panels``, ``experience-panels``, ``claim-panels``, ``experience-delete-warnings``;
- ``experience-locked`` (experience → validation: a pending submission locks it);
- ``claim-validations``, ``claim-records``, ``experience-records``, ``evidence-validations`` (claim, experience id
  or evidence → validation: what an NGO or a host referent recorded, see ``app/claims/records.py``);
- ``document-read-through-grant`` (document, viewer → sharing: an adviser's read goes to the share's access log);
- ``claims-withdrawing``, ``experience-withdrawing`` (claim ids or an experience id, before their deletion →
  validation: the NGOs' records of them are kept, marked withdrawn; see ``app/validation/archive.py``).
"""

from __future__ import annotations

from blinker import Namespace
from markupsafe import Markup

_hooks = Namespace()


def hook(name: str):
    """The signal behind a template hook (connect receivers to it)."""
    return _hooks.signal(name)


def template_hook(name: str, **kwargs) -> Markup:
    """Concatenated HTML of every receiver of hook ``name`` (receivers must return escaped Markup)."""
    results = hook(name).send(None, **kwargs)
    return Markup("").join(value for _receiver, value in results if value)


def panel(template: str, **context) -> Markup:
    """Render a hook receiver's panel: an autoescaped template's output is safe HTML already, so marking it
    Markup only stops :func:`template_hook` from escaping it a second time."""
    from flask import render_template

    return Markup(render_template(template, **context))  # noqa: S704
