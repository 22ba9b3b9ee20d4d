"""Validation: submitting an experience, the trainers' queue and review page, decisions, revocation, the host
referent's confirmation page and in-app notifications."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, send_file, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from markupsafe import Markup

from app.auth.forms import EmptyForm
from app.claims import operations as claim_ops
from app.claims.models import NARRATIVE_PARTS, ClaimState
from app.claims.narrative import NARRATIVE_LABELS
from app.claims.validations import OwnerClaims, StandingValidationWriter, ValidationLine, validation_lines
from app.core import notifications as notices
from app.core import storage
from app.core.db import utcnow
from app.core.dead_ends import explain_dead_end
from app.core.errors import UserError, user_errors
from app.core.hooks import Panel, panel
from app.core.hooks import register_panels as register
from app.core.i18n import SESSION_KEY, current_language, is_supported
from app.core.permissions import require
from app.core.views import RHAuthenticated, RHPublic
from app.experiences import operations as experience_ops
from app.experiences.models import ExperienceKind
from app.extensions import db, limiter
from app.frameworks.models import FrameworkVersion
from app.organisations.models import MembershipRole
from app.validation import bp, queries, records, several, snapshots, suggestions
from app.validation import history as validation_history
from app.validation import operations as ops
from app.validation.forms import (
    DecisionForm,
    FactsForm,
    QueueFilterForm,
    ReferentConfirmForm,
    ReferentForm,
    RevokeForm,
    SubmitForm,
    WithdrawForm,
)
from app.validation.models import FactsDecision, ItemDecision, SubmissionState

#: The request header the review page's script sets to get the fragments of a decision instead of a redirect.
FRAGMENT_HEADER = "X-Acquis-Fragment"

# --- Volunteer: submit, name a referent ----------------------------------------------------------------------


class RHOwnExperienceBase(RHAuthenticated):
    def _load(self, experience_id):
        self.experience = experience_ops.get_owned_experience(experience_id, current_user)
        require(self.experience is not None)

    def _check_access(self):
        require(self.experience.can_view(current_user))


class RHSubmit(RHOwnExperienceBase):
    """Choose a sending NGO and the competences to submit."""

    methods = ("GET", "POST")

    def _process(self):
        organisations = queries.submission_organisations(current_user)
        claims = queries.claims_of_experience(self.experience)
        validators = several.standing_validators(claims)
        submittable = [c for c in claims if queries.submittable(c, [o.id for o in organisations], validators)]
        pending = queries.pending_submission(self.experience.id)
        form = SubmitForm()
        form.organisation_id.choices = [(o.id, o.name) for o in organisations]
        form.claim_ids.choices = [(c.id, f"{c.node.code} — {c.node.display_title()[0]}") for c in submittable]
        if request.method == "GET" and not form.claim_ids.data:
            form.claim_ids.data = [c.id for c in submittable]
        if pending is None and organisations and form.validate_on_submit():
            organisation = next((o for o in organisations if o.id == form.organisation_id.data), None)
            with user_errors(form, fallback="claim_ids"):
                if organisation is None:
                    raise UserError(_("Please choose one of your sending NGOs."), "organisation_id")
                ops.submit_experience(current_user, self.experience, organisation, form.claim_ids.data or [])
                flash(
                    _(
                        "“%(title)s” has been sent to %(ngo)s for review.",
                        title=self.experience.title,
                        ngo=organisation.name,
                    ),
                    "success",
                )
                return redirect(url_for("experiences.detail", experience_id=self.experience.id))
        return render_template(
            "validation/submit.html",
            form=form,
            experience=self.experience,
            organisations=organisations,
            pending=pending,
            submittable=submittable,
        ), (422 if form.errors else 200)


def _sender_key() -> str:
    """Rate-limit key of a request that sends e-mail: the signed-in user, else the client address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{get_remote_address()}"


#: The referent request e-mails any address: a few per minute and a day's worth per volunteer.
REFERENT_REQUEST_LIMIT = [limiter.limit("5 per minute;30 per day", methods=["POST"], key_func=_sender_key)]


