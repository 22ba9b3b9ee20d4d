"""``flask demo seed``: organisations and users of every role, idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.auth import operations as auth_ops
from app.claims import operations as claim_ops
from app.documents import operations as document_ops
from app.experiences import operations as experience_ops
from app.experiences.models import ExperienceKind, TrainingKind, WorkingTime
from app.extensions import db
from app.frameworks.models import Framework, FrameworkNode, FrameworkVersion
from app.organisations import operations as org_ops
from app.organisations import profile
from app.organisations.models import MembershipRole, OrganisationKind
from app.vae import operations as vae_ops
from app.vae.models import VaeRoute, VaeStatus
from app.validation import operations as validation_ops
from app.validation import queries as validation_queries
from app.validation.models import FactsDecision, ItemDecision

demo_cli = AppGroup("demo", help="Demonstration data.")

#: Shared by every demo account; printed by ``make run`` and the README. Never use in production.
DEMO_PASSWORD = "solidarite-demo-2026"

DEMO_ORGANISATIONS = [
    (
        "terre-solidaire",
        "Terre Solidaire Volontariat",
        OrganisationKind.SENDING_NGO,
        "FR",
        "Association agréée VSI : missions de 12 à 24 mois en Afrique de l'Ouest et en Amérique latine.",
    ),
    (
        "ponts-du-monde",
        "Ponts du Monde",
        OrganisationKind.SENDING_NGO,
        "FR",
        "Service civique à l'international et Corps européen de solidarité.",
    ),
    (
        "asociacion-manos-unidas-lima",
        "Asociación Manos Unidas Lima",
        OrganisationKind.HOST_PARTNER,
        "PE",
        "Partenaire local : éducation et santé communautaire à Lima.",
    ),
    (
        "mission-locale-lyon",
        "Mission locale de Lyon",
        OrganisationKind.GUIDANCE_SERVICE,
        "FR",
        "Conseil en évolution professionnelle et accompagnement VAE.",
    ),
]

# (email, name, locale, user roles, [(org slug, role)])
DEMO_USERS = [
    ("admin@demo.acquis.example", "Agnès Admin", "fr", {"platform_admin"}, []),
    (
        "benevole@demo.acquis.example",
        "Camille Martin",
        "fr",
        set(),
        [("terre-solidaire", MembershipRole.VOLUNTEER), ("ponts-du-monde", MembershipRole.VOLUNTEER)],
    ),
    ("volunteer2@demo.acquis.example", "Sam Okafor", "en", set(), [("ponts-du-monde", MembershipRole.VOLUNTEER)]),
    ("formatrice@demo.acquis.example", "Fatou Diallo", "fr", set(), [("terre-solidaire", MembershipRole.TRAINER)]),
    ("trainer2@demo.acquis.example", "Lucía Gómez", "es", set(), [("ponts-du-monde", MembershipRole.TRAINER)]),
    ("admin-ong@demo.acquis.example", "Hugo Bernard", "fr", set(), [("terre-solidaire", MembershipRole.ADMIN)]),
    (
        "referent@demo.acquis.example",
        "Rosa Quispe",
        "es",
        set(),
        [("asociacion-manos-unidas-lima", MembershipRole.ADMIN)],
    ),
    (
        "conseillere@demo.acquis.example",
        "Nadia Benali",
        "fr",
        {"adviser"},
        [("mission-locale-lyon", MembershipRole.ADMIN)],
    ),
]


#: When the demo people "joined": before the impact survey opened, so they may answer it and count toward its
#: threshold (accounts and memberships younger than a questionnaire's opening do not, see ``app.survey``).
DEMO_JOINED_AT = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)


def seed_demo() -> list[tuple[str, str]]:
    """Create what is missing of the demo data; returns (e-mail, description) of the demo accounts."""
    organisations = {}
    for slug, name, kind, country, description in DEMO_ORGANISATIONS:
        organisation = org_ops.get_organisation(slug) or org_ops.create_organisation(
            org_ops.OrganisationData(name=name, kind=kind, country=country, description=description),
            actor=None,
            slug=slug,
        )
        organisations[slug] = organisation
    accounts = []
    for email, name, locale, user_roles, memberships in DEMO_USERS:
        user = auth_ops.get_user_by_email(email) or auth_ops.create_user(
            email,
            name,
            DEMO_PASSWORD,
            locale=locale,
            verified=True,
            is_platform_admin="platform_admin" in user_roles,
            is_adviser="adviser" in user_roles,
        )
        if user.created_at > DEMO_JOINED_AT:
            user.created_at = DEMO_JOINED_AT
        for slug, role in memberships:
            organisation = organisations[slug]
            if organisation.membership_of(user) is None:
                membership = org_ops.add_member(organisation, user, role, actor=None)
                membership.approved_at = DEMO_JOINED_AT
        roles = sorted(user_roles) + [f"{role.value}@{slug}" for slug, role in memberships]
        accounts.append((email, ", ".join(roles)))
    seed_identity(organisations["terre-solidaire"], auth_ops.get_user_by_email("admin-ong@demo.acquis.example"))
    seed_portfolio(auth_ops.get_user_by_email("benevole@demo.acquis.example"), organisations["terre-solidaire"])
    seed_validation(
        auth_ops.get_user_by_email("benevole@demo.acquis.example"),
        organisations["terre-solidaire"],
        auth_ops.get_user_by_email("formatrice@demo.acquis.example"),
        auth_ops.get_user_by_email("admin-ong@demo.acquis.example"),
    )
    seed_vae(
        auth_ops.get_user_by_email("benevole@demo.acquis.example"),
        auth_ops.get_user_by_email("conseillere@demo.acquis.example"),
    )
    return accounts


#: The demo NGO's identity on its documents (fictitious registration number).
DEMO_PROFILE = {
    "legal_name": "Association Terre Solidaire",
    "address": "12 rue des Volontaires\n69007 Lyon, France",
    "registration_number": "RNA W691234567",
    "website": "https://terre-solidaire.demo.acquis.example",
}


def seed_identity(organisation, org_admin) -> None:
    """The demo NGO's letterhead, and its admin as the person who signs its documents (once)."""
    if organisation.legal_name or org_admin is None:
        return
    profile.update_profile(organisation, profile.ProfileData(**DEMO_PROFILE), actor=org_admin)
    membership = organisation.membership_of(org_admin)
    if membership is not None:
        profile.agree_to_sign(membership, "Directeur")


