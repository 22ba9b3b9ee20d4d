"""An NGO's identity on the documents it issues: its profile (legal name, address, registration number, website,
logo, stamp) and the members who agreed to sign its documents. Operations flush and log, never commit."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.core import storage
from app.core.audit import log_event
from app.core.db import utcnow
from app.core.errors import UserError
from app.extensions import db
from app.organisations.models import Membership, Organisation

#: The largest logo or stamp kept, in pixels (a letterhead needs no more): larger images are scaled down.
LETTERHEAD_BOX = (600, 300)


@dataclass(frozen=True)
class ProfileData:
    legal_name: str = ""
    address: str = ""
    registration_number: str = ""
    website: str = ""


def letterhead_image(data: bytes, field: str) -> bytes:
    """``data`` (an uploaded JPEG or PNG) checked and re-encoded like evidence images, then scaled into
    :data:`LETTERHEAD_BOX` and written as a fresh PNG: the uploaded bytes are never kept.

    :raises UserError: not an image, damaged, too large.
    """
    from PIL import Image  # optional dependency

    try:
        meta, cleaned = storage.inspect_upload(data)
    except storage.UploadRejected as refusal:
        raise UserError(refusal.message, field) from None
    if meta.get("mime") not in ("image/png", "image/jpeg"):
        raise UserError(_l("Please upload a PNG or JPEG image."), field)
    with Image.open(io.BytesIO(cleaned)) as image:
        image.thumbnail(LETTERHEAD_BOX)
        output = io.BytesIO()
        image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(output, "PNG", optimize=True)
    return output.getvalue()


def update_profile(
    organisation: Organisation,
    data: ProfileData,
    *,
    actor: User,
    logo: bytes | None = None,
    stamp: bytes | None = None,
    remove_logo: bool = False,
    remove_stamp: bool = False,
) -> None:
    """Save the NGO's profile; a new logo or stamp replaces the old one.

    :raises UserError: an image cannot be used (nothing is saved).
    """
    new_logo = letterhead_image(logo, "logo") if logo else None
    new_stamp = letterhead_image(stamp, "stamp") if stamp else None
    for name, value in data.__dict__.items():
        setattr(organisation, name, value)
    if new_logo is not None or remove_logo:
        organisation.logo_png = new_logo
    if new_stamp is not None or remove_stamp:
        organisation.stamp_png = new_stamp
    db.session.flush()
    log_event(
        "organisation.profile_updated",
        actor=actor,
        obj=organisation,
        organisation_id=organisation.id,
        data={"logo": new_logo is not None or remove_logo, "stamp": new_stamp is not None or remove_stamp},
    )


def agree_to_sign(membership: Membership, role: str) -> None:
    """The member (an active trainer or admin) agrees to sign the NGO's documents with ``role``."""
    membership.signatory_role = role
    membership.signs_since = membership.signs_since or utcnow()
    db.session.flush()
    log_event(
        "organisation.signatory_added",
        actor=membership.user,
        obj=membership,
        organisation_id=membership.organisation_id,
        data={"role": role},
    )


def stop_signing(membership: Membership) -> None:
    """The member no longer signs (documents already issued keep their signatory)."""
    membership.signs_since = None
    db.session.flush()
    log_event(
        "organisation.signatory_removed",
        actor=membership.user,
        obj=membership,
        organisation_id=membership.organisation_id,
    )


def letterhead(organisation: Organisation) -> dict:
    """The plain data a document's letterhead prints (images as base64 PNG), and its first signatory."""
    signatory = next(iter(organisation.signatories), None)
    return {
        "legal_name": organisation.legal_name or organisation.name,
        "address": organisation.address,
        "registration_number": organisation.registration_number,
        "website": organisation.website,
        "logo_png": base64.b64encode(organisation.logo_png).decode() if organisation.logo_png else "",
        "stamp_png": base64.b64encode(organisation.stamp_png).decode() if organisation.stamp_png else "",
        "signatory": {"name": signatory.user.display_name, "role": signatory.signatory_role}
        if signatory is not None
        else None,
    }
