"""Experiences: list, create (per kind), view, edit, delete (with confirmation)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.forms import EmptyForm
from app.core.errors import UserError, populate_errors
from app.core.permissions import require
from app.core.views import RHAuthenticated
from app.experiences import bp
from app.experiences import operations as ops
from app.experiences.forms import form_for, form_to_data
from app.experiences.models import ExperienceKind


class RHExperiences(RHAuthenticated):
    """The volunteer's experiences, most recent first."""

    def _process(self):
        return render_template("experiences/index.html", experiences=ops.experiences_of(current_user))


def _save(form, operation):
    """Run ``operation(data)`` for a validated form; map refusals to the field concerned. True when saved."""
    try:
        operation(form_to_data(form))
    except UserError as error:
        populate_errors(form, error, fallback="title")
        return False
    return True


class RHNewExperience(RHAuthenticated):
    methods = ("GET", "POST")

    def _load(self, kind):
        try:
            self.kind = ExperienceKind(kind)
        except ValueError:
            require(False)

    def _process(self):
        form = form_for(self.kind)
        created = []
        if form.validate_on_submit() and _save(
            form, lambda data: created.append(ops.create_experience(current_user, data))
        ):
            experience = created[0]
            flash(_("“%(title)s” has been saved.", title=experience.title), "success")
            for warning in (experience.duration_warning(), ops.overlap_warning(experience)):
                if warning:
                    flash(warning, "warning")
            return redirect(url_for("experiences.detail", experience_id=experience.id))
        return render_template("experiences/form.html", form=form, kind=self.kind, experience=None), (
            422 if form.errors else 200
        )


class RHExperienceBase(RHAuthenticated):
    """Loads an experience of the current user (404 for anyone else's)."""

    def _load(self, experience_id):
        self.experience = ops.get_owned_experience(experience_id, current_user)
        require(self.experience is not None)

    def _check_access(self):
        require(self.experience.can_view(current_user))


class RHExperience(RHExperienceBase):
    def _process(self):
        return render_template(
            "experiences/detail.html",
            experience=self.experience,
            warning=self.experience.duration_warning(),
            overlap=ops.overlap_warning(self.experience),
        )


class RHEditExperience(RHExperienceBase):
    methods = ("GET", "POST")

    def _check_access(self):
        require(self.experience.can_edit(current_user))

    def _process(self):
        form = form_for(self.experience.kind, self.experience, prefill=request.method == "GET")
        if form.validate_on_submit() and _save(
            form, lambda data: ops.update_experience(self.experience, data, actor=current_user)
        ):
            flash(_("Your changes have been saved."), "success")
            for warning in (self.experience.duration_warning(), ops.overlap_warning(self.experience)):
                if warning:
                    flash(warning, "warning")
            return redirect(url_for("experiences.detail", experience_id=self.experience.id))
        return render_template(
            "experiences/form.html", form=form, kind=self.experience.kind, experience=self.experience
        ), (422 if form.errors else 200)


class RHDeleteExperience(RHExperienceBase):
    """GET asks for confirmation; POST deletes."""

    methods = ("GET", "POST")

    def _check_access(self):
        require(self.experience.can_edit(current_user))

    def _process(self):
        form = EmptyForm()
        if form.validate_on_submit():
            title = self.experience.title
            ops.delete_experience(self.experience, actor=current_user)
            flash(_("“%(title)s” has been deleted.", title=title), "success")
            return redirect(url_for("experiences.index"))
        return render_template("experiences/delete.html", experience=self.experience, form=form)


_ROUTES = [
    ("/", RHExperiences, "index"),
    ("/new/<kind>", RHNewExperience, "new"),
    ("/<int:experience_id>", RHExperience, "detail"),
    ("/<int:experience_id>/edit", RHEditExperience, "edit"),
    ("/<int:experience_id>/delete", RHDeleteExperience, "delete"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
