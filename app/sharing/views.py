"""Sharing: the volunteer's shares and access log, the link exchange, and the read-only review pages."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from app.auth.forms import EmptyForm
from app.claims.models import NARRATIVE_PARTS
from app.claims.narrative import NARRATIVE_LABELS
from app.claims.operations import download_basename
from app.claims.validations import StandingValidationWriter, ValidationLine
from app.core import storage
from app.core.dead_ends import explain_dead_end
from app.core.errors import user_errors
from app.core.permissions import require
from app.core.security import canonical_url
from app.core.views import RHAuthenticated, RHPublic
from app.documents.files import document_path
from app.experiences import operations as experience_ops
from app.sharing import bp, profile
from app.sharing import operations as ops
from app.sharing.forms import NoteForm, ShareForm
from app.sharing.models import ShareKind

#: The same safe headers as ``claims.evidence_file``: nothing from a file ever runs in the browser.
FILE_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
}


def _share_data(form: ShareForm) -> ops.ShareData:
    return ops.ShareData(
        kind=ShareKind(form.kind.data),
        days=form.days.data,
        adviser_email=form.adviser_email.data or "",
        label=form.label.data or "",
        whole_portfolio=form.scope.data != "selection",
        experience_ids=tuple(form.experience_ids.data or ()),
        include_evidence=bool(form.include_evidence.data),
        include_documents=bool(form.include_documents.data),
    )


class RHShares(RHAuthenticated):
    """The volunteer's shares and the form to open a new one."""

    methods = ("GET", "POST")

    def _process(self):
        form = ShareForm()
        form.set_choices(experience_ops.experiences_of(current_user))
        if form.validate_on_submit():
            with user_errors(form, fallback="days"):
                share, token = ops.create_share(current_user, _share_data(form))
                if token is not None:
                    # Shown once, in this response only: never flashed (the session cookie) nor put in a URL.
                    link = canonical_url("sharing.open_link", token=token)
                    return render_template("sharing/created.html", share=share, link=link)
                flash(_("Your portfolio is shared with %(email)s.", email=share.adviser_email), "success")
                return redirect(url_for("sharing.detail", share_id=share.id))
        return render_template("sharing/index.html", form=form, shares=ops.shares_of(current_user)), (
            422 if form.errors else 200
        )


class RHOwnedShareBase(RHAuthenticated):
    def _load(self, share_id):
        self.share = ops.get_owned_share(share_id, current_user)
        require(self.share is not None)

    def _check_access(self):
        require(self.share.can_manage(current_user))


class RHShareDetail(RHOwnedShareBase):
    """One share: what it covers, until when, and who looked at what (the access log)."""

    def _process(self):
        return render_template(
            "sharing/detail.html", share=self.share, log=ops.access_log(self.share), revoke_form=EmptyForm()
        )


class RHRevokeShare(RHOwnedShareBase):
    methods = ("POST",)

    def _process(self):
        form = EmptyForm()
        if form.validate_on_submit():
            ops.revoke_share(self.share, actor=current_user)
            flash(_("The share has ended. Nobody can open it any more."), "success")
        return redirect(url_for("sharing.detail", share_id=self.share.id))


class RHSharedWithMe(RHAuthenticated):
    """The adviser's dashboard: portfolios shared with them, soonest expiry first."""

    def _process(self):
        return render_template("sharing/with_me.html", shares=ops.shares_for_adviser(current_user))


class RHOpenLink(RHPublic):
    """Exchange a link token for a session grant, then leave the token-bearing URL at once."""

    def _load(self, token):
        self.share = ops.find_link_share(token)
        if self.share is None and (ended := ops.ended_link_share(token)) is not None:
            _explain_end(ended)
        require(self.share is not None)

    def _process(self):
        ops.grant_in_session(self.share)
        response = redirect(url_for("sharing.portfolio", share_id=self.share.id))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


def _explain_end(share) -> None:
    """The explanation of a revoked or expired share, for whoever could read it (see ``app.core.dead_ends``)."""
    reason, when = ops.end_of(share)
    explain_dead_end(reason, when=when, person=share.owner.display_name)