DEMO_MISSION = {
    "title": "Coordinatrice de projet éducation",
    "status_code": "VSI",
    "start_date": date(2022, 9, 1),
    "end_date": date(2024, 8, 31),
    "host_name": "Asociación Manos Unidas Lima",
    "host_country": "PE",
    "host_city": "Lima",
    "working_time": WorkingTime.FULL_TIME,
    "team_size": 8,
    "budget_managed_eur": 45000,
    "people_served": 600,
    "languages_used": "espagnol, quechua (notions), anglais",
    "context": "Quartiers périphériques de Lima ; association partenaire d'éducation populaire ; équipe de 8 "
    "animateurs locaux.",
    "activities": "Coordination d'un programme de soutien scolaire dans 4 quartiers ; formation des animateurs ; "
    "suivi budgétaire ; rapports trimestriels au bailleur.",
    "results": "600 enfants accompagnés ; 12 animateurs formés ; programme repris par le partenaire en 2024.",
}
DEMO_TRAINING = {
    "title": "Formation au départ en volontariat",
    "provider": "Terre Solidaire Volontariat",
    "training_kind": TrainingKind.PRE_DEPARTURE,
    "start_date": date(2022, 6, 13),
    "end_date": date(2022, 6, 17),
    "hours": 35,
    "certificate": "Attestation de participation",
}
#: (framework slug, competence code, level, situation, actions, result, reflection)
DEMO_CLAIMS = [
    (
        "solidarite-internationale",
        "SI.1.1",
        3,
        "Arrivée dans un quartier où les codes sociaux m'étaient inconnus.",
        "J'ai passé les premières semaines à écouter les familles et les animateurs avant de proposer quoi "
        "que ce soit.",
        "Le programme a été construit avec les habitants et a été bien accepté.",
        "J'ai appris à suspendre mon jugement et à vérifier mes interprétations.",
    ),
    (
        "solidarite-internationale",
        "SI.2.1",
        3,
        "Un programme de soutien scolaire à relancer avec un partenaire local.",
        "J'ai animé un diagnostic participatif, rédigé le cadre logique et le calendrier avec l'équipe.",
        "Quatre quartiers couverts, objectifs atteints à 90 %.",
        "Je planifierais plus tôt la passation au partenaire.",
    ),
    (
        "solidarite-internationale",
        "SI.4.1",
        2,
        "Une équipe de 8 animateurs bénévoles et salariés.",
        "J'ai organisé les plannings, des réunions hebdomadaires et des formations courtes.",
        "12 animateurs formés, turnover réduit.",
        "Je délègue mieux qu'au début de la mission.",
    ),
]


def seed_portfolio(volunteer, organisation) -> None:
    """A mission, a training and claims with narratives for the demo volunteer (once)."""
    if volunteer is None or experience_ops.experiences_of(volunteer):
        return
    mission = experience_ops.create_experience(
        volunteer,
        experience_ops.ExperienceData(
            kind=ExperienceKind.MISSION, sending_organisation_id=organisation.id, **DEMO_MISSION
        ),
    )
    experience_ops.create_experience(
        volunteer, experience_ops.ExperienceData(kind=ExperienceKind.TRAINING, **DEMO_TRAINING)
    )
    for slug, code, level, situation, actions, result, reflection in DEMO_CLAIMS:
        node = db.session.scalar(
            sa.select(FrameworkNode)
            .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
            .join(Framework, FrameworkVersion.framework_id == Framework.id)
            .where(Framework.slug == slug, FrameworkVersion.is_current.is_(True), FrameworkNode.code == code)
        )
        if node is None:
            continue  # frameworks not imported: `flask frameworks import competencies` first
        claim_ops.create_claim(
            volunteer,
            mission,
            claim_ops.ClaimData(
                node_id=node.id,
                level_rank=level,
                situation=situation,
                actions=actions,
                result=result,
                reflection=reflection,
            ),
        )


