"""Impact survey pages: answer (returnees), invite / report / moderate (org admins), global report (admins)."""

from __future__ import annotations

import csv
import io

from flask import Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.forms import EmptyForm
from app.core.errors import UserError, populate_errors, user_errors
from app.core.i18n import current_language
from app.core.permissions import require
from app.core.security import safe_next_url
from app.core.spreadsheet import neutralise_cell
from app.core.views import RHAuthenticated, RHPlatformAdmin
from app.organisations import operations as org_ops
from app.organisations.models import MembershipRole
from app.printing.messages import RENDER_ERRORS
from app.printing.sandbox import RenderFailed
from app.survey import bp
from app.survey import operations as ops
from app.survey.charts import group_labels, likert_chart
from app.survey.forms import InviteForm, ModerationForm, questionnaire_form
from app.survey.printing import PrintedReport, render_report_pdf
from app.survey.privacy import epsilon_for
from app.survey.questionnaire import get_questionnaire, latest, open_questionnaires, versions_of
from app.survey.reports import THRESHOLD, build_report, compare_versions, respondent_count

# --- Returnees ---


class RHIndex(RHAuthenticated):
    """Questionnaires open now (answered or not) and, for admins, links to their reports."""

    def _process(self):
        questionnaires = [(q, ops.has_answered(current_user, q)) for q in open_questionnaires()]
        managed = [
            m.organisation
            for m in org_ops.memberships_of(current_user)
            if m.is_active and m.role == MembershipRole.ADMIN
        ]
        return render_template(
            "survey/index.html", questionnaires=questionnaires, managed=managed, language=current_language()
        )


class RHAnswer(RHAuthenticated):
    """The questionnaire in the user's language (GET) and its submission (POST); once per version."""

    methods = ("GET", "POST")

    def _load(self, questionnaire_id, version):
        self.questionnaire = get_questionnaire(questionnaire_id, version)
        require(self.questionnaire is not None and self.questionnaire.open)

    def _process(self):
        token = request.args.get("i")
        if token and request.method == "GET":
            # An invitation link: counted as opened, then the same page without the token (kept out of history).
            ops.mark_invitation_opened(token)
            return redirect(
                url_for("survey.answer", questionnaire_id=self.questionnaire.id, version=self.questionnaire.version)
            )
        language = current_language()
        if ops.has_answered(current_user, self.questionnaire):
            return render_template("survey/answered.html", questionnaire=self.questionnaire, language=language)
        if not ops.account_counts(current_user, self.questionnaire):
            return render_template("survey/answer.html", questionnaire=self.questionnaire, form=None, language=language)
        organisations = ops.attributable_organisations(current_user, self.questionnaire)
        form = questionnaire_form(self.questionnaire, language, organisations)
        if form.validate_on_submit():
            data = ops.ResponseData(
                profile={q.key: form[f"profile_{q.key}"].data for q in self.questionnaire.profile},
                answers={i.key: form[f"item_{i.key}"].data for i in self.questionnaire.items},
                consent=bool(form.consent.data),
                organisation_ids=frozenset(int(v) for v in form.organisations.data or ()),
                comment=(form.comment.data or "") if "comment" in form else "",
            )
            try:
                ops.submit_response(current_user, self.questionnaire, data)
            except ops.AlreadyAnsweredError as exc:
                flash(str(exc.message), "error")
                return redirect(url_for("survey.index"))
            except UserError as exc:
                populate_errors(form, exc, fallback="consent")
            else:
                flash(
                    _(
                        "Thank you! Your answers have been recorded anonymously. They will appear in the "
                        "statistics together with those of other people, once enough answers have come in."
                    ),
                    "success",
                )
                return redirect(url_for("survey.index"))
        return render_template(
            "survey/answer.html", questionnaire=self.questionnaire, form=form, language=language
        ), 422 if form.errors else 200


# --- Reports ---


def privacy_terms(questionnaire) -> dict:
    """The privacy parameters a report states: batch size, budget per release and per version, as zCDP and ε."""
    config = current_app.config
    delta = config["SURVEY_DP_DELTA"]
    rho, budget = config["SURVEY_RELEASE_RHO"], config["SURVEY_PRIVACY_BUDGET_RHO"]
    return {
        "batch": config["SURVEY_RELEASE_BATCH"],
        "rho": rho,
        "budget": budget,
        "epsilon": round(epsilon_for(rho, delta), 2),
        "budget_epsilon": round(epsilon_for(budget, delta), 2),
        "delta": delta,
        "opened_on": questionnaire.opened_on,
    }


