"""My data (export, import, erasure), Open Badges 3.0 credentials, status lists, issuer profiles, ELM drafts."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.auth.passwords import verify_password
from app.claims import operations as claim_ops
from app.core.errors import add_error
from app.core.permissions import require
from app.core.views import RHAuthenticated, RHPublic
from app.experiences import operations as experience_ops
from app.extensions import db
from app.organisations.models import Organisation
from app.portability import badges, bp, elm, europass, images, keys, models
from app.portability.archive import ImportRefused
from app.portability.erasure import erase_user
from app.portability.export import export_zip
from app.portability.forms import DeleteAccountForm, ImportForm
from app.portability.import_ import import_archive

DOWNLOAD_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _download(data, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers.update(DOWNLOAD_HEADERS)
    return response


class RHMyData(RHAuthenticated):
    """Export, import and account deletion in one place."""

    def _process(self):
        return render_my_data(ImportForm(formdata=None))


def render_my_data(import_form: ImportForm):
    """The "My data" page; a refused import shows its reasons next to the upload field (422)."""
    imported = db.session.scalars(
        sa.select(models.ImportedValidation)
        .where(models.ImportedValidation.owner_id == current_user.id)
        .order_by(models.ImportedValidation.id)
    ).all()
    page = render_template("portability/my_data.html", import_form=import_form, imported=imported)
    return page, (422 if import_form.file.errors else 200)


class RHExport(RHAuthenticated):
    def _process(self):
        return _download(export_zip(current_user), "application/zip", "acquis-export.zip")


class RHImport(RHAuthenticated):
    """Import an export; a refusal changes nothing and says what is wrong and where."""

    methods = ("POST",)

    def _process(self):
        form = ImportForm()
        if not form.validate_on_submit():
            if "csrf_token" in form.errors:
                add_error(form.file, _("The form expired. Please try again."))
            return render_my_data(form)
        try:
            # The upload stays in its spooled file: the archive is read from it entry by entry, bounded.
            counts = import_archive(current_user, form.file.data.stream)
        except ImportRefused as exc:
            db.session.rollback()
            form.file.errors = [" ".join([str(exc.message), "; ".join(exc.details)]).strip()]
            return render_my_data(form)
        flash(
            _(
                "Imported %(experiences)d experiences, %(claims)d claims, %(evidence)d files, "
                "%(frameworks)d framework versions, %(validations)d validations and %(confirmations)d host "
                "referent confirmations (imported — not verified here).",
                **counts,
            ),
            "success",
        )
        return redirect(url_for("portability.my_data"))


class RHDeleteAccount(RHAuthenticated):
    """Erase the account: fresh password and the e-mail address typed as confirmation."""

    methods = ("GET", "POST")

    def _process(self):
        form = DeleteAccountForm()
        if form.validate_on_submit():
            if not verify_password(current_user.password_hash, form.current_password.data):
                form.current_password.errors = [_("This is not your current password.")]
            elif (form.confirmation.data or "").strip().lower() != current_user.email.lower():
                form.confirmation.errors = [_("Type exactly the e-mail address of your account.")]
            else:
                user = current_user._get_current_object()
                logout_user()
                erase_user(user)
                flash(_("Your account and your data have been deleted."), "success")
                return redirect(url_for("main.home"))
        return render_template("portability/delete.html", form=form), (422 if form.errors else 200)


class RHClaimBadgeBase(RHAuthenticated):
    """One of my claims with a current validation, and the language asked for (``?lang=``, else mine)."""

    def _load(self, claim_id):
        self.claim = claim_ops.get_owned_claim(claim_id, current_user)
        require(self.claim is not None and self.claim.can_view(current_user))
        self.validation = badges.current_validation(self.claim)
        require(badges.badge_eligible(self.validation))
        self.language = badges.credential_language(request.args.get("lang"), current_user)


class RHClaimBadge(RHClaimBadgeBase):
    """The Open Badges 3.0 credential (JWT-VC) of the current validation of one of my claims (``?alg=ES256``)."""

    def _process(self):
        algorithm = badges.credential_algorithm(request.args.get("alg"))
        require(algorithm is not None)
        token = badges.sign_credential(self.validation, language=self.language, algorithm=algorithm)
        return _download(token, "application/vc+jwt", f"acquis-badge-{self.claim.id}.jwt")


class RHClaimBadgeImage(RHClaimBadgeBase):
    """The PNG image of that badge (the competence and the NGO)."""

    def _process(self):
        return _download(
            badges.badge_image(self.validation, self.language), "image/png", f"acquis-badge-{self.claim.id}.png"
        )


def _public(data, mimetype: str, max_age: int = 300) -> Response:
    """A public document verifiers fetch from anywhere (CORS open, cached briefly)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class RHIssuerBase(RHPublic):
    def _load(self, slug):
        self.organisation = db.session.scalar(sa.select(Organisation).where(Organisation.slug == slug))
        require(self.organisation is not None)