def seed_validation(volunteer, organisation, trainer, org_admin) -> None:
    """The demo mission submitted to the NGO, its facts confirmed and its claims validated by the trainer, a host
    referent's confirmation and the association's opinion, so every document prints with real content (once)."""
    if volunteer is None or trainer is None:
        return
    mission = next((e for e in experience_ops.experiences_of(volunteer) if e.kind == ExperienceKind.MISSION), None)
    if mission is None or validation_queries.submissions_of_experience(mission):
        return
    claims = validation_queries.claims_of_experience(mission)
    if not claims:
        return
    submission = validation_ops.submit_experience(volunteer, mission, organisation, [c.id for c in claims])
    # Two years of VSI across a leap day are 731 days, one more than the status's bound: the trainer acknowledges it.
    validation_ops.confirm_facts(submission, trainer, FactsDecision.CONFIRMED, acknowledged=True)
    for item in list(submission.current_items):
        validation_ops.decide_item(item, trainer, validation_ops.Decision(ItemDecision.VALIDATED))
    request, _token = validation_ops.request_referent(
        volunteer,
        mission,
        validation_ops.ReferentData(
            name="Rosa Quispe",
            email="referent@demo.acquis.example",
            organisation_name="Asociación Manos Unidas Lima",
            role="Coordinadora de programas",
            language="es",
            claim_ids=tuple(c.id for c in claims[:2]),
        ),
    )
    validation_ops.confirm_referent(
        request,
        facts_confirmed=True,
        claim_ids=[c.id for c in claims[:2]],
        comment="Camille a coordonné le programme avec rigueur et une grande écoute des familles.",
    )
    if org_admin is not None:
        document_ops.save_opinion(
            org_admin,
            organisation,
            volunteer,
            document_ops.OpinionData(
                author_role="Responsable des volontaires",
                target_certification="Exemple fictif — Coordination de projets de solidarité internationale",
                relationship_text="Camille est partie en VSI avec notre association de 2022 à 2024 ; nous l'avons "
                "préparée au départ, suivie pendant la mission et accueillie au retour.",
                engagement="Deux années de volontariat à plein temps à Lima, auprès d'un partenaire d'éducation "
                "populaire.",
                competences="Coordination de projet, animation d'équipe, écoute interculturelle.",
                opinion="Avis très favorable : les compétences validées correspondent aux blocs 1 à 3 de la "
                "certification visée.",
            ),
        )


DEMO_VAE_FRAMEWORK = "example-rncp-coordination-projets-solidarite"


def seed_vae(volunteer, adviser) -> None:
    """A VAE project in progress for the demo volunteer on the example certification (admissible a month ago,
    so the 6-month deadline shows), the demo adviser as companion with a comment, and a first draft of bloc 1
    (once; nothing when the example certification is not imported)."""
    if volunteer is None or adviser is None or vae_ops.projects_of(volunteer):
        return
    framework = db.session.scalar(sa.select(Framework).where(Framework.slug == DEMO_VAE_FRAMEWORK))
    if framework is None or framework.current_version is None:
        return
    today = date.today()
    project = vae_ops.create_project(
        volunteer,
        vae_ops.ProjectData(framework.id, VaeRoute.FRANCE_VAE, today - timedelta(days=120)),
    )
    for status, days_ago in ((VaeStatus.FEASIBILITY_SENT, 90), (VaeStatus.ADMISSIBLE, 30)):
        vae_ops.advance(project, status, actor=volunteer, on=today - timedelta(days=days_ago), expected=project.status)
    vae_ops.invite_companion(project, actor=volunteer, email=adviser.email, days=180)
    first_bloc = project.bloc_codes[0]
    vae_ops.save_draft(
        project,
        first_bloc,
        vae_ops.DraftData(
            fields={
                "context": "Association partenaire d'éducation populaire à Lima (Pérou), 12 salariés et 30 bénévoles.",
                "activities": "J'ai conduit le diagnostic du quartier avec les familles et les écoles partenaires.",
            }
        ),
        actor=volunteer,
    )
    vae_ops.add_comment(
        project,
        actor=adviser,
        bloc_code=first_bloc,
        body="Bon début. Décrivez une situation précise : qui avez-vous réuni, avec quels outils, pour quel résultat ?",
    )


@demo_cli.command("seed")
def seed_command():
    """Create the demo organisations and accounts (safe to run again)."""
    accounts = seed_demo()
    db.session.commit()
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for email, roles in accounts:
        click.echo(f"  {email:<32} {roles}")
    click.echo("The platform admin is asked to set up two-factor authentication at first sign-in.")