def _parse_view(questionnaire) -> tuple[str | None, tuple[str, str] | None, str]:
    """(breakdown question, filter, normalised view parameter) from ``?view=by:<q>`` or ``?view=where:<q>:<v>``."""
    raw = request.args.get("view", "")[:100]
    kind, _sep, rest = raw.partition(":")
    if kind == "by" and questionnaire.profile_question(rest):
        return rest, None, raw
    if kind == "where":
        key, _sep, value = rest.partition(":")
        question = questionnaire.profile_question(key)
        if question and value in question.values:
            return None, (key, value), raw
    return None, None, ""


class ReportMixin:
    """Shared by the organisation and platform reports; ``self.organisation`` is ``None`` for all answers."""

    organisation = None

    def _questionnaire(self):
        base = latest()
        require(base is not None)
        version = request.args.get("version", type=int)
        questionnaire = get_questionnaire(base.id, version) if version else base
        require(questionnaire is not None)
        return questionnaire

    def _build(self):
        questionnaire = self._questionnaire()
        breakdown_by, filter_by, view = _parse_view(questionnaire)
        exclude = frozenset()
        if self.organisation is not None:
            exclude = frozenset(ops.administered_organisation_ids(current_user) - {self.organisation.id})
        data = ops.report_data(questionnaire, organisation=self.organisation, exclude=exclude)
        report = build_report(questionnaire, data.tally, breakdown_by=breakdown_by, filter_by=filter_by)
        self.updated_at = data.updated_at
        overall = breakdown_by is None and filter_by is None
        comparison, versions = [], versions_of(questionnaire.id)
        if overall and len(versions) > 1:
            reports = [
                report
                if q.version == questionnaire.version
                else build_report(q, ops.report_data(q, organisation=self.organisation, exclude=exclude).tally)
                for q in versions
            ]
            comparison = compare_versions(reports)
        # Free text only in the overall view (a filter would tie a comment to a profile) and with enough answers.
        comments = data.comments if overall and report.publishable else []
        return questionnaire, report, comparison, comments, view, versions

    def _render(self, csv_endpoint, pdf_endpoint, csv_values):
        questionnaire, report, comparison, comments, view, versions = self._build()
        language = current_language()
        scale_labels = [o.label.get(language) for o in questionnaire.scale]
        chart = None
        if report.publishable and report.distributions:
            chart = likert_chart(
                list(report.distributions),
                title=questionnaire.title.get(language),
                scale_labels=scale_labels,
                language=language,
            )
        return render_template(
            "survey/report.html",
            questionnaire=questionnaire,
            versions=versions,
            report=report,
            comparison=comparison,
            comments=comments,
            chart=chart,
            scale_labels=scale_labels,
            group_labels=group_labels(),
            threshold=THRESHOLD,
            view=view,
            language=language,
            organisation=self.organisation,
            updated_at=self.updated_at,
            privacy=privacy_terms(questionnaire),
            csv_url=url_for(csv_endpoint, version=questionnaire.version, view=view or None, **csv_values),
            pdf_url=url_for(pdf_endpoint, version=questionnaire.version, view=view or None, **csv_values),
            invite_form=EmptyForm(),
        )

    def _csv(self, filename):
        questionnaire, report, comparison, comments, _view, versions = self._build()
        body = report_csv(
            questionnaire, report, comparison, comments, versions, current_language(), updated_at=self.updated_at
        )
        return Response(
            "\ufeff" + body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}-v{questionnaire.version}.csv"'},
        )

    def _pdf(self, filename, report_endpoint, report_values):
        """The same (suppressed) report as a signed PDF in the user's language, rendered in the bounded child."""
        questionnaire, report, comparison, comments, view, versions = self._build()
        language = current_language()
        printed = PrintedReport(
            questionnaire=questionnaire,
            report=report,
            comparison=comparison,
            comments=comments,
            versions=versions,
            scope_name=self.organisation.name if self.organisation else _("All organisations"),
        )
        breakdown_by = _parse_view(questionnaire)[0]
        try:
            pdf = render_report_pdf(printed, language=language, breakdown_by=breakdown_by)
        except RenderFailed as exc:
            flash(str(RENDER_ERRORS.get(exc.code, RENDER_ERRORS["error"])), "error")
            return redirect(url_for(report_endpoint, version=questionnaire.version, view=view or None, **report_values))
        response = make_response(pdf)
        response.headers["Content-Type"] = "application/pdf"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}-v{questionnaire.version}.pdf"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _csv_cell(cell) -> str:
    return _("< 5") if cell.hidden else str(cell.count)