class RHIssuer(RHIssuerBase):
    """Public OB 3.0 issuer profile of an NGO (its keys are in the JWKS)."""

    def _process(self):
        return _public(json.dumps(badges.issuer_profile(self.organisation)), "application/json")


class RHIssuerImage(RHIssuerBase):
    """The NGO's issuer image (PNG)."""

    def _process(self):
        return _public(images.issuer_png(self.organisation.name), "image/png", max_age=3600)


class RHStatusList(RHIssuerBase):
    """Public, signed Bitstring Status List of an NGO's validations (revocation), per signing algorithm."""

    def _process(self):
        algorithm = badges.credential_algorithm(request.args.get("alg"))
        require(algorithm is not None)
        return _public(badges.status_list_jwt(self.organisation, algorithm), "application/vc+jwt")


class RHJwks(RHPublic):
    """The public keys of every NGO that signs credentials here (``kid`` → JWK, with its issuer as ``iss``)."""

    def _process(self):
        return _public(json.dumps(keys.jwks()), "application/jwk-set+json")


class RHElm(RHAuthenticated):
    """The European Learning Model draft (JSON-LD) of one of my experiences."""

    def _load(self, experience_id):
        self.experience = experience_ops.get_owned_experience(experience_id, current_user)
        require(self.experience is not None and self.experience.can_view(current_user))

    def _process(self):
        language = badges.credential_language(request.args.get("lang"), current_user)
        document = elm.elm_document(self.experience, language=language)
        return _download(
            json.dumps(document, ensure_ascii=False, indent=2),
            "application/ld+json",
            f"acquis-elm-{self.experience.id}.jsonld",
        )


class RHElmPortfolio(RHAuthenticated):
    """My portfolio for European Digital Credentials: a presentation of the ELM credential of each validated mission."""

    def _process(self):
        language = badges.credential_language(request.args.get("lang"), current_user)
        document = elm.portfolio_document(current_user, language=language)
        return _download(
            json.dumps(document, ensure_ascii=False, indent=2), "application/ld+json", "acquis-elm-portfolio.jsonld"
        )


class RHEuropass(RHAuthenticated):
    """My validated missions and competences as a Europass CV file (Europass XML), to import in the Europass editor."""

    def _process(self):
        language = badges.credential_language(request.args.get("lang"), current_user)
        return _download(
            europass.europass_xml(current_user, language=language), "application/xml", "acquis-europass-cv.xml"
        )


_ROUTES = [
    ("/account/data", RHMyData, "my_data"),
    ("/account/data/export", RHExport, "export"),
    ("/account/data/import", RHImport, "import_"),
    ("/account/delete", RHDeleteAccount, "delete_account"),
    ("/badges/claims/<int:claim_id>.jwt", RHClaimBadge, "claim_badge"),
    ("/badges/claims/<int:claim_id>.png", RHClaimBadgeImage, "claim_badge_image"),
    ("/badges/issuers/<slug>", RHIssuer, "issuer"),
    ("/badges/issuers/<slug>/image.png", RHIssuerImage, "issuer_image"),
    ("/badges/issuers/<slug>/status", RHStatusList, "status_list"),
    ("/.well-known/jwks.json", RHJwks, "jwks"),
    ("/elm/experiences/<int:experience_id>.jsonld", RHElm, "elm"),
    ("/elm/portfolio.jsonld", RHElmPortfolio, "elm_portfolio"),
    ("/europass/cv.xml", RHEuropass, "europass_cv"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))


# --- Panels on the pages of lower packages (template hooks) ----------------------------------------------------
from app.core.hooks import Panel, panel  # noqa: E402
from app.core.hooks import register_panels as register  # noqa: E402


def _claim_panel(*, claim, **kwargs):
    validation = badges.current_validation(claim)
    imported = db.session.scalars(
        sa.select(models.ImportedValidation).where(models.ImportedValidation.claim_id == claim.id)
    ).all()
    confirmations = [c for c in _imported_confirmations(claim.experience_id) if claim.id in (c.claim_ids or [])]
    return panel(
        "portability/_claim_panel.html",
        claim=claim,
        validation=validation,
        imported=imported,
        confirmations=confirmations,
    )


def _imported_confirmations(experience_id: int) -> list[models.ImportedConfirmation]:
    return list(
        db.session.scalars(
            sa.select(models.ImportedConfirmation)
            .where(models.ImportedConfirmation.experience_id == experience_id)
            .order_by(models.ImportedConfirmation.confirmed_at, models.ImportedConfirmation.id)
        )
    )


def _experience_panel(*, experience, **kwargs):
    return panel(
        "portability/_experience_panel.html",
        experience=experience,
        confirmations=_imported_confirmations(experience.id),
    )


def _dashboard_panel(**kwargs):
    return panel("portability/_dashboard_panel.html")


def register_panels(app) -> None:
    """The panels ``portability`` adds to pages of lower packages (see :mod:`app.core.hooks` for the orders)."""
    register(
        app,
        Panel("claim-panels", 40, _claim_panel),
        Panel("experience-panels", 40, _experience_panel),
        Panel("dashboard-panels", 40, _dashboard_panel),
    )