class RHReferentNew(RHOwnExperienceBase):
    """Name a referent in the host country who confirms the mission."""

    methods = ("GET", "POST")
    decorators = REFERENT_REQUEST_LIMIT

    def _check_access(self):
        super()._check_access()
        require(self.experience.kind == ExperienceKind.MISSION)

    def _process(self):
        claims = queries.claims_of_experience(self.experience)
        form = ReferentForm()
        form.claim_ids.choices = [(c.id, f"{c.node.code} — {c.node.display_title()[0]}") for c in claims]
        if request.method == "GET":
            form.language.data = form.language.data or current_language()
        if form.validate_on_submit():
            data = ops.ReferentData(
                name=form.name.data,
                email=form.email.data,
                organisation_name=form.organisation_name.data or "",
                role=form.role.data or "",
                language=form.language.data,
                claim_ids=tuple(form.claim_ids.data or ()),
            )
            with user_errors(form, fallback="claim_ids"):
                ops.request_referent(current_user, self.experience, data)
                flash(_("A confirmation request has been sent to %(email)s.", email=data.email), "success")
                return redirect(url_for("experiences.detail", experience_id=self.experience.id))
        return render_template("validation/referent_new.html", form=form, experience=self.experience), (
            422 if form.errors else 200
        )


# --- Trainers: queue, review, decisions ----------------------------------------------------------------------


class RHQueue(RHAuthenticated):
    """Submissions addressed to the NGOs where the user is a trainer or an admin."""

    def _load(self):
        self.organisations = queries.reviewer_organisations(current_user)

    def _check_access(self):
        require(bool(self.organisations))

    def _process(self):
        form = QueueFilterForm(request.args, meta={"csrf": False})
        # Loading every scheme here also puts them in the session's identity map, so each row's
        # ``experience.status`` is found there without a statement (the page's count stays fixed).
        form.scheme.choices = [("", _("All")), *((s.code, s.label) for s in experience_ops.engagement_statuses())]
        valid = form.validate()
        state_value = form.state.data if valid else SubmissionState.PENDING.value
        if "state" not in request.args:
            state_value = SubmissionState.PENDING.value
            form.state.data = state_value
        filters = queries.QueueFilters(
            state=SubmissionState(state_value) if state_value else None,
            volunteer=(form.volunteer.data or "") if valid else "",
            date_from=form.date_from.data if valid else None,
            date_to=form.date_to.data if valid else None,
            page=request.args.get("page", 1, type=int) or 1,
            scheme=(form.scheme.data or "") if valid else "",
            order=(form.order.data or "newest") if valid else "newest",
        )
        queue = queries.review_queue([o.id for o in self.organisations], filters)
        admin_of = [o for o in self.organisations if o.has_role(current_user, MembershipRole.ADMIN)]
        stats = [queries.organisation_stats(o) for o in admin_of]
        args = {k: v for k, v in request.args.items() if k != "page"}
        return render_template(
            "validation/queue.html",
            form=form,
            queue=queue,
            stats=stats,
            filters=filters,
            page_args=args,
            now=utcnow(),
        )


