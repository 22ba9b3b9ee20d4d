"""Access policy of the ``experiences`` blueprint: a portfolio is private to its owner (404 for anyone else)."""

from tests.access import USER, expect, rule

#: Only the owner (world.volunteer); platform admins and trainers do not browse portfolios here.
OWNER_ONLY = expect(404, guest="login", volunteer="ok")


def build(world):
    """A mission owned by world.volunteer."""
    from datetime import date

    from app.experiences import operations as ops
    from app.experiences.models import ExperienceKind

    world.mission = ops.create_experience(
        world.users["volunteer"],
        ops.ExperienceData(
            kind=ExperienceKind.MISSION,
            title="Coordinator",
            start_date=date(2023, 1, 1),
            end_date=date(2023, 12, 31),
            status_code="VSI",
            host_country="PE",
        ),
    )


def _mission(w):
    return {"experience_id": w.mission.id}


POLICY = {
    "experiences.index": rule(USER),
    "experiences.new": rule(USER, url=lambda w: {"kind": "mission"}, methods=("GET", "POST")),
    "experiences.detail": rule(OWNER_ONLY, url=_mission),
    "experiences.edit": rule(OWNER_ONLY, url=_mission, methods=("GET", "POST")),
    "experiences.delete": rule(OWNER_ONLY, url=_mission, methods=("GET", "POST")),
}
