"""Documents: printing (with a progress page), downloading, opinions, and the public verification pages."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import current_app, flash, jsonify, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.forms import EmptyForm
from app.auth.models import User
from app.core.i18n import current_language
from app.core.permissions import require
from app.core.views import RHAuthenticated, RHPublic
from app.documents import bp, codes, identities, refresh
from app.documents import operations as ops
from app.documents.context import ContextError, vae_frameworks
from app.documents.forms import (
    AttestationForm,
    OpinionForm,
    PortfolioForm,
    PrintOpinionForm,
    SigningResetForm,
    SigningUploadForm,
    VaeForm,
    VerifyCodeForm,
    VerifyUploadForm,
)
from app.documents.models import (
    Document,
    DocumentKind,
    JobState,
    Opinion,
    can_render_for,
    document_grants,
    may_print_about,
)
from app.experiences import operations as experience_ops
from app.extensions import db
from app.frameworks.models import localized
from app.organisations.models import Organisation
from app.printing.sandbox import setting
from app.printing.signing import PKCS12_MAX_BYTES, CertificateRefused, trust_root_fingerprints, trust_roots

#: Seconds between two looks at a print job's status by the progress page's script (static/js/job.js).
JOB_POLL_SECONDS = 2


def _language_default() -> str:
    return current_language() if current_language() in ops.LANGUAGES else "fr"


class RHDocumentsIndex(RHAuthenticated):
    """My documents, and forms to print each kind."""

    methods = ("GET",)

    def _process(self):
        experiences = experience_ops.experiences_of(current_user)
        attestable = ops.attestable_missions(experiences)
        return _index_page(_print_forms(experiences, attestable), experiences, attestable)


def _index_page(forms, experiences, attestable) -> str:
    """The documents page: the print forms, the latest document of each kind — a direct link to its file when it
    is current, so the usual download rebuilds no snapshot — and the documents issued."""
    documents = ops.listed_documents_of(current_user)
    preparing = refresh.refreshing(current_user)
    return render_template(
        "documents/index.html",
        documents=documents,
        latest=ops.latest_of_each_kind(documents),
        opinions=ops.opinions_about(current_user),
        forms=forms,
        has_experiences=bool(experiences),
        attestable=attestable,
        is_reviewer=_reviewer_organisations(current_user) != [],
        refreshing=sum(preparing.values()),
        preparing=preparing,
    )


def _print_forms(experiences, attestable, formdata=None, kind=None):
    language = _language_default()

    def make(form_class, name):
        form = form_class(formdata=formdata if kind == name else None, prefix=name)
        if formdata is None or kind != name:
            form.language.data = language
        return form

    portfolio = make(PortfolioForm, "portfolio")
    portfolio.experience_ids.choices = [(e.id, e.title) for e in experiences]
    attestation = make(AttestationForm, "attestation")
    attestation.experience_id.choices = [(e.id, e.title) for e in attestable]
    vae = make(VaeForm, "vae")
    choices = []
    for framework in vae_frameworks():
        version = framework.current_version
        if version is not None:
            choices.append((framework.slug, localized(version.title)[0]))
    vae.framework.choices = choices
    return {"portfolio": portfolio, "attestation": attestation, "vae": vae}


def _after_request_for(result):
    """Redirect to the issued document, or start the job and show its progress."""
    if isinstance(result, Document):
        flash(_("Nothing changed since this document was issued: here it is."), "success")
        return redirect(url_for("documents.document", document_id=result.id))
    ops.dispatch(result)
    if result.state == JobState.DONE and result.document_id:  # rendered in the request (sync mode)
        return redirect(url_for("documents.document", document_id=result.document_id))
    return redirect(url_for("documents.job", job_id=result.id))


class RHPrint(RHAuthenticated):
    """Print one of my documents (portfolio, attestation, VAE dossier)."""

    methods = ("POST",)

    def _process(self):
        kind = next((k for k in ("portfolio", "attestation", "vae") if request.form.get(f"{k}-kind") == k), "")
        if kind not in ("portfolio", "attestation", "vae"):
            flash(_("Please choose a document to print."), "error")
            return redirect(url_for("documents.index"))
        experiences = experience_ops.experiences_of(current_user)
        attestable = ops.attestable_missions(experiences)
        forms = _print_forms(experiences, attestable, formdata=request.form, kind=kind)
        form = forms[kind]
        if not form.validate():
            return self._again(forms, experiences, attestable)
        if kind == "portfolio":
            owned = {e.id for e in experiences}
            wanted = tuple(i for i in (form.experience_ids.data or []) if i in owned)
            print_request = ops.PrintRequest(DocumentKind.PORTFOLIO, form.language.data, current_user, wanted)
        elif kind == "attestation":
            if form.experience_id.data not in {e.id for e in attestable}:
                form.experience_id.errors = [_("Please choose a mission whose facts your NGO confirmed.")]
                return self._again(forms, experiences, attestable)
            print_request = ops.PrintRequest(
                DocumentKind.ATTESTATION, form.language.data, current_user, (form.experience_id.data,)
            )
        else:
            print_request = ops.PrintRequest(
                DocumentKind.VAE,
                form.language.data,
                current_user,
                framework_slug=form.framework.data or "",
                annex_evidence=bool(form.annex_evidence.data),
            )
        try:
            result = ops.request_document(current_user, print_request)
        except ContextError as error:
            field = {"portfolio": "experience_ids", "attestation": "experience_id", "vae": "framework"}[kind]
            form[field].errors = [str(ops.CONTEXT_ERRORS.get(error.code, ops.CONTEXT_ERRORS["no_experience"]))]
            return self._again(forms, experiences, attestable)
        return _after_request_for(result)

    def _again(self, forms, experiences, attestable):
        return _index_page(forms, experiences, attestable), 422


class RHJobBase(RHAuthenticated):
    """A print job, for whoever requested it (404 for anyone else)."""

    def _load(self, job_id):
        self.job = ops.get_job(job_id)
        require(self.job is not None)

    def _check_access(self):
        require(self.job.can_view(current_user))


class RHJob(RHJobBase):
    """Progress of a print job. Without JavaScript the reader checks again with a button; with it, the page's
    script asks :class:`RHJobStatus` and tells the news in a live region, focus untouched (no Refresh header:
    a reload would take the reader back to the top, unannounced)."""

    def _process(self):
        job = ops.fail_if_abandoned(self.job)
        if job.state == JobState.DONE and job.document_id:
            return redirect(url_for("documents.document", document_id=job.document_id))
        failed = job.state == JobState.FAILED
        return render_template(
            "documents/job.html",
            job=job,
            error=ops.RENDER_ERRORS.get(job.error, ops.RENDER_ERRORS["error"]) if failed else None,
            poll_seconds=JOB_POLL_SECONDS,
            retry_form=EmptyForm() if job.is_retryable and job.can_retry(current_user) else None,
        )


class RHJobStatus(RHJobBase):
    """The state of a print job as JSON, for the progress page's script: what to announce and, once the document
    is ready, the links to offer in place."""

    def _process(self):
        job = ops.fail_if_abandoned(self.job)
        response = jsonify(_job_status(job))
        response.headers["Cache-Control"] = "no-store"
        return response


class RHRetryJob(RHJob):
    """Print a failed job again (from its job page)."""

    methods = ("POST",)

    def _process(self):
        if not EmptyForm().validate_on_submit() or not self.job.is_retryable:
            return redirect(url_for("documents.job", job_id=self.job.id))
        if not self.job.can_retry(current_user):
            flash(_("You may no longer print this document."), "error")
            return redirect(url_for("documents.job", job_id=self.job.id))
        return _after_request_for(ops.retry_job(current_user, self.job))


def _job_status(job) -> dict:
    """Plain data about ``job`` in the reader's language (texts only: the script never inserts markup)."""
    status = {"state": job.state.value, "finished": job.state in (JobState.DONE, JobState.FAILED)}
    if job.state == JobState.DONE and job.document_id:
        code = codes.formatted(job.document.code)
        status.update(
            message=_("Your document is ready."),
            title=_("Ready: %(kind)s", kind=job.kind.label),
            document={
                "download_url": url_for("documents.download", document_id=job.document_id),
                "download_label": _("Download the PDF"),
                "page_url": url_for("documents.document", document_id=job.document_id),
                "page_label": _("Details of the document"),
                "code_label": _("Verification code"),
                "code": code,
                "verify_url": url_for("documents.verify", code=code),
            },
        )
    elif job.state == JobState.FAILED:
        error = ops.RENDER_ERRORS.get(job.error, ops.RENDER_ERRORS["error"])
        status.update(message=str(error), title=f"{_('Error:')} {_('Print job: %(kind)s', kind=job.kind.label)}")
    else:
        status.update(message=f"{job.state.label}…", title=_("Print job: %(kind)s", kind=job.kind.label))
    return status


