"""The messages the validation workflow sends: in-app notifications and e-mails to the trainers of an NGO, and the
site-relative links they carry."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.core.mail import queue_email
from app.core.notifications import notify
from app.core.security import canonical_url
from app.validation.queries import trainers_of


def site_path(endpoint: str, **values) -> str:
    """A site-relative link stored with a notification, built without a request (operations also run from CLI
    commands and tests)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc or "localhost", script_name=base.path or "/")
    return adapter.build(endpoint, values)


def tell_trainers(submission, volunteer, experience, organisation, *, kind, template, subject, count, **extra) -> None:
    """Notify the trainers of the submission's NGO in the app and by e-mail (in each one's language)."""
    link = site_path("validation.submission", submission_id=submission.id)
    for trainer in trainers_of(organisation, except_user_id=volunteer.id):
        notify(trainer.id, kind, link=link, volunteer=volunteer.display_name, title=experience.title)
        queue_email(
            template,
            recipient=trainer.email,
            language=trainer.locale,
            subject=subject,
            trainer=trainer,
            volunteer=volunteer,
            experience=experience,
            organisation=organisation,
            count=count,
            round=submission.round,
            url=canonical_url("validation.submission", submission_id=submission.id),
            **extra,
        )


def tell_volunteer_round_closed(submission, *, returned: bool) -> None:
    """Tell the volunteer, in the app and by e-mail (in their language), that the round was decided or returned
    for changes."""
    volunteer = submission.volunteer
    experience = submission.experience
    kind = "changes_requested" if returned else "decided"
    notify(
        volunteer.id,
        kind,
        link=site_path("experiences.detail", experience_id=experience.id),
        title=experience.title,
    )
    items = [i for i in submission.items if i.round == submission.round]
    queue_email(
        f"validation_{kind}",
        recipient=volunteer.email,
        language=volunteer.locale,
        subject=_l("Changes were requested on your portfolio")
        if returned
        else _l("Your NGO decided on your portfolio"),
        volunteer=volunteer,
        experience=experience,
        organisation=submission.organisation,
        items=items,
        url=canonical_url("experiences.detail", experience_id=experience.id),
    )
