"""Organisation directory, join requests, member management and invitations."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.forms import EmptyForm
from app.core.errors import user_errors
from app.core.permissions import require
from app.core.views import RHAuthenticated, RHPublic
from app.organisations import audit_log, bp, profile
from app.organisations import operations as ops
from app.organisations.forms import AuditFilterForm, InviteForm, ProfileForm, RoleForm, SignatoryForm
from app.organisations.models import MembershipRole, MembershipState


class RHDirectory(RHAuthenticated):
    """Every organisation, with the user's own status and a join button where allowed."""

    def _process(self):
        return render_template("organisations/directory.html", organisations=ops.list_organisations(), form=EmptyForm())


class RHOrganisationBase(RHAuthenticated):
    """Loads the organisation named by ``slug`` (404 when unknown)."""

    def _load(self, slug, **view_args):
        self.organisation = ops.get_organisation(slug)
        require(self.organisation is not None)


class RHOrganisation(RHOrganisationBase):
    """Public profile of an organisation; members also see who else belongs to it."""

    def _process(self):
        return render_template(
            "organisations/detail.html",
            organisation=self.organisation,
            membership=self.organisation.membership_of(current_user),
            form=EmptyForm(),
            signatory_form=SignatoryForm(prefix="sign"),
        )


#: Largest logo or stamp upload read (it is re-encoded and scaled down anyway).
LETTERHEAD_MAX_BYTES = 5 * 1024 * 1024


class RHProfile(RHOrganisationBase):
    """An NGO admin edits the NGO's identity on its documents: legal name, address, registration, logo, stamp."""

    methods = ("GET", "POST")

    def _check_access(self):
        require(self.organisation.can_manage(current_user))

    def _process(self):
        form = ProfileForm(obj=self.organisation if request.method == "GET" else None)
        if form.validate_on_submit():
            data = profile.ProfileData(
                legal_name=form.legal_name.data or "",
                address=form.address.data or "",
                registration_number=form.registration_number.data or "",
                website=form.website.data or "",
            )
            with user_errors(form):
                profile.update_profile(
                    self.organisation,
                    data,
                    actor=current_user,
                    logo=_read(form.logo.data),
                    stamp=_read(form.stamp.data),
                    remove_logo=form.remove_logo.data,
                    remove_stamp=form.remove_stamp.data,
                )
                flash(_("The profile has been saved."), "success")
                return redirect(url_for("organisations.detail", slug=self.organisation.slug))
        return render_template("organisations/profile.html", organisation=self.organisation, form=form), (
            422 if form.errors else 200
        )


def _read(upload) -> bytes | None:
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return upload.read(LETTERHEAD_MAX_BYTES + 1) or None


class RHSignatory(RHOrganisationBase):
    """An active trainer or admin agrees to sign the NGO's documents (with their role), or stops."""

    methods = ("POST",)

    def _check_access(self):
        self.membership = self.organisation.membership_of(current_user)
        require(self.membership is not None and self.organisation.is_staff(current_user))

    def _process(self):
        if request.form.get("stop"):
            if EmptyForm().validate_on_submit():
                profile.stop_signing(self.membership)
                flash(_("You no longer sign this NGO's documents."), "success")
            return redirect(url_for("organisations.detail", slug=self.organisation.slug))
        form = SignatoryForm(prefix="sign")
        if form.validate_on_submit():
            profile.agree_to_sign(self.membership, form.signatory_role.data)
            flash(_("You now sign this NGO's documents."), "success")
        else:
            flash(_("Please enter your role."), "error")
        return redirect(url_for("organisations.detail", slug=self.organisation.slug))


class RHRequestToJoin(RHOrganisationBase):
    methods = ("POST",)

    def _process(self):
        form = EmptyForm()
        if form.validate_on_submit():
            with user_errors():
                ops.request_to_join(self.organisation, current_user)
                flash(
                    _("Your request has been sent. An admin of %(name)s will review it.", name=self.organisation.name),
                    "success",
                )
        return redirect(url_for("organisations.detail", slug=self.organisation.slug))


class RHManageBase(RHOrganisationBase):
    """Organisation admins (and platform admins) only; others get 404."""

    def _check_access(self):
        require(self.organisation.can_manage(current_user))


