"""Portfolio: dashboard, competence claims, evidence library and downloads."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from markupsafe import Markup, escape

from app.auth.forms import EmptyForm
from app.claims import bp, coverage, records, suggestion_views
from app.claims import operations as ops
from app.claims.forms import ClaimForm, CompetenceChoiceForm, EvidenceForm
from app.claims.models import NARRATIVE_PARTS
from app.claims.narrative import NARRATIVE_LABELS
from app.core import storage
from app.core.errors import UserError, populate_errors, user_errors
from app.core.hooks import Panel, panel
from app.core.hooks import register_panels as register
from app.core.i18n import current_language
from app.core.permissions import require
from app.core.views import RHAuthenticated
from app.experiences import operations as experience_ops
from app.extensions import limiter
from app.frameworks.operations import node_links
from app.frameworks.search import search_nodes


def _uploader_key() -> str:
    """Rate-limit key of an upload: the signed-in volunteer, else the client address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{get_remote_address()}"


def _no_file_sent() -> bool:
    """A claim form saved without a new file starts no inspection: it does not count against the upload limit."""
    return not any(getattr(upload, "filename", "") for upload in request.files.values())


#: Every upload starts an inspecting child process (up to 15 s of CPU and 1 GB of memory): a few per minute and a
#: day's worth per volunteer, shared by every form that takes a file.
UPLOAD_LIMIT = [
    limiter.shared_limit(
        "10 per minute;100 per day",
        scope="evidence-upload",
        methods=["POST"],
        key_func=_uploader_key,
        exempt_when=_no_file_sent,
    )
]


class RHDashboard(RHAuthenticated):
    """Timeline of experiences, coverage per framework (chart + table) and what is missing."""

    def _process(self):
        experiences = coverage.timeline_experiences(current_user.id)
        claims = coverage.portfolio_claims(current_user.id)
        items = coverage.coverage(claims)
        hints = coverage.hints(claims, experiences)
        return render_template(
            "claims/dashboard.html",
            experiences=experiences,
            claims=claims,
            coverage=items,
            chart=coverage.coverage_chart(items),
            hints=hints,
            claim_hints=_claim_hint_lines(hints),
        )


def _claim_hint_lines(hints: coverage.Hints) -> Markup:
    """The hints about claims (no evidence, no narrative) as list items' HTML, in one piece: each sentence
    translated once and filled here with the escaped code; per claim in the template (hundreds), Markup's %,
    url_for and the escaping of each item were most of the dashboard."""
    edit_url = url_for("claims.edit", claim_id=2147483647).replace("2147483647", "%d")
    lines = []
    for claims, sentence, action in (
        (
            hints.claims_without_evidence,
            _("Your claim %(code)s has no evidence.", code="%(code)s"),
            _('Add evidence<span class="visually-hidden"> to %(code)s</span>', code="%(code)s"),
        ),
        (
            hints.claims_without_narrative,
            _("Your claim %(code)s has no narrative.", code="%(code)s"),
            _('Tell the story<span class="visually-hidden"> of %(code)s</span>', code="%(code)s"),
        ),
    ):
        for claim in claims:
            values = {"code": str(escape(claim.code))}
            lines.append(f'<li>{sentence % values} <a href="{edit_url % claim.id}">{action % values}</a></li>\n')
    # The translations are trusted markup (as in a template); the only value, the code, is escaped above.
    return Markup("".join(lines))  # noqa: S704


class RHExperienceClaimBase(RHAuthenticated):
    def _load(self, experience_id):
        self.experience = experience_ops.get_owned_experience(experience_id, current_user)
        require(self.experience is not None)

    def _check_access(self):
        require(self.experience.can_edit(current_user))


def _claim_data(form: ClaimForm, node_id: int, evidence_ids) -> ops.ClaimData:
    return ops.ClaimData(
        node_id=node_id,
        level_rank=form.level_value,
        evidence_ids=tuple(evidence_ids),
        **{part: form[part].data or "" for part in NARRATIVE_PARTS},
    )


