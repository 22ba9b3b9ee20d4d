"""Validation e-mails through a real local SMTP server (aiosmtpd): each in its recipient's language, with links
built from BASE_URL."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.validation import operations as ops
from app.validation.models import ItemDecision
from tests.e2e.helpers import Mailbox, free_port


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        yield box
    finally:
        app.config.update(saved)
        controller.stop()


def links(message) -> list[str]:
    return re.findall(r"https?://\S+", Mailbox.body(message))


def test_validation_mails_in_each_language_with_base_url_links(world, smtp):
    submission = ops.submit_experience(world.volunteer, world.mission, world.ngo, [c.id for c in world.claims])
    db.session.commit()
    french = smtp.wait_for("trainer@example.org")
    spanish = smtp.wait_for("trainer2@example.org")
    assert french["Content-Language"] == "fr" and spanish["Content-Language"] == "es"
    assert links(french) == [f"http://acquis.example/validation/submissions/{submission.id}"]
    assert links(spanish) == links(french)

    items = list(submission.items)
    ops.decide_item(items[0], world.trainer, ops.Decision(ItemDecision.VALIDATED))
    ops.decide_item(items[1], world.trainer, ops.Decision(ItemDecision.CHANGES_REQUESTED, comment="Add a photo"))
    ops.decide_item(items[2], world.trainer, ops.Decision(ItemDecision.REJECTED, comment="Not shown"))
    db.session.commit()
    volunteer_mail = smtp.wait_for("vol@example.org")
    assert volunteer_mail["Content-Language"] == "en"
    assert "Add a photo" in Mailbox.body(volunteer_mail)
    assert links(volunteer_mail) == [f"http://acquis.example/experiences/{world.mission.id}"]

    _request, token = ops.request_referent(
        world.volunteer,
        world.mission,
        ops.ReferentData(name="Rosa", email="rosa@agua.example", language="es", claim_ids=(world.claims[0].id,)),
    )
    db.session.commit()
    referent_mail = smtp.wait_for("rosa@agua.example")
    assert referent_mail["Content-Language"] == "es"
    assert links(referent_mail) == [f"http://acquis.example/validation/referent/{token}"]
