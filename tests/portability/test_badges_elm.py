"""Open Badges 3.0 credentials verified by openbadgeslib (valid, tampered, revoked) and the ELM draft."""

from __future__ import annotations

import base64
import json

import pytest
from openbadgeslib.ob3 import OB3VerificationError, OB3Verifier


def _fetcher(app):
    """openbadgeslib's status-list download, served by the application instead of the network."""
    client = app.test_client()

    def download(url: str) -> bytes:
        path = url.removeprefix(app.config["BASE_URL"])
        response = client.get(path)
        assert response.status_code == 200, url
        return response.data

    return download


def _public_key(app):
    from app.portability import badges

    with app.test_request_context():
        return badges.public_key_pem()


def _badge(client, login, world) -> str:
    login(client, world.volunteer)
    response = client.get(f"/badges/claims/{world.claims[0].id}.jwt")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    return response.get_data(as_text=True)


def test_credential_verifies_with_its_content(app, client, login, world):
    token = _badge(client, login, world)
    credential = OB3Verifier(_public_key(app)).verify(token, check_status=True, download=_fetcher(app))
    raw = credential.raw
    assert "AchievementCredential" in raw["type"] or "OpenBadgeCredential" in raw["type"]
    assert raw["issuer"]["id"] == f"http://acquis.example/badges/issuers/{world.ngo.slug}"
    assert raw["issuer"]["name"] == "Solidarité Monde"
    achievement = raw["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Competency"
    alignment = achievement["alignment"][0]
    assert alignment["targetCode"] == "C1"
    assert alignment["targetUrl"] == f"http://acquis.example/frameworks/nodes/{world.nodes[0].id}"
    assert "2026" in alignment["targetFramework"]
    assert "I organised the C1 work" in raw["evidence"][0]["narrative"]
    assert raw["credentialStatus"]["statusListCredential"].endswith(f"/badges/issuers/{world.ngo.slug}/status")
    # the subject is a salted hash, never the e-mail address
    assert world.volunteer.email not in token and world.volunteer.email not in json.dumps(raw)


def test_issuer_profile_publishes_the_key(app, client, world):
    from jwt.algorithms import ECAlgorithm

    profile = client.get(f"/badges/issuers/{world.ngo.slug}").get_json()
    assert profile["name"] == "Solidarité Monde"
    key = ECAlgorithm.from_jwk(json.dumps(profile["publicKeyJwk"]))
    assert key.public_numbers() is not None
    assert client.get("/badges/issuers/no-such-ngo").status_code == 404


def test_tampered_credential_fails(app, client, login, world):
    token = _badge(client, login, world)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["alignment"][0]["targetCode"] = "C3"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(OB3VerificationError):
        OB3Verifier(_public_key(app)).verify(f"{header}.{forged}.{signature}")


def test_revoked_validation_reports_revoked(app, client, login, world, db_session):
    from app.validation import operations as validation_ops

    token = _badge(client, login, world)
    validation_ops.revoke_validation(world.validation, world.admin, "Claim copied from another volunteer.")
    db_session.commit()
    verifier = OB3Verifier(_public_key(app))
    verifier.verify(token)  # the signature stays valid…
    with pytest.raises(OB3VerificationError, match="revocation"):
        verifier.verify(token, check_status=True, download=_fetcher(app))  # …but the status says revoked
    # and no new credential is handed out
    assert client.get(f"/badges/claims/{world.claims[0].id}.jwt").status_code == 404


def test_no_badge_without_validation_or_for_others(app, client, login, world):
    login(client, world.volunteer)
    assert client.get(f"/badges/claims/{world.claims[1].id}.jwt").status_code == 404
    other = app.test_client()
    login(other, world.stranger)
    assert other.get(f"/badges/claims/{world.claims[0].id}.jwt").status_code == 404


def test_elm_draft(client, login, world):
    login(client, world.volunteer)
    response = client.get(f"/elm/experiences/{world.mission.id}.jsonld")
    assert response.status_code == 200
    document = json.loads(response.data)
    assert "http://data.europa.eu/snb/model/context/edc-ap" in document["@context"]
    assert "proof" not in document  # an unsigned draft, said so in its display parameters
    assert "Unsigned draft" in document["displayParameter"]["description"]["en"]
    subject = document["credentialSubject"]
    assert subject["type"] == "Person" and subject["fullName"]
    activity, achievement = subject["hasClaim"]
    assert activity["type"] == "LearningActivity"
    assert activity["title"] and activity["temporal"]["startDate"].startswith("2024-01-01")
    assert achievement["type"] == "LearningAchievement"
    assert achievement["influencedBy"][0]["id"] == activity["id"]
    outcomes = achievement["specifiedBy"]["learningOutcome"]
    assert len(outcomes) == 1  # only the validated claim
    outcome = outcomes[0]
    assert outcome["type"] == "LearningOutcome"
    assert outcome["title"] == {"fr": "Compétence C1", "en": "Competence C1"}
    assert [s["id"] for s in outcome["relatedESCOSkill"]] == [world.esco_uri]
    assert outcome["relatedSkill"][0]["notation"] == "C1"
    assert achievement["awardedBy"]["awardingBody"][0]["legalName"]
    assert all(isinstance(part["title"], dict) for part in (activity, achievement))


def test_elm_of_someone_elses_experience_is_404(app, login, world):
    other = app.test_client()
    login(other, world.stranger)
    assert other.get(f"/elm/experiences/{world.mission.id}.jsonld").status_code == 404