def _save_claim(form: ClaimForm, node_id: int, operation):
    """Store an optional new evidence file, then run ``operation(data)``. True when saved."""
    evidence_ids = list(form.evidence_ids.data or [])
    upload = form.file.data
    try:
        if upload is not None and getattr(upload, "filename", ""):
            evidence = ops.add_evidence(
                current_user, upload.read(), filename=upload.filename, title=form.file_title.data or ""
            )
            evidence_ids.append(evidence.id)
            # Should the claim be refused below, the stored file stays in the library and ticked on the form
            # shown again (a file input cannot keep its file): the volunteer need not upload it twice.
            form.evidence_ids.choices = [*form.evidence_ids.choices, (evidence.id, evidence.title)]
            form.evidence_ids.data = evidence_ids
        operation(_claim_data(form, node_id, evidence_ids))
    except UserError as error:  # an upload refusal names the file field
        populate_errors(form, error, fallback="level_rank")
        return False
    return True


def _render_claim_form(form, node, experience, claim=None, status=200, suggestions=None):
    return render_template(
        "claims/form.html",
        form=form,
        node=node,
        experience=experience,
        claim=claim,
        narrative_parts=NARRATIVE_PARTS,
        # Saving changes to a validated claim makes a new version to validate again: the form says so.
        validations=records.current_validations_of_claim(claim) if claim is not None else [],
        suggestions=suggestions,
    ), (422 if form.errors else status)


def _wants_suggestions() -> bool:
    """The claim form's "Suggest competences" button (without a script) was pressed: suggest, save nothing."""
    return request.method == "POST" and "suggest" in request.form


def _prefill_from_suggestion(form: ClaimForm, experience) -> None:
    """A claim started from a suggestion: the level it guessed and the experience's activities as a first draft."""
    level = request.args.get("level", "")
    if level and level in {value for value, _label in form.level_rank.choices}:
        form.level_rank.data = level
    if request.args.get("from") == "suggestion":
        form.actions.data = form.actions.data or (experience.activities or "")[:5000]


class RHNewClaim(RHExperienceClaimBase):
    """Step 1 (no ``node`` argument): choose a competence from a list or by search. Step 2: the claim form."""

    methods = ("GET", "POST")
    decorators = UPLOAD_LIMIT

    def _process(self):
        node = ops.load_claimable_node(request.args.get("node", type=int) or 0)
        if node is None:
            return self._chooser()
        form = ClaimForm()
        form.set_choices(node.version.levels or [], ops.evidence_of(current_user))
        if request.method == "GET":
            _prefill_from_suggestion(form, self.experience)
        if _wants_suggestions():
            suggestions = suggestion_views.claim_form_suggestions(form, node)
            return _render_claim_form(form, node, self.experience, suggestions=suggestions)
        created = []

        def create(data):
            created.append(ops.create_claim(current_user, self.experience, data))

        if form.validate_on_submit() and _save_claim(form, node.id, create):
            flash(_("Your claim has been saved."), "success")
            return redirect(url_for("claims.detail", claim_id=created[0].id))
        return _render_claim_form(form, node, self.experience)

    def _chooser(self):
        versions = ops.claimable_versions()
        form = CompetenceChoiceForm(formdata=None)
        form.set_choices(versions, ops.claimable_nodes([v.id for v in versions]))
        query = (request.args.get("q") or "").strip()[:100]
        hits = search_nodes(query, current_language(), limit=20) if query else []
        return render_template(
            "claims/choose.html",
            experience=self.experience,
            form=form,
            query=query,
            hits=hits,
            claimable_kinds=ops.CLAIMABLE_KINDS,
        )


class RHClaimBase(RHAuthenticated):
    def _load(self, claim_id):
        self.claim = ops.get_owned_claim(claim_id, current_user)
        require(self.claim is not None)

    def _check_access(self):
        require(self.claim.can_view(current_user))


class RHClaim(RHClaimBase):
    def _process(self):
        return render_template(
            "claims/detail.html",
            claim=self.claim,
            links=node_links(self.claim.node),
            narrative_parts=NARRATIVE_PARTS,
            narrative_labels=NARRATIVE_LABELS,
        )


class RHEditClaim(RHClaimBase):
    methods = ("GET", "POST")
    decorators = UPLOAD_LIMIT

    def _check_access(self):
        require(self.claim.can_edit(current_user))

    def _process(self):
        form = ClaimForm(obj=self.claim) if request.method == "GET" else ClaimForm()
        form.set_choices(self.claim.node.version.levels or [], ops.evidence_of(current_user))
        if request.method == "GET":
            form.level_rank.data = str(self.claim.level_rank or "")
            form.evidence_ids.data = [item.id for item in self.claim.evidence]
        if _wants_suggestions():
            suggestions = suggestion_views.claim_form_suggestions(form, self.claim.node)
            return _render_claim_form(form, self.claim.node, self.claim.experience, self.claim, suggestions=suggestions)
        if form.validate_on_submit() and _save_claim(
            form, self.claim.node_id, lambda data: ops.update_claim(self.claim, data, actor=current_user)
        ):
            flash(_("Your changes have been saved."), "success")
            return redirect(url_for("claims.detail", claim_id=self.claim.id))
        return _render_claim_form(form, self.claim.node, self.claim.experience, self.claim)


