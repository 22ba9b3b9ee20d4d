"""Access policy of the ``portability`` blueprint: my data pages for any signed-in user; a badge or an ELM draft
only for the owner of the claim or experience; issuer profiles, their images, status lists and the JWKS are public
(verifiers need them)."""

from tests.access import PUBLIC, USER, expect, rule

OWNER_ONLY = expect(404, guest="login", volunteer="ok")


def build(world):
    """Nothing of its own: the validated claim (world.validation) and the mission come from other packages."""


POLICY = {
    "portability.my_data": rule(USER),
    "portability.export": rule(USER),
    "portability.import_": rule(USER, methods=("POST",), notes="no file: refused with a message"),
    "portability.delete_account": rule(USER, methods=("GET", "POST"), notes="no password: the form is shown again"),
    "portability.claim_badge": rule(OWNER_ONLY, url=lambda w: {"claim_id": w.validation.claim_id}),
    "portability.claim_badge_image": rule(OWNER_ONLY, url=lambda w: {"claim_id": w.validation.claim_id}),
    "portability.issuer": rule(PUBLIC, url=lambda w: {"slug": w.ngo.slug}),
    "portability.issuer_image": rule(PUBLIC, url=lambda w: {"slug": w.ngo.slug}),
    "portability.jwks": rule(PUBLIC),
    "portability.status_list": rule(PUBLIC, url=lambda w: {"slug": w.ngo.slug}),
    "portability.elm": rule(OWNER_ONLY, url=lambda w: {"experience_id": w.mission.id}),
    "portability.elm_portfolio": rule(USER, notes="one's own portfolio only: there is no id to guess"),
    "portability.europass_cv": rule(USER, notes="one's own missions and competences only"),
}
