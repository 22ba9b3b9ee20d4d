"""Data-scale benchmark: a PostgreSQL database the size of a national network, then p50/p95 of its heaviest pages.

1. Creates a PostgreSQL database (``--database``, dropped and created; kept afterwards so it can be measured again
   with ``--reuse``), migrates it with the app's migrations, imports the shipped frameworks and builds a small
   *template* world through the app's own operations (one submission decided, one pending, a share), so the JSON
   snapshots copied in bulk have the shapes the app writes.
2. Bulk-loads with PostgreSQL COPY (psycopg): at ``--scale 1`` 500 NGOs, ~101,000 users, ~304,000 experiences,
   ~2,000,000 claims, ~167,000 submissions (~8,500 pending), ~934,000 validations and 50,000 survey answers.
   Shapes: most volunteers have 10-30 claims, one in a hundred 300; one NGO has ~7,700 volunteers and ~5,000 pending
   claims. Foreign-key triggers are off during the load (``session_replication_role = replica``) and the tables are
   analysed afterwards.
3. Signs in as each role (Flask test client, the real login form) and prints p50/p95 over ``--requests``
   sequential requests of each page of issue 14's table, with the SQL time and statement count per request.

    .venv/bin/python bench/scale.py                     # full size (~10 min of load on 2 cores)
    .venv/bin/python bench/scale.py --scale 0.05         # a twentieth, for a quick run
    .venv/bin/python bench/scale.py --reuse              # measure the database built last time again
"""

# ruff: noqa: S608 - SQL built from this script's own table names and integers, never from input
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

PASSWORD = "scale-bench-password-2026"  # noqa: S105 - accounts of a throw-away database
#: Full-size shape (issue 14): NGOs, volunteers, advisers, survey answers.
NGOS, VOLUNTEERS, ADVISERS, SURVEY_ANSWERS = 500, 99_500, 200, 50_000
HEAVY_VOLUNTEERS = 7_718
EXPERIENCES_PER_VOLUNTEER = 3
SUBMITTED_SHARE = 0.55  # of the experiences with claims
PENDING_SHARE, HEAVY_PENDING_SHARE = 0.045, 0.065
REJECTED_SHARE = 0.27  # of the decided items: rejected, no validation (~934,000 validations at full size)
BIG_PORTFOLIO_SHARE, BIG_PORTFOLIO, BIG_EXPERIENCES = 0.01, 300, 8  # 300 claims in 8 missions


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (0 < scale <= 1)")
    parser.add_argument("--database", default="postgresql+psycopg:///acquis_perf_scale")
    parser.add_argument("--reuse", action="store_true", help="measure the existing database, do not rebuild it")
    parser.add_argument("--requests", type=int, default=60, help="sequential requests per page")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    return args


def recreate_database(url: str) -> None:
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    if not target.drivername.startswith("postgresql"):
        raise SystemExit("--database must be a PostgreSQL URL")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(target.database)
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
    admin.dispose()


def make_app(url: str):
    os.environ.update(
        {
            "ACQUIS_ENV": "development",
            "DATABASE_URL": url,
            "ACQUIS_INSTANCE_DIR": os.environ.get("ACQUIS_INSTANCE_DIR") or tempfile.mkdtemp(prefix="acquis-scale-"),
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
            "RATELIMIT_ENABLED": "0",
            "REDIS_URL": "",
            "MAIL_SERVER": "",
            "DOCUMENT_RENDER_MODE": "thread",
        }
    )
    from app import create_app

    return create_app({"WTF_CSRF_ENABLED": False})


# --- Template world (through the app's operations) ------------------------------------------------------------