class RHDeleteClaim(RHClaimBase):
    methods = ("GET", "POST")

    def _check_access(self):
        require(self.claim.can_edit(current_user))

    def _process(self):
        form = EmptyForm()
        if form.validate_on_submit():
            experience_id = self.claim.experience_id
            ops.delete_claim(self.claim, actor=current_user)
            flash(_("The claim has been deleted."), "success")
            return redirect(url_for("experiences.detail", experience_id=experience_id))
        return render_template("claims/delete.html", claim=self.claim, form=form)


class RHEvidenceLibrary(RHAuthenticated):
    """The volunteer's evidence files, with the upload form."""

    methods = ("GET", "POST")
    decorators = UPLOAD_LIMIT

    def _process(self):
        form = EvidenceForm()
        if form.validate_on_submit():
            upload = form.file.data
            with user_errors(form, fallback="file"):
                evidence = ops.add_evidence(
                    current_user, upload.read(), filename=upload.filename, title=form.title.data or ""
                )
                flash(_("“%(title)s” has been added to your evidence.", title=evidence.title), "success")
                return redirect(url_for("claims.evidence"))
        return render_template(
            "claims/evidence.html",
            form=form,
            evidence=ops.evidence_of(current_user),
            used=ops.used_storage(current_user),
        ), (422 if form.errors else 200)


class RHEvidenceBase(RHAuthenticated):
    def _load(self, evidence_id):
        self.evidence = ops.get_owned_evidence(evidence_id, current_user)
        require(self.evidence is not None)

    def _check_access(self):
        require(self.evidence.can_view(current_user))


class RHEvidenceDownload(RHEvidenceBase):
    """The file, as an attachment, under a sandboxing CSP: a browser never runs anything from it."""

    def _process(self):
        inline = request.args.get("inline") == "1" and self.evidence.is_image
        path = storage.path_for(self.evidence.storage_key)
        require(path.is_file())  # a row whose file was lost must not turn into a server error
        response = send_file(
            path,
            mimetype=self.evidence.mime,
            as_attachment=not inline,
            download_name=f"{ops.download_basename(self.evidence)}.{self.evidence.extension}",
            conditional=False,
            etag=False,
            max_age=0,
        )
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return response


class RHDeleteEvidence(RHEvidenceBase):
    methods = ("GET", "POST")

    def _check_access(self):
        require(self.evidence.can_delete(current_user))

    def _process(self):
        form = EmptyForm()
        refusal = ops.evidence_delete_refusal(self.evidence)
        if refusal is None and form.validate_on_submit():
            title = self.evidence.title
            ops.delete_evidence(self.evidence, actor=current_user)
            flash(_("“%(title)s” has been deleted.", title=title), "success")
            return redirect(url_for("claims.evidence"))
        status = 409 if refusal is not None and request.method == "POST" else 200
        return render_template(
            "claims/evidence_delete.html", evidence=self.evidence, form=form, refusal=refusal
        ), status


def _experience_claims_panel(*, experience, **kwargs):
    """The claims of an experience, shown on the experience page (package ``experiences``)."""
    return panel("claims/_experience_panel.html", experience=experience, claims=ops.claims_of(current_user, experience))


def register_panels(app) -> None:
    """The panels ``claims`` adds to pages of ``experiences`` (see :mod:`app.core.hooks`)."""
    register(app, suggestion_views.SUGGEST_PANEL, Panel("experience-panels", 20, _experience_claims_panel))


_ROUTES = [
    ("/", RHDashboard, "dashboard"),
    ("/experiences/<int:experience_id>/claims/new", RHNewClaim, "new"),
    ("/claims/<int:claim_id>", RHClaim, "detail"),
    ("/claims/<int:claim_id>/edit", RHEditClaim, "edit"),
    ("/claims/<int:claim_id>/delete", RHDeleteClaim, "delete"),
    ("/evidence", RHEvidenceLibrary, "evidence"),
    ("/evidence/<int:evidence_id>/file", RHEvidenceDownload, "evidence_file"),
    ("/evidence/<int:evidence_id>/delete", RHDeleteEvidence, "evidence_delete"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