class RHSubmissionBase(RHAuthenticated):
    def _load(self, submission_id, **kwargs):
        self.submission = queries.get_submission(submission_id)
        require(self.submission is not None)

    def _check_access(self):
        require(self.submission.can_view(current_user))

    def _render(self, *, forms=None, facts_form=None, conflict=None, status=200, fragment=None, message=None):
        """The review page; with ``fragment`` (an item), only what a decision on it changes: the summary and the
        item's block, for the page's script to swap in place (static/js/review.js). Same queries either way."""
        submission = self.submission
        items = submission.current_items
        version_ids = {item.snapshot["node"]["framework_version_id"] for item in items}
        versions = (
            {
                v.id: v
                for v in db.session.scalars(db.select(FrameworkVersion).where(FrameworkVersion.id.in_(version_ids)))
            }
            if version_ids
            else {}
        )
        forms = dict(forms or {})
        can_decide = submission.can_decide(current_user)
        language = current_language()
        for item in items:
            if item.is_pending and can_decide and item.id not in forms:
                form = DecisionForm(formdata=None, prefix=f"item-{item.id}")
                version = versions.get(item.snapshot["node"]["framework_version_id"])
                form.set_levels(version.levels if version else [], item.snapshot.get("level"), language)
                forms[item.id] = form
        previous = validation_history.previous_reviews(submission)
        diffs = {
            item_id: validation_history.snapshot_diff(prev.snapshot, _item(submission, item_id).snapshot)
            for item_id, prev in previous.items()
        }
        facts_open = submission.can_confirm_facts(current_user)
        facts_changed = facts_open and not snapshots.facts_unchanged(submission)
        if facts_form is None and facts_open and not facts_changed:
            facts_form = FactsForm(formdata=None)
        if facts_changed:
            facts_form = None
        warnings = queries.facts_warnings(submission.experience) if facts_form is not None else []
        validations = queries.validations_for_claims({item.claim_id for item in submission.items})
        return render_template(
            "validation/_review_fragment.html" if fragment is not None else "validation/submission.html",
            fragment=fragment,
            message=message,
            submission=submission,
            items=items,
            versions=versions,
            forms=forms,
            facts_form=facts_form,
            facts_warnings=warnings,
            previous=previous,
            diffs=diffs,
            validations=validations,
            referents=queries.referent_requests_of(submission.experience_id),
            can_decide=can_decide,
            facts_changed=facts_changed,
            is_admin=submission.organisation.has_role(current_user, MembershipRole.ADMIN),
            conflict=conflict,
            narrative_parts=NARRATIVE_PARTS,
            narrative_labels=NARRATIVE_LABELS,
            earlier_rounds=[i for i in submission.items if i.round < submission.round],
        ), status

    def _render_conflict(self, conflict):
        """Someone acted first: the page as it is now, with the explanation, 409."""
        return self._render(conflict=str(conflict.message), status=409)


def _item(submission, item_id):
    return next(item for item in submission.items if item.id == item_id)


class RHSubmission(RHSubmissionBase):
    def _process(self):
        return self._render()


class RHDecide(RHSubmissionBase):
    """One decision on one claim (POST only)."""

    methods = ("POST",)

    def _load(self, submission_id, item_id):
        super()._load(submission_id)
        self.item = next((i for i in self.submission.items if i.id == item_id), None)
        require(self.item is not None)

    @property
    def _in_place(self) -> bool:
        """Sent by the review page's script (static/js/review.js): answer with the fragments to swap, no redirect.
        A custom header cannot be sent cross-site without a CORS preflight, which this app never grants."""
        return request.headers.get(FRAGMENT_HEADER) == "1"

    def _page(self, **kwargs):
        return self._render(fragment=self.item if self._in_place else None, **kwargs)

    def _process(self):
        form = DecisionForm(prefix=f"item-{self.item.id}")
        version = db.session.get(FrameworkVersion, self.item.snapshot["node"]["framework_version_id"])
        form.set_levels(version.levels if version else [], self.item.snapshot.get("level"), current_language())
        if not form.validate_on_submit() and self.item.is_pending and self.submission.can_decide(current_user):
            return self._page(forms={self.item.id: form}, status=422)
        with user_errors(form, fallback="comment"):
            decision = ItemDecision(form.decision.data) if form.decision.data else ItemDecision.PENDING
            ops.decide_item(
                self.item,
                current_user,
                ops.Decision(decision=decision, level=form.level_value, comment=form.comment.data or ""),
            )
            message = _("Your decision has been recorded.")
            if self._in_place:
                # Flushed, not committed yet: the handler base commits after this returns, and rolls back (with
                # a 500 the script turns into an ordinary submit) if the commit fails.
                return self._page(message=message)
            flash(message, "success")
            # The focus goes to the message (static/js/acquis.js), not to another claim.
            return redirect(url_for("validation.submission", submission_id=self.submission.id) + "#flash-messages")
        return self._page(forms={self.item.id: form}, status=422)

    def _render_conflict(self, conflict):
        """Someone decided first: in place, the claim's block as it is now with the explanation (409)."""
        if self._in_place:
            return self._page(conflict=str(conflict.message), status=409)
        return super()._render_conflict(conflict)