class RHDocumentBase(RHAuthenticated):
    def _load(self, document_id):
        self.document = ops.get_document(document_id)
        require(self.document is not None)

    def _check_access(self):
        document = self.document
        direct = may_print_about(current_user, document.holder_id, document.issuer_organisation_id)
        # Document.can_download, split so that a read through a grant is known without asking twice.
        self.through_grant = not direct and document.granted_to(current_user)
        require(direct or self.through_grant)

    def _note_read(self) -> None:
        """A reader let in by a grant (an adviser's share): the package that granted it records the read."""
        if self.through_grant:
            viewer = current_user._get_current_object()
            for grant in document_grants():
                grant.record_read(self.document, viewer)


class RHDocument(RHDocumentBase):
    def _process(self):
        self._note_read()
        return render_template(
            "documents/document.html", document=self.document, code=codes.formatted(self.document.code)
        )


class RHDownload(RHDocumentBase):
    """The stored PDF, as it was signed: one indexed row (no snapshot, holder or organisation loaded), the access
    rule by ids, then the file streamed — by the front proxy when ``DOCUMENTS_ACCEL_REDIRECT`` names its internal
    location (nginx, see deploy/nginx/acquis.conf), by Flask otherwise. The SHA-256 recorded at issue is the ETag:
    the file is never hashed again, and a client that has it already gets 304."""

    def _load(self, document_id):
        self.document = ops.get_downloadable(document_id)
        require(self.document is not None)

    def _process(self):
        self._note_read()
        document = self.document
        path = ops.document_path(document)
        require(path.exists())
        name = f"acquis-{document.kind.value}-{codes.formatted(document.code)}.pdf"
        accel = setting(current_app.config, "DOCUMENTS_ACCEL_REDIRECT")
        if accel:
            response = current_app.response_class(mimetype="application/pdf")
            response.headers["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{path.name}"
            response.headers.set("Content-Disposition", "attachment", filename=name)
            response.set_etag(document.sha256)
            response.last_modified = document.created_at
        else:
            # conditional: ETag/If-None-Match, If-Modified-Since and ranges; X-Sendfile when USE_X_SENDFILE is set.
            response = send_file(
                path,
                mimetype="application/pdf",
                as_attachment=True,
                download_name=name,
                etag=document.sha256,
                last_modified=document.created_at,
                conditional=True,
                max_age=0,
            )
        # Personal data: kept by no cache, so the access rule runs on every download (a revoked share stops it).
        response.headers["Cache-Control"] = "private, no-store"
        return response


# --- NGO side: opinions and printing what the NGO validated -----------------------------------------------------


def _reviewer_organisations(user) -> list[Organisation]:
    return [m.organisation for m in user.memberships if m.is_staff]


class RHOpinions(RHAuthenticated):
    """Trainers and admins of NGOs: volunteers with validated entries, their opinions, printing."""

    def _check_access(self):
        self.organisations = _reviewer_organisations(current_user)
        require(bool(self.organisations))

    def _process(self):
        ids = [o.id for o in self.organisations]
        opinions = ops.opinions_of_organisations(ids)
        written = {(o.organisation_id, o.volunteer_id): o for o in opinions}
        pairs = [(org, user) for org, user in ops.validated_volunteers(ids) if user.id != current_user.id]
        return render_template(
            "documents/opinions.html", pairs=pairs, written=written, print_form=PrintOpinionForm(prefix="opinion")
        )


class RHOpinionNew(RHAuthenticated):
    methods = ("GET", "POST")

    def _load(self, organisation_id, volunteer_id):
        self.organisation = db.session.get(Organisation, organisation_id)
        self.volunteer = db.session.get(User, volunteer_id)
        require(self.organisation is not None and self.volunteer is not None)
        self.opinion = ops.current_opinion(organisation_id, volunteer_id)

    def _check_access(self):
        require(self.volunteer.id != current_user.id and self.organisation.is_staff(current_user))
        pairs = ops.validated_volunteers([self.organisation.id])
        require(any(user.id == self.volunteer.id for _org, user in pairs))

    def _process(self):
        form = OpinionForm(obj=self.opinion)
        if form.validate_on_submit():
            data = ops.OpinionData(
                author_role=form.author_role.data or "",
                target_certification=form.target_certification.data or "",
                relationship_text=form.relationship_text.data or "",
                engagement=form.engagement.data or "",
                competences=form.competences.data or "",
                opinion=form.opinion.data or "",
            )
            ops.save_opinion(current_user, self.organisation, self.volunteer, data, self.opinion)
            flash(_("The opinion was saved."), "success")
            return redirect(url_for("documents.opinions"))
        return render_template(
            "documents/opinion_form.html",
            form=form,
            organisation=self.organisation,
            volunteer=self.volunteer,
            opinion=self.opinion,
            stale=self.opinion is not None and ops.opinion_is_stale(self.opinion),
        )


class RHOpinionPrint(RHAuthenticated):
    """Print the association's opinion (its authors' NGO, or the volunteer for the jury)."""

    methods = ("POST",)

    def _load(self, opinion_id):
        self.opinion = db.session.get(Opinion, opinion_id)
        require(self.opinion is not None)

    def _check_access(self):
        require(self.opinion.can_render(current_user))

    def _process(self):
        form = PrintOpinionForm(prefix="opinion")
        if not form.validate():
            flash(_("Please choose a language."), "error")
            return redirect(request.referrer or url_for("documents.index"))
        result = ops.request_document(
            current_user,
            ops.PrintRequest(DocumentKind.OPINION, form.language.data, self.opinion.volunteer, opinion=self.opinion),
        )
        return _after_request_for(result)


class RHPrintFor(RHAuthenticated):
    """A trainer or admin prints a volunteer's portfolio limited to what their NGO validated."""

    methods = ("POST",)

    def _load(self, organisation_id, volunteer_id):
        self.organisation = db.session.get(Organisation, organisation_id)
        self.volunteer = db.session.get(User, volunteer_id)
        require(self.organisation is not None and self.volunteer is not None)

    def _check_access(self):
        require(
            self.volunteer.id != current_user.id and can_render_for(current_user, self.volunteer, self.organisation.id)
        )

    def _process(self):
        form = PrintOpinionForm(prefix="opinion")
        if not form.validate():
            flash(_("Please choose a language."), "error")
            return redirect(url_for("documents.opinions"))
        language = form.language.data
        try:
            result = ops.request_document(
                current_user,
                ops.PrintRequest(DocumentKind.PORTFOLIO, language, self.volunteer, organisation=self.organisation),
            )
        except ContextError as error:
            flash(str(ops.CONTEXT_ERRORS.get(error.code, ops.CONTEXT_ERRORS["nothing_validated"])), "error")
            return redirect(url_for("documents.opinions"))
        return _after_request_for(result)


# --- Public verification --------------------------------------------------------------------------------------


class RHVerifyHome(RHPublic):
    """Type a code, or upload a PDF to check that it is an unaltered Acquis document."""

    methods = ("GET", "POST")

    def _process(self):
        code_form = VerifyCodeForm(request.args if "code" in request.args else None)
        upload_form = VerifyUploadForm()
        verdict = None
        status = 200
        if request.method == "GET" and "code" in request.args and code_form.validate():
            code = codes.normalise(code_form.code.data)
            if code is None:
                code_form.code.errors = [
                    _("This code is not valid: please check each character (the last one is a check character).")
                ]
            else:
                return redirect(url_for("documents.verify", code=codes.formatted(code)))
        if request.method == "POST":
            if upload_form.validate_on_submit():
                upload = upload_form.file.data
                data = upload.read(int(_max_bytes()) + 1) if upload else b""
                verdict = ops.verify_upload(data)
                if verdict.outcome in ("not_pdf", "too_big", "empty"):
                    upload_form.file.errors = [_upload_error(verdict.outcome)]
                    verdict = None
                    status = 422
            else:
                status = 422
        return (
            render_template(
                "documents/verify_home.html",
                code_form=code_form,
                upload_form=upload_form,
                verdict=verdict,
                statuses=ops.entry_statuses(verdict.document) if verdict and verdict.document else None,
                **_trust_context(),
            ),
            status,
        )


def _max_bytes() -> int:
    return int(setting(current_app.config, "DOCUMENT_VERIFY_MAX_BYTES", ops.VERIFY_MAX_BYTES))


def _upload_error(outcome: str) -> str:
    if outcome == "not_pdf":
        return _("This file is not a PDF.")
    if outcome == "too_big":
        return _("This file is larger than the allowed size.")
    return _("This file is empty.")


class RHVerify(RHPublic):
    """The public verification page of a code."""

    def _load(self, code):
        self.document = ops.find_by_code(code)
        require(self.document is not None)

    def _process(self):
        return render_template(
            "documents/verify.html",
            document=self.document,
            code=codes.formatted(self.document.code),
            statuses=ops.entry_statuses(self.document),
            referents=ops.printed_referents(self.document.snapshot),
            superseded_opinion=ops.superseded_opinion(self.document),
            **_trust_context(),
        )


#: Trust roots' fingerprints per application, with the monotonic time they expire: reading the root CA and the
#: platform certificate and hashing them took ~100 ms per /verify view; they change only when an operator rotates
#: keys, which a one-minute lifetime follows closely enough.
_TRUST_CACHE: dict[tuple, tuple[float, list[tuple[str, str]]]] = {}
TRUST_CACHE_SECONDS = 60


def _trust_context() -> dict:
    """What the verification pages say about trusting signatures: the trust roots' fingerprints (cached a minute)."""
    config = current_app.config
    key = _trust_files_key(config)
    now = time.monotonic()
    cached = _TRUST_CACHE.get(key)
    if cached is None or cached[0] <= now:
        cached = (now + TRUST_CACHE_SECONDS, trust_root_fingerprints(config))
        if len(_TRUST_CACHE) > 16:  # one entry per instance in practice; tests create many
            _TRUST_CACHE.clear()
        _TRUST_CACHE[key] = cached
    return {"trust_roots": cached[1]}


def _trust_files_key(config) -> tuple:
    """What the trust roots are read from, with the files' modification times (a rotated key is a new entry)."""
    cert = config.get("SIGNING_CERT_PATH") or os.environ.get("SIGNING_CERT_PATH", "")
    directory = Path(config["INSTANCE_DIR"]) / "signing"
    stamps = []
    candidates = [Path(cert)] if cert else []
    if directory.is_dir():
        candidates += sorted(directory.rglob("*"))
    for path in candidates:
        if path.is_file():
            stamps.append((str(path), path.stat().st_mtime_ns))
    return (str(directory), cert, tuple(stamps))


class RHTrustRoot(RHPublic):
    """The instance's trust roots (PEM), for readers to import into their PDF reader."""

    def _process(self):
        response = make_response(b"".join(trust_roots(current_app.config)))
        response.headers["Content-Type"] = "application/x-pem-file"
        response.headers["Content-Disposition"] = 'attachment; filename="acquis-trust-root.pem"'
        return response


# --- An NGO's signing certificate --------------------------------------------------------------------------------


PKCS12_ERRORS = {
    "too_big": _l("This file is larger than the allowed size."),
    "unreadable": _l(
        "This file could not be opened: check that it is a PKCS#12 file and that the passphrase is right."
    ),
    "no_key": _l("This file holds no private key with its certificate."),
    "not_rsa": _l("Only RSA keys of at least 2048 bits can sign archival PDF documents."),
    "expired": _l("This certificate is not valid today."),
    "usage": _l("This certificate is not meant for signing documents (its key usage lacks non-repudiation)."),
}


class RHSigning(RHAuthenticated):
    """An NGO admin sees the certificate the NGO signs with, uploads its own, or goes back to the instance's."""

    methods = ("GET", "POST")

    def _load(self, organisation_id):
        self.organisation = db.session.get(Organisation, organisation_id)
        require(self.organisation is not None)

    def _check_access(self):
        require(self.organisation.can_manage(current_user))

    def _process(self):
        form = SigningUploadForm(prefix="upload")
        if form.validate_on_submit():
            data = form.file.data.read(PKCS12_MAX_BYTES + 1)
            try:
                identities.upload_pkcs12(current_user, self.organisation, data, form.passphrase.data or "")
            except CertificateRefused as refusal:
                form.file.errors = [str(PKCS12_ERRORS[refusal.code])]
            else:
                flash(_("The NGO now signs its documents with its own certificate."), "success")
                return redirect(url_for("documents.signing", organisation_id=self.organisation.id))
        return (
            render_template(
                "documents/signing.html",
                organisation=self.organisation,
                identity=identities.current_identity(self.organisation),
                form=form,
                reset_form=SigningResetForm(prefix="reset"),
                **_trust_context(),
            ),
            422 if form.errors else 200,
        )


class RHSigningReset(RHSigning):
    """Sign again with a certificate issued by the instance's root CA."""

    methods = ("POST",)

    def _process(self):
        if SigningResetForm(prefix="reset").validate_on_submit():
            identities.use_instance_certificate(current_user, self.organisation)
            flash(_("The NGO now signs its documents with a certificate issued by this instance."), "success")
        return redirect(url_for("documents.signing", organisation_id=self.organisation.id))


_ROUTES = [
    ("/documents/", RHDocumentsIndex, "index"),
    ("/documents/print", RHPrint, "print"),
    ("/documents/jobs/<job_id>", RHJob, "job"),
    ("/documents/jobs/<job_id>/retry", RHRetryJob, "retry_job"),
    ("/documents/jobs/<job_id>/status", RHJobStatus, "job_status"),
    ("/documents/<int:document_id>", RHDocument, "document"),
    ("/documents/<int:document_id>/download", RHDownload, "download"),
    ("/documents/opinions", RHOpinions, "opinions"),
    ("/documents/opinions/<int:organisation_id>/<int:volunteer_id>", RHOpinionNew, "opinion_edit"),
    ("/documents/opinions/<int:opinion_id>/print", RHOpinionPrint, "opinion_print"),
    ("/documents/for/<int:organisation_id>/<int:volunteer_id>/print", RHPrintFor, "print_for"),
    ("/documents/signing/<int:organisation_id>", RHSigning, "signing"),
    ("/documents/signing/<int:organisation_id>/reset", RHSigningReset, "signing_reset"),
    ("/verify", RHVerifyHome, "verify_home"),
    ("/verify/trust-root.pem", RHTrustRoot, "trust_root"),
    ("/verify/<code>", RHVerify, "verify"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
