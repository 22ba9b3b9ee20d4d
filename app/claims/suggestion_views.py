"""Suggest competences: the experience's suggestions page and the claim form's live suggestions (JSON).

Only the owner of an experience gets suggestions for it (anyone else: 404, as for the experience itself).
"""

from __future__ import annotations

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields import IntegerField, TextAreaField

from app.claims import bp
from app.claims import operations as ops
from app.claims import suggestions as sg
from app.claims.models import NARRATIVE_PARTS
from app.core.forms import SafeForm
from app.core.hooks import Panel, panel
from app.core.permissions import require
from app.core.views import RHAuthenticated
from app.experiences import operations as experience_ops


class SuggestPreviewForm(SafeForm):
    """What the claim form's script sends: the story's parts, the competence being claimed and the framework."""

    situation = TextAreaField()
    task = TextAreaField()
    actions = TextAreaField()
    result = TextAreaField()
    reflection = TextAreaField()
    transfer = TextAreaField()
    node = IntegerField()


class RHExperienceSuggestionBase(RHAuthenticated):
    def _load(self, experience_id):
        self.experience = experience_ops.get_owned_experience(experience_id, current_user)
        require(self.experience is not None)

    def _check_access(self):
        require(self.experience.can_view(current_user))


class RHExperienceSuggestions(RHExperienceSuggestionBase):
    """ "Suggest competences": the top competences from the experience's activities and results."""

    def _process(self):
        versions = sg.suggestible_versions()
        version = sg.pick_version(versions, request.args.get("version", type=int))
        text = sg.experience_text(self.experience)
        result = sg.suggest_for(text, version) if version is not None else None
        claims = ops.claims_of(current_user, self.experience)
        return render_template(
            "claims/suggestions.html",
            experience=self.experience,
            versions=versions,
            version=version,
            result=result,
            suggestions=sg.with_claims(result, claims) if result else [],
            can_claim=self.experience.can_edit(current_user),
        )


class RHSuggestPreview(RHExperienceSuggestionBase):
    """Live suggestions for the story being written on the claim form (JSON for the form's script)."""

    methods = ("POST",)

    def _check_access(self):
        require(self.experience.can_edit(current_user))

    def _process(self):
        form = SuggestPreviewForm()
        if not form.validate_on_submit():
            return jsonify(error=_("The text could not be read. Reload the page and try again.")), 400
        node = ops.load_claimable_node(form.node.data or 0)
        versions = sg.suggestible_versions()
        version = node.version if node is not None else sg.pick_version(versions, None)
        if version is None:
            return jsonify(suggestions=[], message=_("No framework has been imported yet."))
        result = sg.suggest_for(sg.narrative_text(form.data), version)
        return jsonify(
            message=result.message,
            truncated=result.truncated,
            suggestions=[_as_json(s, self.experience.id, node) for s in result.suggestions],
        )


def _as_json(suggestion, experience_id: int, node) -> dict:
    return {
        "code": suggestion.code,
        "title": suggestion.title,
        "matched": list(suggestion.matched),
        "level": suggestion.level,
        "current": node is not None and node.id == suggestion.node_id,
        "url": url_for(
            "claims.new",
            experience_id=experience_id,
            node=suggestion.node_id,
            level=suggestion.level or None,
            **{"from": "suggestion"},
        ),
    }


def claim_form_suggestions(form, node):
    """Suggestions for the story typed into a claim form (the no-script "Suggest" button)."""
    values = {part: form[part].data for part in NARRATIVE_PARTS}
    return sg.suggest_for(sg.narrative_text(values), node.version)


def _suggest_panel(*, experience, **kwargs):
    """On the experience page (package ``experiences``): the way to "Suggest competences"."""
    return panel("claims/_suggest_link_panel.html", experience=experience)


#: Registered by :func:`app.claims.views.register_panels`.
SUGGEST_PANEL = Panel("experience-panels", 10, _suggest_panel)

_ROUTES = [
    ("/experiences/<int:experience_id>/suggestions", RHExperienceSuggestions, "suggestions"),
    ("/experiences/<int:experience_id>/suggestions/preview", RHSuggestPreview, "suggest_preview"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