class RHFacts(RHSubmissionBase):
    methods = ("POST",)

    def _process(self):
        form = FactsForm()
        if not form.validate_on_submit() and self.submission.can_confirm_facts(current_user):
            return self._render(facts_form=form, status=422)
        with user_errors(form, fallback="facts_comment"):
            decision = FactsDecision(form.facts_decision.data or FactsDecision.CONFIRMED.value)
            ops.confirm_facts(
                self.submission,
                current_user,
                decision,
                form.facts_comment.data or "",
                acknowledged=bool(form.facts_acknowledged.data),
            )
            flash(_("The facts have been confirmed."), "success")
            return redirect(url_for("validation.submission", submission_id=self.submission.id))
        return self._render(facts_form=form, status=422)


class RHWithdraw(RHAuthenticated):
    """The volunteer who submitted takes a submission back while no decision is recorded on it: a page that says
    what happens, with an optional reason, and a POST that withdraws. Anyone else gets 404 (the NGO's trainers
    included: they return a submission for changes instead)."""

    methods = ("GET", "POST")

    def _load(self, submission_id):
        self.submission = queries.get_submission(submission_id)
        require(self.submission is not None)

    def _check_access(self):
        require(self.submission.can_withdraw(current_user))

    def _process(self):
        self.form = form = WithdrawForm()
        if form.validate_on_submit():
            with user_errors(form, fallback="reason"):
                ops.withdraw_submission(self.submission, current_user, form.reason.data or "")
                flash(
                    _(
                        "“%(title)s” has been withdrawn from %(ngo)s. You can edit it and submit it again whenever "
                        "you are ready.",
                        title=self.submission.experience.title,
                        ngo=self.submission.organisation.name,
                    ),
                    "success",
                )
                return redirect(url_for("experiences.detail", experience_id=self.submission.experience_id))
        return self._render(form)

    def _render_conflict(self, conflict):
        # A decision came first: the page explains it (see ops.withdrawal_refusal), with 409.
        return self._render(self.form)

    def _render(self, form):
        refusal = ops.withdrawal_refusal(self.submission)
        status = 200
        if refusal is not None and request.method == "POST":
            status = 409
        elif form.errors:
            status = 422
        return render_template(
            "validation/withdraw.html", submission=self.submission, form=form, refusal=refusal
        ), status


