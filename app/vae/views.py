"""VAE pages: the volunteer's projects, a project with its gap analysis and timeline, the writing of a bloc with its
comment threads, and the companion's list of candidates.

Who sees what: the volunteer manages their projects; a companion (the named adviser of an active share attached
to the project) reads the project, its blocs and drafts and comments; everyone else gets 404. Each companion's
page view goes to the share's access log.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.utils import secure_filename

from app.auth.forms import EmptyForm
from app.claims.narrative import NARRATIVE_LABELS
from app.core.errors import UserError, add_error, populate_errors, show_user_error
from app.core.hooks import Panel, panel
from app.core.hooks import register_panels as register
from app.core.permissions import require
from app.core.views import RHAuthenticated, RHPlatformAdmin
from app.extensions import csrf, db
from app.frameworks import operations as framework_ops
from app.frameworks.forms import RncpImportForm
from app.frameworks.importers import FrameworkImportError
from app.frameworks.importers.rncp_csv import parse_rncp
from app.frameworks.models import Framework, localized
from app.vae import bp, gap, printing
from app.vae import operations as ops
from app.vae.forms import (
    DRAFT_LABELS,
    CommentForm,
    CompanionForm,
    DraftForm,
    OutcomeForm,
    PrintForm,
    ProjectForm,
    StatusForm,
    SwornForm,
)
from app.vae.models import DRAFT_FIELDS, VaeOutcome, VaeRoute, VaeStatus


class RHProjects(RHAuthenticated):
    """My VAE projects."""

    def _process(self):
        return render_template(
            "vae/index.html",
            projects=ops.projects_of(current_user),
            next_deadline=ops.next_deadline,
            accompanied=bool(ops.projects_for_companion(current_user)),
        )


class RHNewProject(RHAuthenticated):
    """Start a VAE project: a certification, a route, blocs, a start date."""

    methods = ("GET", "POST")

    def _process(self):
        frameworks = ops.target_frameworks()
        form = ProjectForm()
        form.framework_id.choices = [("", _("— Choose a certification —"))] + [
            (str(f.id), localized(f.current_version.title)[0]) for f in frameworks
        ]
        blocs = {f.id: ops.bloc_nodes(f.current_version.id) for f in frameworks}
        form.bloc_codes.choices = [
            (node.code, f"{node.code} — {localized(node.title)[0]}") for nodes in blocs.values() for node in nodes
        ]
        if request.method == "GET" and form.started_on.data is None:
            form.started_on.data = date.today()
        chosen = request.args.get("framework", "")
        if request.method == "GET" and chosen in {value for value, _label in form.framework_id.choices}:
            form.framework_id.data = chosen  # back from importing it (RHImportRncp)
        if form.validate_on_submit():
            codes = tuple(form.bloc_codes.data or ()) if form.scope.data == "some" else ()
            if form.scope.data == "some" and not codes:
                add_error(form.bloc_codes, _("Choose at least one bloc."))
            else:
                try:
                    project = ops.create_project(
                        current_user,
                        ops.ProjectData(
                            framework_id=int(form.framework_id.data),
                            route=VaeRoute(form.route.data),
                            started_on=form.started_on.data,
                            bloc_codes=codes,
                        ),
                    )
                except UserError as exc:
                    show_user_error(exc, form)
                else:
                    flash(_("Your VAE project is started."), "success")
                    return redirect(url_for("vae.project", project_id=project.id))
        status = 422 if form.errors else 200
        return render_template("vae/new.html", form=form, frameworks=frameworks), status


#: Largest upload of the RNCP tables (the same as the frameworks' import page).
MAX_RNCP_UPLOAD = 300 * 1024 * 1024


class RHImportRncp(RHPlatformAdmin):
    """A platform administrator imports an RNCP certification from the France Compétences open data (the Standard
    and Blocs tables and the fiche's number), with the frameworks' own importer (checks, all or nothing, audited),
    then comes back to the project form with that certification chosen.

    The RNCP tables are larger than an ordinary form allows (the Blocs table lists every certification's blocs):
    like the frameworks' import page, the limit is raised here, so the global CSRF check (which would read the body
    under the ordinary limit first) is replaced by the form's own token check (``validate_on_submit``)."""

    methods = ("GET", "POST")
    decorators = [csrf.exempt]

    def _process(self):
        request.max_content_length = MAX_RNCP_UPLOAD
        form = RncpImportForm()
        if form.validate_on_submit():
            directory = Path(tempfile.mkdtemp(prefix="acquis-vae-rncp-"))
            try:
                standard = directory / "standard.csv"
                form.standard.data.save(standard)
                (directory / "blocs").mkdir()
                blocs = directory / "blocs" / (secure_filename(form.blocs.data.filename or "") or "blocs.csv")
                form.blocs.data.save(blocs)
                parsed = parse_rncp(standard, blocs, form.fiche.data)
                results = framework_ops.import_batch([parsed], actor=current_user, make_current=form.make_current.data)
            except FrameworkImportError as exc:
                for problem in exc.problems[:20]:
                    target = (
                        form.fiche
                        if problem.field == "fiche"
                        else (form.blocs if problem.file == blocs.name else form.standard)
                    )
                    add_error(target, str(problem))
            else:
                framework = db.session.scalar(sa.select(Framework).where(Framework.slug == parsed.slug))
                for result in results:
                    flash(_("%(name)s is imported: you can start a project on it.", name=result.label), "success")
                return redirect(url_for("vae.new", framework=framework.id))
            finally:
                shutil.rmtree(directory, ignore_errors=True)
        status = 422 if form.errors else 200
        return render_template("vae/import_rncp.html", form=form), status


class RHProjectBase(RHAuthenticated):
    """A project the current user may see (the volunteer, or an active companion); 404 otherwise."""

    manage_only = False

    def _load(self, project_id, **view_args):
        self.project = ops.get_project(project_id)
        require(self.project is not None)

    def _check_access(self):
        if self.manage_only:
            require(self.project.can_manage(current_user))
        else:
            require(self.project.can_view(current_user))


def _status_form(project, form=None) -> StatusForm:
    form = form or StatusForm(formdata=None)
    form.status.choices = [("", _("— Choose the next step —"))] + [
        (s.value, s.label) for s in project.next_statuses if s != VaeStatus.DECIDED
    ]
    if form.expected.data in (None, ""):
        form.expected.data = project.status.value
    if form.on.data is None:
        form.on.data = date.today()
    return form


def _outcome_form(project, form=None) -> OutcomeForm:
    form = form or OutcomeForm(formdata=None)
    form.acquired.choices = [(node.code, f"{node.code} — {localized(node.title)[0]}") for node in _blocs(project)]
    return form


_BLOC_CACHE = "_vae_blocs"


def _blocs(project):
    cached = getattr(project, _BLOC_CACHE, None)
    if cached is None:
        cached = ops.project_blocs(project)
        setattr(project, _BLOC_CACHE, cached)
    return cached


def render_project(project, *, status_form=None, outcome_form=None, companion_form=None, sworn_form=None, code=200):
    """The project page (also re-rendered with a form's errors, answering 422)."""
    manage = project.can_manage(current_user)
    if not manage:
        ops.record_companion_view(project, current_user, "vae")
    analysis = gap.analyse(project)
    return render_template(
        "vae/project.html",
        project=project,
        manage=manage,
        analysis=analysis,
        deadlines=ops.deadlines(project),
        timeline=ops.timeline(project),
        drafts=ops.drafts_of(project),
        threads=ops.threads(project),
        status_form=_status_form(project, status_form),
        outcome_form=_outcome_form(project, outcome_form),
        companion_form=companion_form or CompanionForm(formdata=None),
        sworn_form=sworn_form or SwornForm(formdata=None),
        print_form=PrintForm(formdata=None),
        end_form=EmptyForm(),
        documents=printing.DOCUMENTS,
        VaeStatus=VaeStatus,
    ), code


class RHProject(RHProjectBase):
    """A project: status and dates, deadlines, gap analysis per bloc, companions, documents, timeline."""

    def _process(self):
        return render_project(self.project)


class RHAdvance(RHProjectBase):
    """Move the project to its next step."""

    methods = ("POST",)
    manage_only = True

    def _process(self):
        form = _status_form(self.project, StatusForm())
        if form.validate_on_submit():
            try:
                ops.advance(
                    self.project,
                    VaeStatus(form.status.data),
                    actor=current_user,
                    on=form.on.data,
                    expected=VaeStatus(form.expected.data),
                )
            except UserError as exc:
                populate_errors(form, exc, fallback="status")
            except ops.AlreadyMoved as exc:
                # A reload of the page as it is now, answering 409 (the conflict), with the reason on top.
                flash(_("The project had already moved on (now: %(status)s).", status=exc.status.label), "error")
                return render_project(self.project, code=409)
            else:
                flash(_("The project moved on: %(status)s.", status=self.project.status.label), "success")
                return redirect(url_for("vae.project", project_id=self.project.id))
        return render_project(self.project, status_form=form, code=422)


class RHOutcome(RHProjectBase):
    """Record the jury's decision."""

    methods = ("POST",)
    manage_only = True

    def _process(self):
        form = _outcome_form(self.project, OutcomeForm())
        if form.validate_on_submit():
            try:
                following = ops.record_outcome(
                    self.project,
                    ops.OutcomeData(
                        outcome=VaeOutcome(form.outcome.data),
                        decided_on=form.decided_on.data,
                        certifier=form.certifier.data,
                        acquired=tuple(form.acquired.data or ()),
                    ),
                    actor=current_user,
                )
            except UserError as exc:
                populate_errors(form, exc, fallback="outcome")
            except ops.AlreadyMoved:
                flash(_("The jury's decision was already recorded."), "error")
                return render_project(self.project, code=409)
            else:
                flash(_("The jury's decision is recorded."), "success")
                if following is not None:
                    flash(_("The missing blocs are your next plan: a new project is started."), "success")
                    return redirect(url_for("vae.project", project_id=following.id))
                return redirect(url_for("vae.project", project_id=self.project.id))
        return render_project(self.project, outcome_form=form, code=422)


class RHInviteCompanion(RHProjectBase):
    """Invite a career adviser or VAE companion (a named-adviser share attached to the project)."""

    methods = ("POST",)
    manage_only = True

    def _process(self):
        form = CompanionForm()
        if form.validate_on_submit():
            try:
                ops.invite_companion(self.project, actor=current_user, email=form.email.data, days=form.days.data)
            except UserError as exc:
                populate_errors(form, exc, fallback="email")
            else:
                flash(_("%(email)s is invited to accompany your project.", email=form.email.data), "success")
                return redirect(url_for("vae.project", project_id=self.project.id) + "#companions")
        return render_project(self.project, companion_form=form, code=422)


class RHEndCompanion(RHProjectBase):
    methods = ("POST",)
    manage_only = True

    def _load(self, project_id, share_id):
        super()._load(project_id)
        self.share = next((s for s in self.project.companions if s.id == share_id), None)
        require(self.share is not None)

    def _process(self):
        if EmptyForm().validate_on_submit():
            ops.end_companion(self.project, self.share, actor=current_user)
            flash(_("This companion's access has ended."), "success")
        return redirect(url_for("vae.project", project_id=self.project.id) + "#companions")


class RHSworn(RHProjectBase):
    """Sign the déclaration sur l'honneur."""

    methods = ("POST",)
    manage_only = True

    def _process(self):
        form = SwornForm()
        if form.validate_on_submit():
            try:
                ops.sign_statement(
                    self.project, actor=current_user, name=form.name.data, accepted=bool(form.accepted.data)
                )
            except UserError as exc:
                populate_errors(form, exc, fallback="name")
            else:
                flash(_("Your sworn statement is signed."), "success")
                return redirect(url_for("vae.project", project_id=self.project.id) + "#sworn")
        return render_project(self.project, sworn_form=form, code=422)


class RHPrint(RHProjectBase):
    """Print one of the project's documents (livret 1 draft, dossier de faisabilité draft, dossier de validation)."""

    methods = ("POST",)
    manage_only = True

    def _load(self, project_id, kind):
        super()._load(project_id)
        require(kind in printing.DOCUMENTS)
        self.kind = kind

    def _process(self):
        form = PrintForm()
        if not form.validate_on_submit() or form.document.data != self.kind:
            flash(_("Choose a document to print."), "error")
            return redirect(url_for("vae.project", project_id=self.project.id) + "#documents")
        try:
            target = printing.print_project_document(self.project, self.kind, actor=current_user)
        except printing.NotReady as exc:
            flash(str(exc.message), "error")
            return redirect(url_for("vae.project", project_id=self.project.id) + "#documents")
        return redirect(target)


# --- Blocs ------------------------------------------------------------------------------------------------------


class RHBloc(RHProjectBase):
    """One bloc: its gap analysis, the writing (volunteer) and its comment threads (volunteer and companions)."""

    def _load(self, project_id, code):
        super()._load(project_id)
        self.bloc = next((node for node in _blocs(self.project) if node.code == code), None)
        require(self.bloc is not None)

    def _process(self):
        draft = ops.draft_of(self.project, self.bloc.code)
        claims = ops.usable_claims(self.project)
        evidence = ops.usable_evidence(self.project)
        experiences = ops.experiences_of(self.project.owner_id)
        form = DraftForm(formdata=request.form if request.method == "POST" else None)
        form.claim_ids.choices = [
            (c.id, f"{experiences[c.experience_id].title} — {c.node.code}: {localized(c.node.title)[0]}")
            for c in claims
            if c.experience_id in experiences
        ]
        form.evidence_ids.choices = [(e.id, e.title) for e in evidence]
        if request.method == "GET" and draft is not None:
            for name in DRAFT_FIELDS:
                form[name].data = draft.fields.get(name, "")
            form.claim_ids.data = list(draft.claim_ids)
            form.evidence_ids.data = list(draft.evidence_ids)
        autosave = request.method == "POST" and request.form.get("autosave") == "1"
        if request.method == "POST":
            if form.validate_on_submit():
                try:
                    draft = ops.save_draft(
                        self.project,
                        self.bloc.code,
                        ops.DraftData(
                            fields={name: form[name].data or "" for name in DRAFT_FIELDS},
                            claim_ids=tuple(form.claim_ids.data or ()),
                            evidence_ids=tuple(form.evidence_ids.data or ()),
                            autosave=autosave,
                        ),
                        actor=current_user,
                    )
                except UserError as exc:
                    show_user_error(exc, form)
                else:
                    if autosave:
                        return jsonify(revision=draft.revision, words=draft.word_count)
                    flash(_("Your writing for this bloc is saved."), "success")
                    return redirect(url_for("vae.bloc", project_id=self.project.id, code=self.bloc.code))
            if autosave:
                return jsonify(errors={k: [str(e) for e in v] for k, v in form.errors.items()}), 422
        manage = self.project.can_manage(current_user)
        if not manage:
            ops.record_companion_view(self.project, current_user, "vae")
        analysis = gap.analyse(self.project)
        bloc_gap = next(b for b in analysis.blocs if b.code == self.bloc.code)
        gap.suggest_experiences(self.project, analysis, bloc_gap)
        selected = [c for c in claims if draft is not None and c.id in draft.claim_ids]
        return render_template(
            "vae/bloc.html",
            project=self.project,
            bloc=self.bloc,
            bloc_gap=bloc_gap,
            analysis=analysis,
            manage=manage,
            draft=draft,
            form=form,
            labels=DRAFT_LABELS,
            fields=DRAFT_FIELDS,
            selected=selected,
            narrative_labels=NARRATIVE_LABELS,
            experiences=experiences,
            checklist=ops.checklist(draft),
            history=ops.draft_history(draft),
            threads=ops.threads(self.project, self.bloc.code).get(self.bloc.code, []),
            comment_form=CommentForm(formdata=None),
            resolve_form=EmptyForm(),
        ), (422 if form.errors else 200)


class RHSaveBloc(RHBloc):
    """Save the writing of a bloc (the volunteer only): the "Save" button, or the page's autosave (JSON)."""

    methods = ("POST",)
    manage_only = True


class RHComment(RHProjectBase):
    """Comment on a bloc, or reply in a thread (volunteer and companions)."""

    methods = ("POST",)

    def _load(self, project_id, code):
        super()._load(project_id)
        self.bloc = next((node for node in _blocs(self.project) if node.code == code), None)
        require(self.bloc is not None)

    def _process(self):
        form = CommentForm()
        target = url_for("vae.bloc", project_id=self.project.id, code=self.bloc.code)
        if form.validate_on_submit():
            parent = None
            if form.parent_id.data:
                parent = (
                    ops.get_comment(self.project, int(form.parent_id.data)) if form.parent_id.data.isdigit() else None
                )
                require(parent is not None)
            try:
                comment = ops.add_comment(
                    self.project, actor=current_user, body=form.body.data, bloc_code=self.bloc.code, parent=parent
                )
            except UserError as exc:
                flash(str(exc.message), "error")
            else:
                flash(_("Your comment is posted."), "success")
                return redirect(f"{target}#comment-{comment.id}")
        else:
            flash(" ".join(str(e) for e in form.body.errors) or _("The form expired. Please try again."), "error")
        return redirect(target + "#comments")


class RHResolve(RHProjectBase):
    """Mark a thread resolved (volunteer and companions); it stays in the history."""

    methods = ("POST",)

    def _load(self, project_id, comment_id):
        super()._load(project_id)
        self.thread = ops.get_comment(self.project, comment_id)
        require(self.thread is not None and self.thread.parent_id is None)

    def _process(self):
        if EmptyForm().validate_on_submit():
            ops.resolve_thread(self.project, self.thread, actor=current_user)
            flash(_("The thread is marked resolved."), "success")
        target = url_for("vae.bloc", project_id=self.project.id, code=self.thread.bloc_code)
        return redirect(f"{target}#comment-{self.thread.id}")


class RHCompanion(RHAuthenticated):
    """The companion's list: candidates they accompany, with each project's next deadline."""

    def _process(self):
        return render_template("vae/companion.html", rows=ops.projects_for_companion(current_user))


def _dashboard_acquired_blocs(**kwargs):
    blocs = ops.acquired_blocs(current_user)
    return panel("vae/_acquired_panel.html", blocs=blocs) if blocs else None


def register_panels(app) -> None:
    """The panel ``vae`` adds to the volunteer's dashboard (see :mod:`app.core.hooks` for the orders)."""
    register(app, Panel("dashboard-panels", 50, _dashboard_acquired_blocs))


_ROUTES = [
    ("/", RHProjects, "index"),
    ("/new", RHNewProject, "new"),
    ("/new/rncp", RHImportRncp, "import_rncp"),
    ("/companion", RHCompanion, "companion"),
    ("/<int:project_id>", RHProject, "project"),
    ("/<int:project_id>/status", RHAdvance, "advance"),
    ("/<int:project_id>/outcome", RHOutcome, "outcome"),
    ("/<int:project_id>/companions", RHInviteCompanion, "invite"),
    ("/<int:project_id>/companions/<int:share_id>/end", RHEndCompanion, "end_companion"),
    ("/<int:project_id>/sworn", RHSworn, "sworn"),
    ("/<int:project_id>/print/<kind>", RHPrint, "print"),
    ("/<int:project_id>/blocs/<code>", RHBloc, "bloc"),
    ("/<int:project_id>/blocs/<code>", RHSaveBloc, "save_bloc"),
    ("/<int:project_id>/blocs/<code>/comments", RHComment, "comment"),
    ("/<int:project_id>/comments/<int:comment_id>/resolve", RHResolve, "resolve"),
]


for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
