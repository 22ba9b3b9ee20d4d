"""The data rules hold with no view module imported: each domain package is imported in a fresh interpreter
without any ``views`` module (so nothing a view used to connect is connected, and no app is built by
``create_app``), and the evidence-delete and experience-lock rules must still refuse what they must.

Both rules read their own floor's data directly (``app.claims.records.validated_claims_using`` and
``Experience.is_locked``); before issue 11 they asked ``validation`` through signals its views connected, and with
no listener they let everything through.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

DOMAIN_PACKAGES = ("experiences", "claims", "validation", "documents", "sharing", "portability")

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys, tempfile
    from datetime import date

    package = sys.argv[1]
    # The package itself and every module of it that is not a view.
    importlib.import_module(f"app.{package}")
    for info in pkgutil.iter_modules(importlib.import_module(f"app.{package}").__path__):
        if "views" not in info.name:
            importlib.import_module(f"app.{package}.{info.name}")
    # What the scenario below needs to write its rows (models and operations only).
    import app.validation.models  # noqa: F401  (the submissions and submission items tables)
    from app.auth.models import User
    from app.claims.models import Claim, Evidence
    from app.claims.operations import evidence_delete_refusal
    from app.claims.records import validated_claims_using
    from app.claims.validations import ClaimValidation
    from app.experiences.models import Experience, ExperienceKind
    from app.extensions import babel, db
    from app.organisations.models import Organisation, OrganisationKind
    from app.validation.models import Submission, SubmissionState
    from tests.cast import make_framework

    loaded_views = sorted(name for name in sys.modules if name.startswith("app.") and "views" in name)
    assert not loaded_views, loaded_views

    from flask import Flask

    flask_app = Flask("rules-without-views")
    flask_app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite://", TESTING=True, STORAGE_DIR=tempfile.mkdtemp(), SECRET_KEY="x"
    )
    db.init_app(flask_app)
    babel.init_app(flask_app)  # the refusal is a translated message
    with flask_app.app_context(), flask_app.test_request_context():
        db.create_all()
        owner = User(email="v@example.org", display_name="Volunteer", password_hash="x")
        ngo = Organisation(slug="ngo", name="NGO", kind=next(iter(OrganisationKind)))
        db.session.add_all([owner, ngo])
        db.session.flush()
        version, nodes = make_framework(db.session)
        experience = Experience(
            owner_id=owner.id, kind=ExperienceKind.TRAINING, title="Training", start_date=date(2024, 1, 1)
        )
        db.session.add(experience)
        db.session.flush()
        assert not experience.is_locked

        # Experience lock: a pending submission locks the experience.
        submission = Submission(
            experience_id=experience.id,
            volunteer_id=owner.id,
            organisation_id=ngo.id,
            state=SubmissionState.PENDING,
            facts_hash="0" * 64,
        )
        db.session.add(submission)
        db.session.flush()
        assert experience.is_locked, "a pending submission must lock the experience"
        assert not experience.can_edit(owner), "a locked experience must refuse edits"
        submission.state = SubmissionState.DECIDED
        db.session.flush()
        assert not experience.is_locked

        # Evidence delete: a file a current validation lists is kept.
        evidence = Evidence(
            owner_id=owner.id, title="Certificate", storage_key="k" * 32, sha256="a" * 64, size=1, mime="text/plain"
        )
        claim = Claim(owner_id=owner.id, experience_id=experience.id, node_id=nodes[0].id, level_rank=1)
        db.session.add_all([evidence, claim])
        db.session.flush()
        assert evidence_delete_refusal(evidence) is None
        validation = ClaimValidation(
            claim_id=claim.id,
            claim_version=1,
            snapshot={"node": {"code": "C1"}, "evidence": [{"id": evidence.id, "sha256": evidence.sha256}]},
            content_hash="0" * 64,
            framework_version_id=version.id,
            organisation_id=ngo.id,
        )
        db.session.add(validation)
        db.session.flush()
        assert [r.code for r in validated_claims_using(evidence)] == ["C1"]
        assert evidence_delete_refusal(evidence) is not None, "a validated version's evidence must not be deleted"
        from app.core.db import utcnow

        validation.revoked_at = utcnow()
        db.session.flush()
        assert evidence_delete_refusal(evidence) is None
    print("rules hold")
    """
)


@pytest.mark.parametrize("package", DOMAIN_PACKAGES)
def test_rules_refuse_without_views(package):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, package], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rules hold" in result.stdout


def test_review_lock_reads_the_mapped_submissions_table():
    """``experiences`` declares the two columns of the submissions table its lock reads; they are those of
    ``validation``'s mapping."""
    from app.experiences.models import REVIEW_PENDING, REVIEWS_TABLE
    from app.validation.models import Submission, SubmissionState

    assert Submission.__table__.name == REVIEWS_TABLE
    assert {"experience_id", "state"} <= set(Submission.__table__.c.keys())
    assert SubmissionState.PENDING.value == REVIEW_PENDING


def test_experience_deletion_writes_the_mapped_validation_records():
    """``experiences`` marks its claims' validation records withdrawn through the tables it names; they are the
    claims floor's mappings (issue 20: the NGO's record outlives the experience)."""
    from app.claims.models import Claim
    from app.claims.validations import ClaimValidation
    from app.experiences import operations

    assert Claim.__table__.name == operations.CLAIMS_TABLE
    assert ClaimValidation.__table__.name == operations.VALIDATIONS_TABLE
    assert {"id", "experience_id"} <= set(Claim.__table__.c.keys())
    assert {"claim_id", "withdrawn_at"} <= set(ClaimValidation.__table__.c.keys())