def build_template(app) -> dict:
    """Migrate, import the shipped frameworks, create the template world; returns ids and row templates."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app.auth import operations as auth_ops
    from app.claims import operations as claim_ops
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.extensions import db
    from app.frameworks import operations as fw_ops
    from app.frameworks.importers.yaml_format import parse_files
    from app.frameworks.models import FrameworkNode, FrameworkVersion, NodeKind
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from app.validation import operations as validation_ops
    from app.validation.models import FactsDecision, ItemDecision

    with app.app_context():
        upgrade(revision="heads")
        frameworks, crosswalks = parse_files([PROJECT / "competencies"])
        fw_ops.import_batch(frameworks, crosswalks, make_current=True)
        db.session.flush()
        nodes = [
            (node.id, node.version_id, 2 if levels else None)
            for node, levels in db.session.execute(
                sa.select(FrameworkNode, FrameworkVersion.levels)
                .join(FrameworkVersion, FrameworkVersion.id == FrameworkNode.version_id)
                .where(FrameworkNode.kind == NodeKind.COMPETENCE, FrameworkVersion.is_current.is_(True))
                .order_by(FrameworkNode.id)
            )
        ]
        graded = [n for n in nodes if n[2] is not None]
        ngo = org_ops.create_organisation(
            org_ops.OrganisationData(name="Réseau Solidarité 0000", kind=OrganisationKind.SENDING_NGO, country="FR"),
            actor=None,
        )
        trainer = auth_ops.create_user("template-trainer@scale.example", "Template Trainer", PASSWORD, verified=True)
        org_ops.add_member(ngo, trainer, MembershipRole.TRAINER, actor=None)
        volunteer = auth_ops.create_user("template-volunteer@scale.example", "Template", PASSWORD, verified=True)
        org_ops.add_member(ngo, volunteer, MembershipRole.VOLUNTEER, actor=None)
        submissions = []
        for title in ("Template decided", "Template pending"):
            mission = experience_ops.create_experience(
                volunteer,
                experience_ops.ExperienceData(
                    kind=ExperienceKind.MISSION,
                    title=title,
                    start_date=date(2024, 1, 1),
                    end_date=date(2024, 12, 31),
                    status_code="VSI",
                    host_name="Agua Viva",
                    host_country="PE",
                ),
            )
            claims = [
                claim_ops.create_claim(
                    volunteer,
                    mission,
                    claim_ops.ClaimData(
                        node_id=n[0],
                        level_rank=2,
                        situation="Dans un quartier de Lima, avec le comité de l'eau.",
                        actions="J'ai organisé les réunions et le suivi des travaux.",
                    ),
                )
                for n in (graded[:2] if title.endswith("decided") else graded[2:4])
            ]
            submissions.append(validation_ops.submit_experience(volunteer, mission, ngo, [c.id for c in claims]))
        decided = submissions[0]
        validation_ops.confirm_facts(decided, trainer, FactsDecision.CONFIRMED, acknowledged=True)
        for item in list(decided.current_items):
            validation_ops.decide_item(item, trainer, validation_ops.Decision(ItemDecision.VALIDATED))
        db.session.commit()
        rows = {}
        for table, where in (
            ("users", f"id = {volunteer.id}"),
            ("organisations", f"id = {ngo.id}"),
            ("experiences", f"owner_id = {volunteer.id} ORDER BY id LIMIT 1"),
            ("claims", f"owner_id = {volunteer.id} ORDER BY id LIMIT 1"),
            ("submissions", f"id = {decided.id}"),
            ("submission_items", f"submission_id = {decided.id} ORDER BY id LIMIT 1"),
            ("claim_validations", "true ORDER BY id LIMIT 1"),
        ):
            result = db.session.execute(sa.text(f"SELECT * FROM {table} WHERE {where}"))
            rows[table] = dict(result.mappings().one())
        return {
            "nodes": nodes,
            "ngo": ngo.id,
            "rows": rows,
        }


# --- Bulk load -----------------------------------------------------------------------------------------------


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Loader:
    """Writes rows with COPY, table by table, with explicit ids after the template's."""

    def __init__(self, connection):
        self.connection = connection
        self.next_ids = {}

    def start_id(self, table: str) -> int:
        if table not in self.next_ids:
            self.next_ids[table] = self.connection.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[
                0
            ]
        return self.next_ids[table]

    def copy(self, table: str, columns: list[str], rows) -> int:
        count = 0
        with self.connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def reset_sequences(self, tables) -> None:
        for table in tables:
            self.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )


