"""Platform admin pages: organisations (create, edit) and users (roles, disable, enable)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.admin import bp
from app.admin.forms import UserRolesForm, UserSearchForm
from app.auth import operations as auth_ops
from app.auth.forms import EmptyForm
from app.auth.models import User
from app.core.permissions import get_or_404
from app.core.views import RHPlatformAdmin
from app.extensions import db
from app.organisations import operations as org_ops
from app.organisations.forms import OrganisationForm
from app.organisations.models import Membership, Organisation
from app.organisations.views import AuditViewMixin

USERS_PER_PAGE = 50


class RHAdminIndex(RHPlatformAdmin):
    def _process(self):
        counts = {
            "users": db.session.scalar(sa.select(sa.func.count(User.id))),
            "organisations": db.session.scalar(sa.select(sa.func.count(Organisation.id))),
            "disabled": db.session.scalar(sa.select(sa.func.count(User.id)).where(User.disabled_at.is_not(None))),
        }
        return render_template("admin/index.html", counts=counts)


class RHAdminAuditBase(AuditViewMixin, RHPlatformAdmin):
    """Every NGO's events at once (each NGO's own view is open to platform admins too)."""

    page_endpoint, csv_endpoint = "admin.audit", "admin.audit_csv"

    def _scope(self):
        return None


class RHAdminAudit(RHAdminAuditBase):
    """The audit trail of every NGO, filterable by action and period, newest first."""

    def _process(self):
        return self._render_audit(organisation=None)


class RHAdminAuditCsv(RHAdminAuditBase):
    """Every NGO's events matching the filters, as CSV."""

    def _process(self):
        return self._csv("audit-all-organisations")


class RHAdminOrganisations(RHPlatformAdmin):
    def _process(self):
        return render_template(
            "admin/organisations.html",
            organisations=org_ops.list_organisations(),
            member_counts=org_ops.active_member_counts(),
        )


def _organisation_data(form: OrganisationForm) -> org_ops.OrganisationData:
    return org_ops.OrganisationData(
        name=form.name.data,
        kind=form.kind_value,
        country=form.country.data,
        description=form.description.data or "",
        accepts_join_requests=form.accepts_join_requests.data,
    )


class RHAdminOrganisationNew(RHPlatformAdmin):
    methods = ("GET", "POST")

    def _process(self):
        form = OrganisationForm()
        if request.method == "GET":
            form.country.data = "FR"
        if form.validate_on_submit():
            organisation = org_ops.create_organisation(_organisation_data(form), actor=current_user)
            flash(_("The organisation %(name)s was created.", name=organisation.name), "success")
            return redirect(url_for("organisations.members", slug=organisation.slug))
        return render_template("admin/organisation_form.html", form=form, organisation=None), (
            422 if form.errors else 200
        )


class RHAdminOrganisationEdit(RHPlatformAdmin):
    methods = ("GET", "POST")

    def _load(self, organisation_id):
        self.organisation = get_or_404(Organisation, organisation_id)

    def _process(self):
        form = OrganisationForm(obj=self.organisation)
        if request.method == "GET":
            form.kind.data = self.organisation.kind.value
        if form.validate_on_submit():
            org_ops.update_organisation(self.organisation, _organisation_data(form), actor=current_user)
            flash(_("The organisation has been saved."), "success")
            return redirect(url_for("admin.organisations"))
        return render_template("admin/organisation_form.html", form=form, organisation=self.organisation), (
            422 if form.errors else 200
        )


class RHAdminUsers(RHPlatformAdmin):
    def _process(self):
        form = UserSearchForm(request.args)
        query = sa.select(User).order_by(User.email).limit(USERS_PER_PAGE)
        if form.validate() and form.q.data:
            needle = form.q.data.lower()
            query = query.where(
                sa.or_(
                    User.email.contains(needle, autoescape=True),
                    sa.func.lower(User.display_name).contains(needle, autoescape=True),
                )
            )
        users = list(
            db.session.scalars(query.options(selectinload(User.memberships).selectinload(Membership.organisation)))
        )
        return render_template("admin/users.html", users=users, form=form, limit=USERS_PER_PAGE)


class RHAdminUserBase(RHPlatformAdmin):
    def _load(self, user_id):
        self.user = get_or_404(User, user_id)


class RHAdminUser(RHAdminUserBase):
    methods = ("GET", "POST")

    def _process(self):
        form = UserRolesForm(obj=self.user)
        if form.validate_on_submit():
            if self.user.id == current_user.id and not form.is_platform_admin.data:
                flash(_("You cannot remove your own administrator role."), "error")
            else:
                auth_ops.set_user_roles(
                    self.user,
                    platform_admin=form.is_platform_admin.data,
                    adviser=form.is_adviser.data,
                    actor=current_user,
                )
                flash(_("The roles have been saved."), "success")
            return redirect(url_for("admin.user", user_id=self.user.id))
        memberships = org_ops.memberships_of(self.user)
        return render_template(
            "admin/user.html", user=self.user, form=form, memberships=memberships, action_form=EmptyForm()
        )


class RHAdminUserDisable(RHAdminUserBase):
    methods = ("POST",)
    disable = True

    def _process(self):
        if EmptyForm().validate_on_submit():
            if self.user.id == current_user.id:
                flash(_("You cannot disable your own account."), "error")
            else:
                auth_ops.set_disabled(self.user, self.disable, actor=current_user)
                flash(
                    _("The account was disabled.") if self.disable else _("The account was enabled again."),
                    "success",
                )
        return redirect(url_for("admin.user", user_id=self.user.id))


class RHAdminUserEnable(RHAdminUserDisable):
    disable = False


_ROUTES = [
    ("/", RHAdminIndex, "index"),
    ("/organisations", RHAdminOrganisations, "organisations"),
    ("/audit", RHAdminAudit, "audit"),
    ("/audit.csv", RHAdminAuditCsv, "audit_csv"),
    ("/organisations/new", RHAdminOrganisationNew, "organisation_new"),
    ("/organisations/<int:organisation_id>/edit", RHAdminOrganisationEdit, "organisation_edit"),
    ("/users", RHAdminUsers, "users"),
    ("/users/<int:user_id>", RHAdminUser, "user"),
    ("/users/<int:user_id>/disable", RHAdminUserDisable, "user_disable"),
    ("/users/<int:user_id>/enable", RHAdminUserEnable, "user_enable"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