class RHSharedBase(RHPublic):
    """A page read through a share: the same 404 for unknown or not-granted shares; the adviser or the link
    holder of a revoked or expired share is told what happened instead."""

    def _load(self, share_id, **view_args):
        self.share = ops.active_share(share_id)
        if self.share is None and (ended := ops.ended_share(share_id, current_user)) is not None:
            _explain_end(ended)
        require(self.share is not None)

    def _check_access(self):
        require(ops.viewer_may_read(self.share, current_user))
        ops.bind_adviser(self.share, current_user)

    @property
    def viewer(self):
        return current_user if current_user.is_authenticated else None

    @property
    def is_adviser(self) -> bool:
        return self.share.kind == ShareKind.ADVISER


def _with_private_headers(body):
    response = make_response(body)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


class RHSharedPortfolio(RHSharedBase):
    def _process(self):
        portfolio = ops.shared_portfolio_lines(self.share)
        ops.log_access(self.share, self.viewer, "portfolio", self.share.owner.display_name)
        note = ops.note_of(self.share, current_user) if self.is_adviser else None
        form = NoteForm(formdata=None, obj=note) if self.is_adviser else None
        return _with_private_headers(
            render_template(
                "sharing/portfolio.html",
                portfolio=portfolio,
                claim_items=_claim_items(portfolio),
                share=self.share,
                note_form=form,
                documents=ops.shared_documents(self.share),
            )
        )


def _claim_items(portfolio: ops.SharedPortfolio) -> dict[int, list[tuple[Markup, ValidationLine | None]]]:
    """Per experience id, its claims' list items as (HTML, validation): the template writes the HTML, then, when a
    validation is given, the shared ``validation_line`` macro for it (the rarer revoked, replaced, withdrawn or
    countersigned ones), then the next HTML. The standing validations' sentences are translated once and filled
    here, each distinct value escaped once: per claim in the template, hundreds of them cost most of the page."""
    writer = StandingValidationWriter()
    esc = writer.escape
    states: dict = {}
    items: dict[int, list[tuple[Markup, ValidationLine | None]]] = {}
    for experience_id, claims in portfolio.claims.items():
        chunks: list[tuple[Markup, ValidationLine | None]] = []
        html: list[str] = []
        for claim in claims:
            text, fallback = claim.title
            if fallback:
                language = esc(fallback)
                title = f'<span lang="{language}">{esc(text)}</span> <span class="lang-fallback">[{language}]</span>'
            else:
                title = esc(text)
            html.append(f"<li>{esc(claim.code)} — {title}\n")
            validations = portfolio.validations[claim.id]
            for v in validations:
                if writer.writes(v):
                    html.append(f"<div>{writer.badge}{writer.sentence(v)}</div>")
                else:
                    html.append("<div>")
                    chunks.append((Markup("".join(html)), v))  # noqa: S704 - every value is escaped
                    html = ["</div>"]
            if not validations:
                label = states.get(claim.state)
                if label is None:
                    label = states[claim.state] = str(escape(claim.state.label))
                html.append(f'<span class="badge badge-light">{label}</span>')
            html.append("\n</li>\n")
        chunks.append((Markup("".join(html)), None))  # noqa: S704 - every value is escaped
        items[experience_id] = chunks
    return items


class RHSharedProfile(RHSharedBase):
    """The competence profile of the shared portfolio: a chart per framework with its table, filters by framework
    and state, printable on one page."""

    def _process(self):
        portfolio = ops.shared_portfolio(self.share)
        version_id = request.args.get("framework", type=int)
        state = request.args.get("state") or None
        result = profile.competence_profile(portfolio, version_id=version_id, state=state)
        ops.log_access(self.share, self.viewer, "profile", self.share.owner.display_name)
        return _with_private_headers(
            render_template(
                "sharing/profile.html",
                portfolio=portfolio,
                share=self.share,
                profile=result,
                chart_rows=profile.chart_rows,
                chart=profile,
                state_labels=profile.STATE_LABELS,
                selected_framework=version_id,
                selected_state=state if state in profile.STATE_LABELS else "",
            )
        )