def bulk_load(url: str, template: dict, scale: float, rng: random.Random) -> dict:
    """COPY the network; returns the ids of the people and objects the pages are measured with."""
    import psycopg
    import sqlalchemy as sa

    from app.survey.questionnaire import latest

    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rows = template["rows"]
    nodes = template["nodes"]
    now = datetime.now(UTC).replace(tzinfo=None)
    n_ngos = max(5, round(NGOS * scale))
    n_volunteers = max(200, round(VOLUNTEERS * scale))
    heavy = max(50, round(HEAVY_VOLUNTEERS * scale))
    n_advisers = max(5, round(ADVISERS * scale))
    timings = {}
    with psycopg.connect(dsn, autocommit=False) as connection:
        connection.execute("SET session_replication_role = replica")  # no FK triggers per row during the load
        loader = Loader(connection)

        # Organisations: the template NGO is the heaviest; the others follow.
        started = time.perf_counter()
        org_ids = [template["ngo"]]
        first = loader.start_id("organisations")
        org = rows["organisations"]
        org_rows = []
        for index in range(1, n_ngos):
            org_id = first + index - 1
            org_ids.append(org_id)
            org_rows.append(
                (org_id, f"reseau-{index:04d}", f"Réseau Solidarité {index:04d}", org["kind"], "FR", "", True, now)
            )
        loader.copy(
            "organisations",
            ["id", "slug", "name", "kind", "country", "description", "accepts_join_requests", "created_at"],
            org_rows,
        )

        # Users: volunteers, 2 trainers and 1 admin per NGO, advisers. Same password hash for all.
        user = rows["users"]
        next_user = loader.start_id("users")
        user_rows, memberships = [], []
        volunteers = []  # (user id, org id)
        for index in range(n_volunteers):
            org_id = org_ids[0] if index < heavy else org_ids[1 + (index - heavy) % (len(org_ids) - 1)]
            volunteers.append((next_user, org_id))
            user_rows.append((next_user, f"volunteer{index}@scale.example", f"Volontaire {index:06d}"))
            memberships.append((next_user, org_id, "volunteer"))
            next_user += 1
        staff = {}
        for org_index, org_id in enumerate(org_ids):
            for role, count in (("trainer", 2), ("admin", 1)):
                for k in range(count):
                    user_rows.append((next_user, f"{role}{k}-{org_index}@scale.example", f"{role.title()} {org_index}"))
                    memberships.append((next_user, org_id, role))
                    staff.setdefault((org_id, role), next_user)
                    next_user += 1
        advisers = []
        for index in range(n_advisers):
            user_rows.append((next_user, f"adviser{index}@scale.example", f"Conseillère {index}"))
            advisers.append(next_user)
            next_user += 1
        # Pending join requests in the heaviest NGO (the 8,443 memberships for 7,718 volunteers).
        for index in range(max(5, round(700 * scale))):
            user_rows.append((next_user, f"candidate{index}@scale.example", f"Candidat {index:05d}"))
            memberships.append((next_user, org_ids[0], "pending"))
            next_user += 1
        adviser_set = set(advisers)
        loader.copy(
            "users",
            [
                "id",
                "email",
                "display_name",
                "password_hash",
                "locale",
                "email_verified_at",
                "is_platform_admin",
                "is_adviser",
                "session_version",
                "created_at",
            ],
            (
                (uid, email, name, user["password_hash"], "fr", now, False, uid in adviser_set, 1, now)
                for uid, email, name in user_rows
            ),
        )
        membership_id = loader.start_id("memberships")
        loader.copy(
            "memberships",
            ["id", "user_id", "organisation_id", "role", "state", "approved_at", "created_at", "signatory_role"],
            (
                (
                    membership_id + i,
                    uid,
                    oid,
                    "volunteer" if role == "pending" else role,
                    "pending" if role == "pending" else "active",
                    None if role == "pending" else now,
                    now,
                    "",
                )
                for i, (uid, oid, role) in enumerate(memberships)
            ),
        )
        timings["users and memberships"] = time.perf_counter() - started

        # Experiences, claims, submissions, items, validations: generated volunteer by volunteer, streamed.
        started = time.perf_counter()
        experience = rows["experiences"]
        claim = rows["claims"]
        submission = rows["submissions"]
        item = rows["submission_items"]
        validation = rows["claim_validations"]
        big = []  # volunteers with 300 claims
        plan = []  # per volunteer: (uid, org, claim counts per experience)
        for uid, org_id in volunteers:
            if rng.random() < BIG_PORTFOLIO_SHARE or (org_id == org_ids[0] and not big):
                total = BIG_PORTFOLIO
                big.append(uid)
            else:
                total = rng.randint(10, 27)
            n_experiences = EXPERIENCES_PER_VOLUNTEER if total < BIG_PORTFOLIO else BIG_EXPERIENCES
            split = [total // n_experiences] * n_experiences
            split[0] += total - sum(split)
            plan.append((uid, org_id, split))

        exp_id = loader.start_id("experiences")
        claim_id = loader.start_id("claims")
        sub_id = loader.start_id("submissions")
        item_id = loader.start_id("submission_items")
        val_id = loader.start_id("claim_validations")
        experiences, claims, submissions, items, validations = [], [], [], [], []
        counts = dict.fromkeys(("experiences", "claims", "submissions", "pending", "items", "validations"), 0)
        heavy_pending_claims = 0
        trainer_name = "Trainer"
        facts = submission["facts"]
        facts_json = _dumps(facts)
        item_snapshot = item["snapshot"]
        validation_snapshot = validation["snapshot"]
        today = now.date()
        exp_columns = [
            "id",
            "owner_id",
            "kind",
            "title",
            "start_date",
            "end_date",
            "updated_at",
            "sending_organisation_id",
            "sending_organisation_name",
            "host_name",
            "host_country",
            "host_city",
            "status_code",
            "languages_used",
            "context",
            "activities",
            "results",
            "provider",
            "certificate",
            "created_at",
        ]
        claim_columns = [
            "id",
            "owner_id",
            "experience_id",
            "node_id",
            "level_rank",
            "situation",
            "task",
            "actions",
            "result",
            "reflection",
            "transfer",
            "state",
            "version",
            "updated_at",
            "created_at",
        ]
        sub_columns = [
            "id",
            "experience_id",
            "volunteer_id",
            "organisation_id",
            "state",
            "round",
            "created_at",
            "submitted_at",
            "decided_at",
            "facts",
            "facts_hash",
            "facts_decision",
            "facts_comment",
            "facts_confirmed_by_id",
            "facts_confirmed_at",
            "facts_confirmed_hash",
            "facts_warnings",
        ]
        item_columns = [
            "id",
            "submission_id",
            "round",
            "claim_id",
            "claim_version",
            "snapshot",
            "content_hash",
            "created_at",
            "decision",
            "decided_by_id",
            "decided_at",
            "validated_level",
            "comment",
        ]
        val_columns = [
            "id",
            "claim_id",
            "claim_version",
            "item_id",
            "snapshot",
            "content_hash",
            "framework_version_id",
            "level",
            "validator_id",
            "validator_name",
            "organisation_id",
            "validated_at",
            "revoked_reason",
        ]

        def flush(final=False):
            if len(claims) < 200_000 and not final:
                return
            loader.copy("experiences", exp_columns, experiences)
            loader.copy("claims", claim_columns, claims)
            loader.copy("submissions", sub_columns, submissions)
            loader.copy("submission_items", item_columns, items)
            loader.copy("claim_validations", val_columns, validations)
            for bucket in (experiences, claims, submissions, items, validations):
                bucket.clear()

        for uid, org_id, split in plan:
            trainer_id = staff[(org_id, "trainer")]
            node_sample = rng.sample(range(len(nodes)), min(len(nodes), max(split)))
            for e, n_claims in enumerate(split):
                # Missions over the last five years; submitted up to 60 days after they began and decided within 90
                # days (capped at now), so the latest decisions fall in the queue statistics' 90-day window.
                begin = today - timedelta(days=rng.randint(30, 1800))
                created = datetime.combine(begin, datetime.min.time()) + timedelta(days=rng.randint(1, 29))
                experiences.append(
                    (
                        exp_id,
                        uid,
                        experience["kind"],
                        f"Mission {e + 1} à Lima",
                        begin,
                        begin + timedelta(days=180),
                        created,
                        org_id,
                        "",
                        experience["host_name"],
                        experience["host_country"],
                        "",
                        "VSI",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        created,
                    )
                )
                counts["experiences"] += 1
                submitted = uid in big or rng.random() < SUBMITTED_SHARE
                pending = submitted and rng.random() < (HEAVY_PENDING_SHARE if org_id == org_ids[0] else PENDING_SHARE)
                if uid in big:
                    pending = False
                if submitted:
                    decided_at = None if pending else min(now, created + timedelta(days=rng.randint(1, 90)))
                    submissions.append(
                        (
                            sub_id,
                            exp_id,
                            uid,
                            org_id,
                            "pending" if pending else "decided",
                            1,
                            created,
                            created,
                            decided_at,
                            facts_json,
                            submission["facts_hash"],
                            None if pending else "confirmed",
                            "",
                            None if pending else trainer_id,
                            decided_at,
                            None if pending else submission["facts_hash"],
                            "[]",
                        )
                    )
                    counts["submissions"] += 1
                    counts["pending"] += pending
                for k in range(n_claims):
                    node_id, version_id, level = nodes[node_sample[(k + e * 7) % len(node_sample)]]
                    rejected = submitted and not pending and rng.random() < REJECTED_SHARE
                    state = "draft" if not submitted else ("submitted" if pending else "validated")
                    state = "rejected" if rejected else state
                    claims.append(
                        (
                            claim_id,
                            uid,
                            exp_id,
                            node_id,
                            level,
                            claim["situation"],
                            "",
                            claim["actions"],
                            "",
                            "",
                            "",
                            state,
                            1,
                            created,
                            created,
                        )
                    )
                    if submitted:
                        items.append(
                            (
                                item_id,
                                sub_id,
                                1,
                                claim_id,
                                1,
                                _dumps(item_snapshot),
                                item["content_hash"],
                                created,
                                "pending" if pending else ("rejected" if rejected else "validated"),
                                None if pending else trainer_id,
                                None if pending else decided_at,
                                None if pending or rejected else level,
                                "Ce récit ne montre pas la compétence." if rejected else "",
                            )
                        )
                        if pending:
                            heavy_pending_claims += org_id == org_ids[0]
                        elif not rejected:
                            validations.append(
                                (
                                    val_id,
                                    claim_id,
                                    1,
                                    item_id,
                                    _dumps(validation_snapshot),
                                    validation["content_hash"],
                                    version_id,
                                    level,
                                    trainer_id,
                                    trainer_name,
                                    org_id,
                                    decided_at,
                                    "",
                                )
                            )
                            val_id += 1
                            counts["validations"] += 1
                        item_id += 1
                        counts["items"] += 1
                    claim_id += 1
                    counts["claims"] += 1
                if submitted:
                    sub_id += 1
                exp_id += 1
            flush()
        flush(final=True)
        timings["portfolios"] = time.perf_counter() - started

        # Survey answers: one NGO each, the heaviest NGO the most; published as exact tallies.
        started = time.perf_counter()
        questionnaire = latest()
        responses = []
        n_answers = max(500, round(SURVEY_ANSWERS * scale))
        for index in range(n_answers):
            rid = secrets.token_hex(16)
            org_id = org_ids[0] if index % 12 == 0 else rng.choice(org_ids[1:])
            profile = {q.key: rng.choice(q.values) for q in questionnaire.profile}
            answers = {key: rng.choice(("1", "2", "3", "4", "5", "na")) for key in questionnaire.item_keys}
            responses.append(
                (
                    rid,
                    questionnaire.id,
                    questionnaire.version,
                    questionnaire.consent_version,
                    _dumps(profile),
                    _dumps(answers),
                    org_id,
                )
            )
        loader.copy(
            "survey_responses",
            ["id", "questionnaire_id", "questionnaire_version", "consent_version", "profile", "answers"],
            (r[:6] for r in responses),
        )
        loader.copy(
            "survey_response_organisations", ["response_id", "organisation_id"], ((r[0], r[6]) for r in responses)
        )
        from app.survey.models import attribution_key
        from app.survey.privacy import exact_tally

        groups = {}
        for r in responses:
            groups.setdefault(attribution_key([r[6]]), []).append((json.loads(r[4]), json.loads(r[5])))
        loader.copy(
            "survey_tallies",
            ["questionnaire_id", "questionnaire_version", "attribution", "counts", "rho_spent"],
            (
                (questionnaire.id, questionnaire.version, key, _dumps(exact_tally(questionnaire, answers)), 0.0)
                for key, answers in groups.items()
            ),
        )
        timings["survey"] = time.perf_counter() - started
        loader.reset_sequences(
            [
                "organisations",
                "users",
                "memberships",
                "experiences",
                "claims",
                "submissions",
                "submission_items",
                "claim_validations",
            ]
        )
        connection.commit()
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    timings["vacuum analyze"] = time.perf_counter() - started
    for name, seconds in timings.items():
        print(f"  {name:<24}{seconds:7.1f} s", flush=True)
    print(
        f"  {len(org_ids)} NGOs, {len(user_rows) + 2} users, {counts['experiences']} experiences, "
        f"{counts['claims']} claims, {counts['submissions']} submissions ({counts['pending']} pending), "
        f"{counts['items']} items, {counts['validations']} validations, {n_answers} survey answers; "
        f"heaviest NGO: {heavy} volunteers, {heavy_pending_claims} pending claims",
        flush=True,
    )
    heavy_big = next(uid for uid, org_id, split in plan if org_id == org_ids[0] and sum(split) == BIG_PORTFOLIO)
    return {
        "heavy_ngo": org_ids[0],
        "trainer": staff[(org_ids[0], "trainer")],
        "admin": staff[(org_ids[0], "admin")],
        "big_volunteer": heavy_big,
        "adviser": advisers[0],
    }


# --- Measurement ---------------------------------------------------------------------------------------------


def prepare_people(app, people: dict | None) -> dict:
    """Emails, the heaviest NGO's slug and an adviser share of the 300-claim portfolio (created if missing)."""
    import sqlalchemy as sa

    from app.auth.models import User
    from app.extensions import db
    from app.organisations.models import Membership, Organisation
    from app.sharing import operations as share_ops
    from app.sharing.models import Share, ShareKind

    with app.app_context():
        if people is None:  # --reuse: find them again
            heavy = db.session.scalar(
                sa.select(Membership.organisation_id)
                .group_by(Membership.organisation_id)
                .order_by(sa.func.count().desc())
                .limit(1)
            )
            people = {
                "heavy_ngo": heavy,
                "trainer": db.session.scalar(
                    sa.select(Membership.user_id)
                    .where(Membership.organisation_id == heavy, Membership.role == "trainer")
                    .order_by(Membership.id)
                    .limit(1)
                ),
                "admin": db.session.scalar(
                    sa.select(Membership.user_id)
                    .where(Membership.organisation_id == heavy, Membership.role == "admin")
                    .order_by(Membership.id)
                    .limit(1)
                ),
                "big_volunteer": db.session.scalar(
                    sa.text(
                        "SELECT c.owner_id FROM claims c JOIN memberships m ON m.user_id = c.owner_id "
                        f"AND m.organisation_id = {int(heavy)} GROUP BY c.owner_id HAVING count(*) = 300 "
                        "ORDER BY c.owner_id LIMIT 1"
                    )
                ),
                "adviser": db.session.scalar(sa.select(User.id).where(User.email == "adviser0@scale.example")),
            }
        volunteer = db.session.get(User, people["big_volunteer"])
        adviser = db.session.get(User, people["adviser"])
        share = db.session.scalar(
            sa.select(Share).where(Share.owner_id == volunteer.id, Share.adviser_email == adviser.email)
        )
        if share is None:
            share, _token = share_ops.create_share(
                volunteer, share_ops.ShareData(kind=ShareKind.ADVISER, adviser_email=adviser.email)
            )
            db.session.commit()
        emails = {
            role: db.session.get(User, people[role]).email for role in ("trainer", "admin", "big_volunteer", "adviser")
        }
        return {
            **emails,
            "slug": db.session.get(Organisation, people["heavy_ngo"]).slug,
            "share": share.id,
        }


def pages(people: dict) -> list[tuple[str, str, str]]:
    """(label, who, url) of the issue's table."""
    return [
        ("trainer queue, heaviest NGO", "trainer", "/validation/reviews?state=pending"),
        ("same queue for the NGO admin", "admin", "/validation/reviews?state=pending"),
        ("survey report, biggest NGO", "admin", f"/survey/orgs/{people['slug']}/report"),
        ("volunteer portfolio, 300 claims", "big_volunteer", "/portfolio/"),
        ("adviser's shared portfolio", "adviser", f"/shared/{people['share']}"),
        ("competence search", "big_volunteer", "/frameworks/search?q=projet"),
        ("verify", "big_volunteer", "/verify"),
        ("volunteer home", "big_volunteer", "/"),
    ]


def measure(app, people: dict, requests: int) -> list[tuple[str, float, float, float, int]]:
    """p50, p95, median SQL ms and statements per request of each page."""
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    sql = {"seconds": 0.0, "count": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["scale_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        sql["seconds"] += time.perf_counter() - conn.info.pop("scale_started", time.perf_counter())
        sql["count"] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    clients = {}
    results = []
    try:
        for label, who, url in pages(people):
            if who not in clients:
                client = app.test_client()
                response = client.post("/auth/login", data={"email": people[who], "password": PASSWORD})
                if response.status_code != 302:
                    raise SystemExit(f"cannot sign in as {people[who]} ({response.status_code})")
                clients[who] = client
            client = clients[who]
            status = client.get(url).status_code  # warm-up: templates compiled, caches filled as in production
            if status != 200:
                raise SystemExit(f"{url} as {who}: {status}")
            times, sql_times, counts, cpu = [], [], [], []
            for _ in range(requests):
                sql["seconds"], sql["count"] = 0.0, 0
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                sql_times.append(sql["seconds"])
                counts.append(sql["count"])
                assert response.status_code == 200, (url, response.status_code)
            ordered = sorted(times)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            results.append(
                (
                    label,
                    1000 * statistics.median(times),
                    1000 * p95,
                    1000 * statistics.median(sql_times),
                    max(counts),
                    1000 * statistics.median(cpu),
                )
            )
            print(
                f"  {label:<34}{results[-1][1]:8.0f}{results[-1][2]:8.0f}{results[-1][3]:8.1f}{results[-1][4]:6d}"
                f"{results[-1][5]:8.1f}",
                flush=True,
            )
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    people = None
    if not args.reuse:
        recreate_database(args.database)
    app = make_app(args.database)
    if not args.reuse:
        started = time.perf_counter()
        template = build_template(app)
        print(f"migrated and template built in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        people = bulk_load(args.database, template, args.scale, rng)
        print(f"bulk load in {time.perf_counter() - started:.1f} s", flush=True)
    people = prepare_people(app, people)
    print(f"\n{args.requests} sequential requests per page (test client, signed in through the login form)")
    print("  (SQL ms: median time in the database driver; CPU ms: median CPU of this process, which on a shared")
    print("  machine shows the page's own cost where the wall-clock times include waiting for a core)")
    print(f"  {'page':<34}{'p50 ms':>8}{'p95 ms':>8}{'SQL ms':>8}{'stmts':>6}{'CPU ms':>8}")
    results = measure(app, people, args.requests)
    slow = [label for label, _p50, p95, _sql, _n, _cpu in results if p95 > 100]
    print("every page <= 100 ms p95" if not slow else f"above 100 ms p95: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
