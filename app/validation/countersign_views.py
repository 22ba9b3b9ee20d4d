"""Pages of the countersignature (issue 20): the trainers' list of validations awaiting a second trainer, the
countersignature of one validation, and each NGO's rules (its admins)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import add_error
from app.core.permissions import require, require_or_forbid
from app.core.views import RHAuthenticated
from app.extensions import db
from app.frameworks.models import Framework
from app.organisations import operations as org_ops
from app.organisations.models import MembershipRole
from app.validation import bp, countersign, queries
from app.validation import errors as validation_errors
from app.validation.forms import CountersignatureRuleForm, CountersignForm


class RHCountersignatures(RHAuthenticated):
    """Validations of the trainer's NGOs awaiting a second trainer's countersignature (at most 100, oldest first)."""

    def _load(self):
        self.organisations = queries.reviewer_organisations(current_user)

    def _check_access(self):
        require(bool(self.organisations))

    def _process(self):
        organisations = self.organisations
        waiting = countersign.awaiting_countersignature([o.id for o in organisations])
        return render_template(
            "validation/countersignatures.html",
            waiting=waiting,
            names={o.id: o.name for o in organisations},
            can_countersign={v.id: countersign.can_countersign(v, current_user) for v in waiting},
        )


class RHCountersign(RHAuthenticated):
    """One validation awaiting its countersignature; a second trainer of the NGO countersigns it."""

    methods = ("GET", "POST")

    def _load(self, validation_id):
        self.validation = queries.get_validation(validation_id)
        require(self.validation is not None)

    def _check_access(self):
        # Seen by the NGO's trainers and admins; 404 for everyone else (no existence oracle).
        require(self.validation.organisation.is_staff(current_user))

    def _process(self):
        form = CountersignForm()
        status = 200
        if form.validate_on_submit() and not self.validation.countersignature_required:
            flash(_("This validation needs no countersignature."), "warning")
            status = 409
        elif form.validate_on_submit():
            try:
                countersign.countersign(self.validation, current_user)
            except validation_errors.AlreadyDecided as exc:
                flash(
                    _(
                        "Already countersigned by %(name)s on %(time)s.",
                        name=exc.by,
                        time=format_datetime(exc.at) if exc.at else "—",
                    ),
                    "warning",
                )
                status = 409
            except validation_errors.TransitionRefused:
                require_or_forbid(False)
            else:
                flash(_("You countersigned the validation: it is now complete."), "success")
                return redirect(url_for("validation.countersign", validation_id=self.validation.id))
        return render_template(
            "validation/countersign.html",
            validation=self.validation,
            form=form,
            can_countersign=countersign.can_countersign(self.validation, current_user),
        ), status


class RHCountersignatureRules(RHAuthenticated):
    """An NGO admin's countersignature rules: which frameworks (and from which level) need a second trainer."""

    methods = ("GET", "POST")

    def _load(self, slug):
        self.organisation = org_ops.get_organisation(slug)
        require(self.organisation is not None)

    def _check_access(self):
        require(self.organisation.has_role(current_user, MembershipRole.ADMIN))

    def _process(self):
        form = CountersignatureRuleForm()
        slugs = list(db.session.scalars(sa.select(Framework.slug).order_by(Framework.slug)))
        form.framework_slug.choices = [(countersign.ANY_FRAMEWORK, _("Every framework")), *((s, s) for s in slugs)]
        if form.validate_on_submit():
            if form.framework_slug.data not in {countersign.ANY_FRAMEWORK, *slugs}:
                add_error(form.framework_slug, _("Please choose a framework."))
            else:
                level = int(form.min_level.data) if form.min_level.data else None
                countersign.set_rule(
                    self.organisation, current_user, countersign.RuleData(form.framework_slug.data, level)
                )
                flash(_("The countersignature rule has been saved."), "success")
                return redirect(url_for("validation.countersignature_rules", slug=self.organisation.slug))
        return render_template(
            "validation/countersignature_rules.html",
            organisation=self.organisation,
            rules=countersign.rules_of(self.organisation.id),
            form=form,
            delete_form=CountersignForm(),
            any_framework=countersign.ANY_FRAMEWORK,
        ), (422 if form.errors else 200)


class RHDeleteCountersignatureRule(RHAuthenticated):
    """An NGO admin removes one rule (POST only)."""

    methods = ("POST",)

    def _load(self, slug, rule_id):
        self.organisation = org_ops.get_organisation(slug)
        require(self.organisation is not None)
        self.rule = db.session.get(countersign.CountersignatureRule, rule_id)
        require(self.rule is not None and self.rule.organisation_id == self.organisation.id)

    def _check_access(self):
        require(self.organisation.has_role(current_user, MembershipRole.ADMIN))

    def _process(self):
        if CountersignForm().validate_on_submit():
            countersign.delete_rule(self.rule, current_user)
            flash(_("The countersignature rule has been removed."), "success")
        return redirect(url_for("validation.countersignature_rules", slug=self.organisation.slug))


_ROUTES = [
    ("/countersignatures", RHCountersignatures, "countersignatures"),
    ("/validations/<int:validation_id>/countersign", RHCountersign, "countersign"),
    ("/organisations/<slug>/countersignature", RHCountersignatureRules, "countersignature_rules"),
    (
        "/organisations/<slug>/countersignature/<int:rule_id>/delete",
        RHDeleteCountersignatureRule,
        "countersignature_rule_delete",
    ),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