class RHMembers(RHManageBase):
    """Members, pending requests and open invitations, with the invitation form."""

    methods = ("GET", "POST")

    def _process(self):
        form = InviteForm()
        if form.validate_on_submit():
            with user_errors(form, fallback="email"):
                ops.invite(self.organisation, form.email.data, MembershipRole(form.role.data), actor=current_user)
                flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
                return redirect(url_for("organisations.members", slug=self.organisation.slug))
        after = request.args.get("after", type=int)
        active = ops.members_page(self.organisation, MembershipState.ACTIVE, after=after)
        return render_template(
            "organisations/members.html",
            organisation=self.organisation,
            active=active.members,
            next_after=active.next_after,
            paged=after is not None,
            pending=ops.members_page(self.organisation, MembershipState.PENDING).members,
            invitations=ops.open_invitations(self.organisation),
            form=form,
            role_choices=MembershipRole.choices(),
            action_form=EmptyForm(),
        ), 422 if form.errors else 200


class RHMembershipBase(RHManageBase):
    """Loads one membership of the organisation."""

    methods = ("POST",)

    def _load(self, slug, membership_id):
        super()._load(slug)
        self.membership = ops.get_membership(self.organisation, membership_id)
        require(self.membership is not None)

    def _back(self):
        return redirect(url_for("organisations.members", slug=self.organisation.slug))

    def _run(self, operation, success_message):
        if EmptyForm().validate_on_submit():
            with user_errors():
                operation()
                flash(success_message, "success")
        return self._back()


class RHApproveRequest(RHMembershipBase):
    def _process(self):
        name = self.membership.user.display_name
        return self._run(
            lambda: ops.approve_request(self.membership, actor=current_user), _("%(name)s is now a member.", name=name)
        )


class RHDeclineRequest(RHMembershipBase):
    def _process(self):
        name = self.membership.user.display_name
        return self._run(
            lambda: ops.decline_request(self.membership, actor=current_user),
            _("The request of %(name)s was declined.", name=name),
        )


class RHChangeRole(RHMembershipBase):
    def _process(self):
        form = RoleForm()
        if form.validate_on_submit():
            with user_errors():
                ops.change_role(self.membership, MembershipRole(form.role.data), actor=current_user)
                flash(_("The role of %(name)s was changed.", name=self.membership.user.display_name), "success")
        else:
            flash(_("Please choose a role from the list."), "error")
        return self._back()


class RHRemoveMember(RHMembershipBase):
    """GET asks for confirmation; POST removes."""

    methods = ("GET", "POST")

    def _process(self):
        if request.method == "GET":
            return render_template(
                "organisations/remove_member.html",
                organisation=self.organisation,
                membership=self.membership,
                form=EmptyForm(),
            )
        name = self.membership.user.display_name
        return self._run(
            lambda: ops.remove_member(self.membership, actor=current_user),
            _("%(name)s is no longer a member.", name=name),
        )


class RHRevokeInvitation(RHManageBase):
    methods = ("POST",)

    def _load(self, slug, invitation_id):
        super()._load(slug)
        self.invitation = next((i for i in ops.open_invitations(self.organisation) if i.id == invitation_id), None)
        require(self.invitation is not None)

    def _process(self):
        if EmptyForm().validate_on_submit():
            ops.revoke_invitation(self.invitation, actor=current_user)
            flash(_("The invitation to %(email)s was withdrawn.", email=self.invitation.email), "success")
        return redirect(url_for("organisations.members", slug=self.organisation.slug))