class RHSharedExperience(RHSharedBase):
    def _load(self, share_id, experience_id):
        super()._load(share_id)
        require(self.share.covers_experience(experience_id))
        self.portfolio = ops.shared_portfolio(self.share, experience_id)
        require(bool(self.portfolio.experiences))

    def _process(self):
        experience = self.portfolio.experiences[0]
        ops.log_access(self.share, self.viewer, "experience", experience.title)
        return _with_private_headers(
            render_template(
                "sharing/experience.html",
                share=self.share,
                portfolio=self.portfolio,
                experience=experience,
                narrative_parts=NARRATIVE_PARTS,
                narrative_labels=NARRATIVE_LABELS,
            )
        )


class RHSharedEvidence(RHSharedBase):
    """An evidence file through a share, with the same safe headers as the owner's download."""

    def _load(self, share_id, evidence_id):
        super()._load(share_id)
        self.evidence = ops.shared_evidence(self.share, evidence_id)
        require(self.evidence is not None)

    def _process(self):
        path = storage.path_for(self.evidence.storage_key)
        require(path.is_file())
        ops.log_access(self.share, self.viewer, "evidence", self.evidence.title)
        response = send_file(
            path,
            mimetype=self.evidence.mime,
            as_attachment=True,
            download_name=f"{download_basename(self.evidence)}.{self.evidence.extension}",
            conditional=False,
            etag=False,
            max_age=0,
        )
        response.headers.update(FILE_HEADERS)
        return response


class RHSharedDocument(RHSharedBase):
    """A signed document issued to the owner, through a share that includes documents."""

    def _load(self, share_id, document_id):
        super()._load(share_id)
        self.document = ops.shared_document(self.share, document_id)
        require(self.document is not None)

    def _process(self):
        path = document_path(self.document)
        require(path.is_file())
        ops.log_access(self.share, self.viewer, "document", self.document.kind_label)
        response = send_file(
            path,
            mimetype="application/pdf",
            as_attachment=True,
            download_name=f"acquis-{self.document.kind.value}-{self.document.code}.pdf",
            conditional=False,
            etag=False,
            max_age=0,
        )
        response.headers.update(FILE_HEADERS)
        return response


class RHSharedNotes(RHSharedBase):
    """The adviser's private notes on this portfolio (adviser shares only)."""

    methods = ("POST",)

    def _check_access(self):
        super()._check_access()
        require(self.is_adviser)

    def _process(self):
        form = NoteForm()
        if form.validate_on_submit():
            ops.save_note(self.share, current_user, form.body.data or "")
            flash(_("Your notes have been saved."), "success")
        else:
            flash(" ".join(str(e) for e in form.body.errors) or _("The form expired. Please try again."), "error")
        return redirect(url_for("sharing.portfolio", share_id=self.share.id) + "#notes")


_ROUTES = [
    ("/sharing/", RHShares, "index"),
    ("/sharing/<int:share_id>", RHShareDetail, "detail"),
    ("/sharing/<int:share_id>/revoke", RHRevokeShare, "revoke"),
    ("/sharing/with-me", RHSharedWithMe, "shared_with_me"),
    ("/s/<token>", RHOpenLink, "open_link"),
    ("/shared/<int:share_id>", RHSharedPortfolio, "portfolio"),
    ("/shared/<int:share_id>/profile", RHSharedProfile, "profile"),
    ("/shared/<int:share_id>/experiences/<int:experience_id>", RHSharedExperience, "experience"),
    ("/shared/<int:share_id>/evidence/<int:evidence_id>/file", RHSharedEvidence, "evidence_file"),
    ("/shared/<int:share_id>/documents/<int:document_id>", RHSharedDocument, "document"),
    ("/shared/<int:share_id>/notes", RHSharedNotes, "notes"),
]

for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