def _evidence_response(evidence, *, inline: bool):
    path = storage.path_for(evidence.storage_key)
    require(path.is_file())
    response = send_file(
        path,
        mimetype=evidence.mime,
        as_attachment=not inline,
        download_name=f"{claim_ops.download_basename(evidence)}.{evidence.extension}",
        conditional=False,
        etag=False,
        max_age=0,
    )
    if inline and evidence.mime == "application/pdf":
        # The browser's PDF viewer needs plugins, which a sandboxing CSP forbids; nothing else may load, and only
        # this site's review page may frame the file (so the reviewer reads it without leaving the page).
        response.headers["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


class RHReviewEvidence(RHSubmissionBase):
    """An evidence file of a claim in this submission, for its reviewers (images and PDFs open inline)."""

    def _load(self, submission_id, evidence_id):
        super()._load(submission_id)
        self.evidence = validation_history.evidence_in_submission(self.submission, evidence_id)
        require(self.evidence is not None)

    def _process(self):
        inline = request.args.get("inline") == "1" and (
            self.evidence.is_image or self.evidence.mime == "application/pdf"
        )
        return _evidence_response(self.evidence, inline=inline)


class RHRevoke(RHAuthenticated):
    """An org admin of the validating NGO revokes a validation, with a reason."""

    methods = ("GET", "POST")

    def _load(self, validation_id):
        self.validation = queries.get_validation(validation_id)
        require(self.validation is not None)

    def _check_access(self):
        require(self.validation.organisation.has_role(current_user, MembershipRole.ADMIN))

    def _process(self):
        form = RevokeForm()
        if self.validation.revoked_at is None and form.validate_on_submit():
            with user_errors(form, fallback="reason"):
                ops.revoke_validation(self.validation, current_user, form.reason.data)
                flash(_("The validation has been revoked."), "success")
                return redirect(url_for("validation.revoke", validation_id=self.validation.id))
        return render_template("validation/revoke.html", validation=self.validation, form=form), (
            422 if form.errors else 200
        )

    def _render_conflict(self, conflict):
        """Revoked by someone else first: back to the queue, with the explanation."""
        flash(str(conflict.message), "warning")
        return redirect(url_for("validation.queue"))


# --- Host referent (no account) ---------------------------------------------------------------------------


class RHReferent(RHPublic):
    """The referent's confirmation page, reached through the e-mailed link. Unknown, expired, used or tampered
    tokens all answer the same 404."""

    methods = ("GET", "POST")

    def _load(self, token):
        self.request_ = queries.find_referent_request(token)
        if self.request_ is None and (ended := queries.ended_referent_request(token)) is not None:
            _explain_referent_end(ended)
        require(self.request_ is not None)

    def _process(self):
        with force_locale(_referent_language(self.request_)):
            response = self._respond()
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
        return response

    def _respond(self):
        referent = self.request_
        claims = referent.snapshot.get("claims", [])
        form = ReferentConfirmForm()
        form.claim_ids.choices = [(c["claim_id"], f"{c['code']} — {_title(c['title'])}") for c in claims]
        if form.validate_on_submit():
            # Confirmed by another tab first (a Conflict): the handler base loads the request again, and _load
            # explains that the link was used.
            ops.confirm_referent(
                referent,
                facts_confirmed=bool(form.facts_confirmed.data),
                claim_ids=form.claim_ids.data or [],
                comment=form.comment.data or "",
            )
            return make_response(render_template("validation/referent_done.html", referent=referent))
        return make_response(
            render_template(
                "validation/referent.html",
                referent=referent,
                form=form,
                facts=referent.snapshot["facts"],
                claims=claims,
                narrative_parts=NARRATIVE_PARTS,
                narrative_labels=NARRATIVE_LABELS,
            ),
            422 if form.errors else 200,
        )


def _referent_language(referent) -> str:
    """The language the referent chose on the page (the switcher), else the one the request was sent in."""
    chosen = session.get(SESSION_KEY)
    return chosen if is_supported(chosen) else referent.language


def _explain_referent_end(referent) -> None:
    """A used or expired referent link says so, in the referent's language (see ``app.core.dead_ends``)."""
    reason, when = queries.end_of_referent_request(referent)
    explain_dead_end(reason, language=_referent_language(referent), when=when, person=referent.volunteer.display_name)


def _title(language_map: dict) -> str:
    language = current_language()
    return language_map.get(language) or language_map.get("fr") or language_map.get("en") or ""


# --- Notifications --------------------------------------------------------------------------------------------


class RHNotifications(RHAuthenticated):
    def _process(self):
        return render_template(
            "validation/notifications.html", notifications=notices.notifications_of(current_user), form=EmptyForm()
        )


class RHNotificationsRead(RHAuthenticated):
    """Mark one notification (``notification_id``) or all of them as read."""

    methods = ("POST",)

    def _process(self):
        form = EmptyForm()
        if form.validate_on_submit():
            notices.mark_read(current_user, request.form.get("notification_id", type=int))
        return redirect(url_for("validation.notifications"))


# --- Panels on pages of lower packages ------------------------------------------------------------------------


def _experience_validation_panel(*, experience, **kwargs):
    submissions = queries.submissions_of_experience(experience)
    claim_ids = [c.id for c in queries.claims_of_experience(experience)]
    return panel(
        "validation/_experience_panel.html",
        experience=experience,
        submissions=submissions,
        validations=queries.validations_for_claims(claim_ids),
        referents=queries.referent_requests_of(experience.id),
        history=validation_history.experience_history(experience),
        can_submit=any(True for _ in queries.submission_organisations(current_user)),
    )


def _claim_validation_panel(*, claim, **kwargs):
    validations = queries.validations_for_claims([claim.id])[claim.id]
    referents = [
        r
        for r in queries.referent_requests_of(claim.experience_id)
        if any(c["claim_id"] == claim.id for c in r.snapshot.get("claims", []))
    ]
    return panel(
        "validation/_claim_panel.html",
        claim=claim,
        validations=validations,
        referents=referents,
        decisions=queries.decisions_of_claim(claim),
        history=validation_history.claim_history(claim),
    )


def _dashboard_validation_panel(*, claims, **kwargs):
    """The standing validations of the dashboard's claims (:class:`app.claims.coverage.PortfolioClaim` rows: every
    claim of the signed-in volunteer), read as plain lines in one statement: a 300-claim portfolio lists hundreds."""
    validations = validation_lines(
        [c.id for c in claims],
        superseded=False,
        same_claims=OwnerClaims(current_user.id),
    )
    under_review = sum(1 for c in claims if c.state == ClaimState.SUBMITTED)
    if not under_review and not any(validations.values()):
        return None
    return panel(
        "validation/_dashboard_panel.html", rows=_dashboard_rows(claims, validations), under_review=under_review
    )


def _dashboard_rows(claims, validations) -> list[tuple[Markup, ValidationLine | None]]:
    """The list items of the panel as (HTML, None) for runs of standing validations written here, and (the item's
    start, validation) for each of the rarer ones the shared ``validation_line`` macro writes (revoked, awaiting or
    with a countersignature). The sentences are translated once and filled with escaped values, each distinct value
    escaped once: per line in the template, Markup's % and autoescaping were most of a 300-claim dashboard."""
    writer = StandingValidationWriter()
    esc = writer.escape
    claim_url = url_for("claims.detail", claim_id=2147483647).replace("2147483647", "%d")
    rows: list[tuple[Markup, ValidationLine | None]] = []
    run: list[str] = []
    for claim in claims:
        start = f'<li><a href="{claim_url % claim.id}">{esc(claim.code)}</a> ({esc(claim.experience_title)}): '
        for v in validations[claim.id]:
            if writer.writes(v):
                run.append(f"{start}{writer.badge}{writer.sentence(v)}</li>\n")
            else:
                if run:
                    rows.append((Markup("".join(run)), None))  # noqa: S704 - every value above is escaped
                    run = []
                rows.append((Markup(start), v))  # noqa: S704 - escaped above
    if run:
        rows.append((Markup("".join(run)), None))  # noqa: S704 - every value above is escaped
    return rows


def register_panels(app) -> None:
    """The panels ``validation`` adds to pages of lower packages (see :mod:`app.core.hooks` for the orders)."""
    register(
        app,
        Panel("experience-panels", 30, _experience_validation_panel),
        Panel("claim-panels", 30, _claim_validation_panel),
        Panel("dashboard-panels", 30, _dashboard_validation_panel),
        suggestions.ALSO_VALIDATE_PANEL,
        Panel("experience-delete-warnings", 30, records.experience_delete_warning),
        Panel("claim-delete-warnings", 30, records.claim_delete_warning),
    )


_ROUTES = [
    ("/experiences/<int:experience_id>/submit", RHSubmit, "submit"),
    ("/experiences/<int:experience_id>/referent", RHReferentNew, "referent_new"),
    ("/reviews", RHQueue, "queue"),
    ("/submissions/<int:submission_id>", RHSubmission, "submission"),
    ("/submissions/<int:submission_id>/items/<int:item_id>/decide", RHDecide, "decide"),
    ("/submissions/<int:submission_id>/facts", RHFacts, "facts"),
    ("/submissions/<int:submission_id>/withdraw", RHWithdraw, "withdraw"),
    ("/submissions/<int:submission_id>/evidence/<int:evidence_id>", RHReviewEvidence, "evidence"),
    ("/validations/<int:validation_id>/revoke", RHRevoke, "revoke"),
    ("/referent/<token>", RHReferent, "referent"),
    ("/notifications", RHNotifications, "notifications"),
    ("/notifications/read", RHNotificationsRead, "notifications_read"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))

# The countersignature pages (issue 20) register their routes on the same blueprint.
from app.validation import countersign_views  # noqa: E402, F401