class AuditViewMixin:
    """The audit view and its CSV, scoped by :meth:`_scope` (an organisation's id, or ``None`` for every NGO's)."""

    #: Endpoints of the page and of its CSV, and the URL arguments they share.
    page_endpoint = csv_endpoint = ""

    def _scope(self) -> int | None:
        raise NotImplementedError

    def _url_args(self) -> dict:
        return {}

    def _people(self) -> list[tuple[int, str]]:
        return []

    def _filter_form(self) -> tuple[AuditFilterForm, audit_log.AuditFilter]:
        """The filters from the query string; invalid ones are reported on the form and not applied."""
        form = AuditFilterForm(formdata=request.args)
        form.person.choices = [("", _("Everyone"))] + [(str(uid), name) for uid, name in self._people()]
        actions = sorted(audit_log.ACTION_LABELS, key=audit_log.action_label)
        form.action.choices = [("", _("Every action"))] + [(a, audit_log.action_label(a)) for a in actions]
        if not request.args or not form.validate():
            return form, audit_log.AuditFilter()
        person = form.person.data
        return form, audit_log.AuditFilter(
            actor_id=int(person) if person else None,
            action=form.action.data or "",
            since=form.since.data,
            until=form.until.data,
        )

    def _render_audit(self, **context):
        form, flt = self._filter_form()
        after = audit_log.Cursor.decode(request.args.get("after"))
        page = audit_log.audit_page(self._scope(), flt, after)
        filters = {k: v for k, v in request.args.items() if k in form._fields and v and not form.errors}
        return render_template(
            "organisations/audit.html",
            form=form,
            page=page,
            filters=filters,
            first_page=after is None,
            page_url=lambda **extra: url_for(self.page_endpoint, **self._url_args(), **filters, **extra),
            csv_url=url_for(self.csv_endpoint, **self._url_args(), **filters),
            form_action=url_for(self.page_endpoint, **self._url_args()),
            show_organisation=self._scope() is None,
            **context,
        ), (422 if form.errors else 200)

    def _csv(self, filename: str):
        form, flt = self._filter_form()
        if form.errors:
            return redirect(url_for(self.page_endpoint, **self._url_args(), **request.args))
        response = Response(
            stream_with_context(audit_log.export_csv(self._scope(), flt)), mimetype="text/csv; charset=utf-8"
        )
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class RHAuditBase(AuditViewMixin, RHManageBase):
    """The NGO's own events: its admins and platform admins only (404 for everybody else, trainers included)."""

    page_endpoint, csv_endpoint = "organisations.audit", "organisations.audit_csv"

    def _scope(self):
        return self.organisation.id

    def _url_args(self):
        return {"slug": self.organisation.slug}

    def _people(self):
        return audit_log.people(self.organisation.id)


class RHAudit(RHAuditBase):
    """The NGO's audit trail, filterable by person, action and period, newest first, a page at a time."""

    def _process(self):
        return self._render_audit(organisation=self.organisation)


class RHAuditCsv(RHAuditBase):
    """The NGO's audit trail matching the filters, as CSV (every cell neutralised against formulas)."""

    def _process(self):
        return self._csv(f"audit-{self.organisation.slug}")


class RHInvitation(RHPublic):
    """The link from an invitation e-mail: guests are asked to sign in or register, members accept."""

    methods = ("GET", "POST")

    def _load(self, token):
        self.invitation = ops.find_invitation(token)
        require(self.invitation is not None)

    def _process(self):
        form = EmptyForm()
        if request.method == "POST" and current_user.is_authenticated and form.validate_on_submit():
            with user_errors():
                ops.accept_invitation(self.invitation, current_user)
                flash(_("Welcome to %(name)s.", name=self.invitation.organisation.name), "success")
                return redirect(url_for("organisations.detail", slug=self.invitation.organisation.slug))
        return render_template("organisations/invitation.html", invitation=self.invitation, form=form)


_ROUTES = [
    ("/", RHDirectory, "directory"),
    ("/<slug>", RHOrganisation, "detail"),
    ("/<slug>/join", RHRequestToJoin, "request_join"),
    ("/<slug>/profile", RHProfile, "profile"),
    ("/<slug>/signatory", RHSignatory, "signatory"),
    ("/<slug>/members", RHMembers, "members"),
    ("/<slug>/members/<int:membership_id>/approve", RHApproveRequest, "approve_request"),
    ("/<slug>/members/<int:membership_id>/decline", RHDeclineRequest, "decline_request"),
    ("/<slug>/members/<int:membership_id>/role", RHChangeRole, "change_role"),
    ("/<slug>/members/<int:membership_id>/remove", RHRemoveMember, "remove_member"),
    ("/<slug>/invitations/<int:invitation_id>/revoke", RHRevokeInvitation, "revoke_invitation"),
    ("/<slug>/audit", RHAudit, "audit"),
    ("/<slug>/audit.csv", RHAuditCsv, "audit_csv"),
    ("/invitations/<token>", RHInvitation, "invitation"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