def _csv_percent(cell) -> str:
    return _("hidden") if cell.hidden else f"{cell.percent:.1f}"


def report_csv(questionnaire, report, comparison, comments, versions, language, *, updated_at=None) -> str:
    """The report as CSV (the same suppressed numbers as the page); every cell is neutralised against formulas."""
    out = io.StringIO()
    writer = csv.writer(out)

    def row(*values):
        writer.writerow([neutralise_cell(str(v)) for v in values])

    scale = [o.label.get(language) for o in questionnaire.scale]
    row(questionnaire.title.get(language), _("Version %(version)s", version=questionnaire.version))
    row(_("Last updated"), updated_at.strftime("%Y-%m-%d %H:%M UTC") if updated_at else "")
    if report.filter:
        question = questionnaire.profile_question(report.filter[0])
        row(_("Filter"), question.label.get(language), question.option(report.filter[1]).label.get(language))
    if not report.publishable:
        row(_("Fewer than 5 answers in this view: nothing is shown, to protect respondents."))
        return out.getvalue()
    row(_("Respondents"), _csv_cell(report.respondents))
    row()
    row(_("Statement"), *[f"{label} (n)" for label in scale], *[f"{label} (%)" for label in scale], _("Total"))
    for d in report.distributions:
        cells = d.line.cells
        row(d.item.text.get(language), *map(_csv_cell, cells), *map(_csv_percent, cells), _csv_cell(d.line.total))
    for crosstab in report.breakdown:
        row()
        row(crosstab.item.text.get(language), crosstab.question.label.get(language))
        row(crosstab.question.label.get(language), *[f"{label} (n)" for label in scale], _("Total"))
        for line in crosstab.lines:
            label = crosstab.question.option(line.key).label.get(language)
            row(label, *map(_csv_cell, line.cells), _csv_cell(line.total))
    for profile in report.profiles:
        row()
        row(profile.question.label.get(language), _("Respondents"))
        for option, cell in zip(profile.question.options, profile.line.cells, strict=True):
            row(option.label.get(language), _csv_cell(cell))
    if comparison:
        row()
        row(
            _("Statement"),
            *[_("Version %(version)s: agreeing (%%)", version=q.version) for q in versions],
        )
        for c in comparison:
            row(c.item.text.get(language), *[_csv_percent(a) for a in c.agree])
    if comments:
        row()
        row(_("Comments (reviewed)"))
        for text in comments:
            row(text)
    return out.getvalue()


class RHOrgBase(RHAuthenticated):
    """Organisation admins (and platform admins) of ``slug``; everyone else gets 404."""

    def _load(self, slug, **view_args):
        self.organisation = org_ops.get_organisation(slug)
        require(self.organisation is not None)

    def _check_access(self):
        require(self.organisation.can_manage(current_user))


class RHOrgReportBase(ReportMixin, RHOrgBase):
    """The organisation's own admins, platform admins excepted: they have the all-answers report only."""

    def _check_access(self):
        require(ops.can_view_organisation_report(current_user, self.organisation))


class RHOrgReport(RHOrgReportBase):
    def _process(self):
        return self._render("survey.org_report_csv", "survey.org_report_pdf", {"slug": self.organisation.slug})


class RHOrgReportCSV(RHOrgReportBase):
    def _process(self):
        return self._csv(f"survey-{self.organisation.slug}")


class RHOrgReportPDF(RHOrgReportBase):
    def _process(self):
        return self._pdf(f"survey-{self.organisation.slug}", "survey.org_report", {"slug": self.organisation.slug})


class RHAdminReport(ReportMixin, RHPlatformAdmin):
    def _process(self):
        return self._render("survey.admin_report_csv", "survey.admin_report_pdf", {})


class RHAdminReportCSV(ReportMixin, RHPlatformAdmin):
    def _process(self):
        return self._csv("survey-all")


class RHAdminReportPDF(ReportMixin, RHPlatformAdmin):
    def _process(self):
        return self._pdf("survey-all", "survey.admin_report", {})


class RHInvitations(RHOrgBase):
    """The NGO admin's invitation page: sent, opened and answered counts, the last sending, the send button."""

    def _process(self):
        return _invitations_page(self.organisation)


