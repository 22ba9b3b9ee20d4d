"""The countersignature pages (issue 20) run a fixed number of SQL statements whatever the amount of data: the
trainers' list of validations awaiting a second trainer, and an NGO's rules page."""

from __future__ import annotations

from tests import cast as worlds
from tests.fixtures.statements import explain, statements_for


def test_countersignature_pages_do_not_grow(db_session, create_user, create_org, add_member, app, login):
    from app.extensions import db
    from app.validation import countersign

    ngo = create_org("Solidarité Monde")
    volunteer = create_user("vol@example.org", name="Valentine", locale="en")
    trainer = create_user("trainer@example.org", name="Théo Trainer", locale="en")
    second = create_user("trainer2@example.org", name="Tess Trainer", locale="en")
    admin = create_user("admin@example.org", name="Ada Admin", locale="en")
    add_member(ngo, volunteer, "volunteer")
    add_member(ngo, trainer, "trainer")
    add_member(ngo, second, "trainer")
    add_member(ngo, admin, "admin")
    _version, nodes = worlds.make_framework(db_session)
    countersign.set_rule(ngo, admin, countersign.RuleData("val-fw"))

    def add(count, start):
        for index in range(start, start + count):
            mission = worlds.create_mission(volunteer, title=f"Mission {index}")
            claims = worlds.create_claims(volunteer, mission, nodes)
            worlds.validate_everything(worlds.submit_claims(volunteer, mission, ngo, claims), trainer)
            countersign.set_rule(ngo, admin, countersign.RuleData(f"fw-{index}", min_level=2))
        db.session.commit()

    trainers, admins = app.test_client(), app.test_client()
    login(trainers, second)
    login(admins, admin)
    rules_url = f"/validation/organisations/{ngo.slug}/countersignature"
    add(1, 0)
    small = (
        statements_for(trainers, "/validation/countersignatures", warm_up=True),
        statements_for(admins, rules_url, warm_up=True),
    )
    add(6, 1)
    large = (
        statements_for(trainers, "/validation/countersignatures", warm_up=True),
        statements_for(admins, rules_url, warm_up=True),
    )
    for before, after in zip(small, large, strict=True):
        assert len(before) == len(after), explain(before, after)
    page = trainers.get("/validation/countersignatures").get_data(as_text=True)
    assert page.count("/countersign") >= 21  # 7 missions of 3 claims awaiting