class RHInvite(RHOrgBase):
    """E-mail the organisation's volunteers an invitation to the open questionnaire; sending again asks for a
    confirmation first (a page that says when the last sending was and to how many)."""

    methods = ("POST",)

    def _process(self):
        questionnaire = next(iter(open_questionnaires()), None)
        form = InviteForm()
        if not form.validate_on_submit() or questionnaire is None:
            return redirect(url_for("survey.invitations", slug=self.organisation.slug))
        counts = ops.invitation_counts(self.organisation, questionnaire)
        if counts.sendings and not form.confirm.data:
            return _invitations_page(self.organisation, confirming=True)
        count = ops.invite_returnees(self.organisation, questionnaire, actor=current_user)
        flash(_("Invitation sent to %(count)d returnees.", count=count), "success")
        return redirect(url_for("survey.invitations", slug=self.organisation.slug))


def _invitations_page(organisation, *, confirming: bool = False):
    questionnaire = next(iter(open_questionnaires()), None)
    counts = answered = None
    if questionnaire is not None:
        counts = ops.invitation_counts(organisation, questionnaire)
        # The organisation's report figure, for those who may read that report only (platform admins read the
        # all-answers report, never one NGO's: see app.survey.reports on disjoint scopes).
        if ops.can_view_organisation_report(current_user, organisation):
            exclude = frozenset(ops.administered_organisation_ids(current_user) - {organisation.id})
            tally = ops.report_data(questionnaire, organisation=organisation, exclude=exclude).tally
            answered = respondent_count(tally)
    form = InviteForm(formdata=None)
    form.confirm.data = "1" if confirming else ""
    return render_template(
        "survey/invitations.html",
        organisation=organisation,
        questionnaire=questionnaire,
        counts=counts,
        answered=answered,
        threshold=THRESHOLD,
        confirming=confirming,
        form=form,
        language=current_language(),
    )


# --- Moderation ---


class ModerationMixin:
    def _render_queue(self, queue, back):
        return render_template(
            "survey/moderation.html",
            organisation=self.organisation,
            comments=queue.comments,
            waiting=queue.waiting,
            delay_days=current_app.config["SURVEY_COMMENT_DELAY_DAYS"],
            form=ModerationForm(next=back),
        )


class RHOrgModeration(ModerationMixin, RHOrgBase):
    """Pending comments of responses attributed to the organisation: text only, in random order."""

    def _process(self):
        return self._render_queue(
            ops.moderation_queue(organisation=self.organisation),
            url_for("survey.org_moderation", slug=self.organisation.slug),
        )


class RHAdminModeration(ModerationMixin, RHPlatformAdmin):
    organisation = None

    def _process(self):
        return self._render_queue(ops.moderation_queue(organisation=None), url_for("survey.admin_moderation"))


class RHModerate(RHAuthenticated):
    """Approve or reject one comment (moderators of an organisation it is attributed to, platform admins)."""

    methods = ("POST",)

    def _load(self, comment_id):
        self.comment = ops.get_comment(comment_id)
        require(self.comment is not None)

    def _check_access(self):
        require(self.comment.can_moderate(current_user))

    def _process(self):
        form = ModerationForm()
        if form.validate_on_submit():
            with user_errors():
                ops.moderate_comment(self.comment, form.decision.data == "approve", actor=current_user)
                if form.decision.data == "approve":
                    flash(_("The comment was approved: it now appears in the reports."), "success")
                else:
                    flash(_("The comment was rejected: it will not appear in any report."), "success")
        else:
            flash(_("Please choose a decision."), "error")
        return redirect(safe_next_url(form.next.data, url_for("survey.index")))


_ROUTES = [
    ("/", RHIndex, "index"),
    ("/<questionnaire_id>/<int:version>", RHAnswer, "answer"),
    ("/orgs/<slug>/report", RHOrgReport, "org_report"),
    ("/orgs/<slug>/report.csv", RHOrgReportCSV, "org_report_csv"),
    ("/orgs/<slug>/report.pdf", RHOrgReportPDF, "org_report_pdf"),
    ("/orgs/<slug>/invite", RHInvite, "invite"),
    ("/orgs/<slug>/invitations", RHInvitations, "invitations"),
    ("/orgs/<slug>/moderation", RHOrgModeration, "org_moderation"),
    ("/comments/<comment_id>/moderate", RHModerate, "moderate"),
    ("/admin/report", RHAdminReport, "admin_report"),
    ("/admin/report.csv", RHAdminReportCSV, "admin_report_csv"),
    ("/admin/report.pdf", RHAdminReportPDF, "admin_report_pdf"),
    ("/admin/moderation", RHAdminModeration, "admin_moderation"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
