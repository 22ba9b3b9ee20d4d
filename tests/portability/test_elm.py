"""ELM exports: the EDC-generic shapes (pyshacl) leave only what sealing adds; content of the mission credential and
of the portfolio presentation."""

from __future__ import annotations

import json

from tests.portability import elm_shapes

#: What an EDC issuer adds when it seals a credential, and nothing else: the issuer's eIDAS legal identifier (reported
#: on the organisation and again through the issuer shape) and the ``issued`` date. The official unsigned sample of
#: the European Learning Model repository gives exactly these three.
SEALING_VIOLATIONS = [
    ("cred:VerifiableCredential+elm:EuropeanDigitalCredential", "cred:issued"),
    ("cred:VerifiableCredential+elm:EuropeanDigitalCredential", "cred:issuer"),
    ("elm:Organisation", "elm:eidasLegalIdentifier"),
]


def test_the_official_sample_has_only_the_sealing_violations():
    sample = json.loads((elm_shapes.STANDARDS / "Sample-CertOfPart-unsigned.jsonld").read_text())
    assert elm_shapes.violations(sample) == sorted(SEALING_VIOLATIONS)


def _elm(client, login, world, url):
    login(client, world.volunteer)
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    return json.loads(response.data)


def test_mission_credential_passes_the_edc_shapes(client, login, world):
    document = _elm(client, login, world, f"/elm/experiences/{world.mission.id}.jsonld")
    assert elm_shapes.violations(document) == sorted(SEALING_VIOLATIONS)


def test_mission_credential_content(client, login, world, db_session):
    from tests import cast

    cast.confirm_by_referent(
        world.volunteer, world.mission, world.claims[:1], role="Coordinator", organisation_name="Agua Viva"
    )
    db_session.flush()
    document = _elm(client, login, world, f"/elm/experiences/{world.mission.id}.jsonld")
    assert elm_shapes.violations(document) == sorted(SEALING_VIOLATIONS)
    authority = "http://publications.europa.eu/resource/authority"
    display = document["displayParameter"]
    assert display["primaryLanguage"]["id"] == f"{authority}/language/ENG"  # the volunteer's language…
    french = _elm(client, login, world, f"/elm/experiences/{world.mission.id}.jsonld?lang=fr")
    assert french["displayParameter"]["primaryLanguage"]["id"] == f"{authority}/language/FRA"  # …or the one asked
    assert display["individualDisplay"]["displayDetail"]["image"]["contentType"]["id"] == f"{authority}/file-type/PNG"
    assert document["credentialProfiles"]["id"] == "http://data.europa.eu/snb/credential/e34929035b"  # Generic
    # the NGO that validated issues and awards, located in its country
    issuer = document["issuer"]
    assert issuer["legalName"] == {"en": "Solidarité Monde"}
    assert issuer["location"]["address"]["countryCode"]["id"] == f"{authority}/country/FRA"
    activity, achievement = document["credentialSubject"]["hasClaim"]
    assert activity["type"] == "LearningActivity" and achievement["type"] == "LearningAchievement"
    assert activity["awardedBy"]["awardingBody"][0]["id"] == issuer["id"]
    assert achievement["awardedBy"]["awardingBody"][0]["id"] == issuer["id"]
    assert activity["location"]["address"]["countryCode"]["id"] == f"{authority}/country/PER"  # Peru
    assert activity["temporal"]["startDate"].startswith("2024-01-01")
    assert achievement["influencedBy"][0]["id"] == activity["id"]
    outcomes = achievement["specifiedBy"]["learningOutcome"]
    assert len(outcomes) == 1  # only the validated claim
    assert outcomes[0]["title"] == {"fr": "Compétence C1", "en": "Competence C1"}
    assert [s["id"] for s in outcomes[0]["relatedESCOSkill"]] == [world.esco_uri]  # from the crosswalk
    assert outcomes[0]["relatedSkill"][0]["notation"] == "C1"
    # the referent's confirmation is the supporting evidence
    [evidence] = document["evidence"]
    assert "Rosa Quispe" in evidence["evidenceStatement"] and "Coordinator" in evidence["evidenceStatement"]
    assert "Agua Viva" in evidence["evidenceStatement"]
    assert evidence["evidenceTarget"]["id"] == document["credentialSubject"]["id"]
    assert "proof" not in document and "Unsigned draft" in display["description"]["en"]


def test_portfolio_presentation(client, login, world):
    document = _elm(client, login, world, "/elm/portfolio.jsonld")
    assert document["type"] == ["VerifiablePresentation"]
    [credential] = document["verifiableCredential"]  # the training has no validation: left out
    assert credential["credentialSubject"]["hasClaim"][0]["title"] == {"en": world.mission.title}
    credentials = len(document["verifiableCredential"])
    assert elm_shapes.violations(document) == sorted(SEALING_VIOLATIONS * credentials)


def test_elm_of_someone_elses_experience_is_404(app, login, world):
    other = app.test_client()
    login(other, world.stranger)
    assert other.get(f"/elm/experiences/{world.mission.id}.jsonld").status_code == 404


def test_europass_cv_holds_validated_missions_and_competences(client, login, world):
    import xml.etree.ElementTree as ET

    login(client, world.volunteer)
    page = client.get("/account/data")
    assert b"/europass/cv.xml" in page.data and b"/elm/portfolio.jsonld" in page.data  # the download buttons
    response = client.get("/europass/cv.xml?lang=fr")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"].startswith("attachment")
    ns = {
        "e": "http://www.europass.eu/1.0",
        "hr": "http://www.hr-xml.org/3",
        "oa": "http://www.openapplications.org/oagis/9",
    }
    root = ET.fromstring(response.data)  # noqa: S314 (our own output, parsed to check it)
    assert root.tag == "{http://www.europass.eu/1.0}Candidate"
    assert (root.get("majorVersionID"), root.get("minorVersionID")) == ("3", "2")
    assert [child.tag.split("}")[1] for child in root] == [
        "DocumentID",
        "CandidateSupplier",
        "CandidatePerson",
        "CandidateProfile",
    ]
    assert root.find("e:CandidatePerson/e:Communication/oa:URI", ns).text == world.volunteer.email
    assert root.find("e:CandidatePerson/e:PersonName/hr:FamilyName", ns).text == "Volunteer"
    assert root.find("e:CandidatePerson/e:PersonName/oa:GivenName", ns).text == "Valentine"
    profile = root.find("e:CandidateProfile", ns)
    assert profile.get("languageCode") == "fr"
    [competency] = profile.findall("e:PersonQualifications/e:PersonCompetency", ns)  # the validated claim only
    assert competency.find("e:CompetencyID", ns).text == world.esco_uri
    assert competency.find("hr:CompetencyName", ns).text == "Compétence C1"
    [work] = profile.findall("e:VoluntaryWorks/e:VoluntaryWork", ns)  # the training has no validation
    assert work.find("e:Title", ns).text == world.mission.title
    assert work.find("e:Date/e:StartDate/hr:FormattedDateTime", ns).text == "2024-01-01"
    description = work.find("e:Description", ns).text
    assert "Solidarité Monde" in description and "Compétence C1" in description and "Pérou" in description


def test_europass_cv_escapes_what_people_typed(client, login, world, db_session):
    import xml.etree.ElementTree as ET

    world.mission.title = '<Title>&"evil"</Title>'
    db_session.flush()
    login(client, world.volunteer)
    root = ET.fromstring(client.get("/europass/cv.xml").data)  # noqa: S314 (our own output)
    titles = [t.text for t in root.iter("{http://www.europass.eu/1.0}Title")]
    assert titles == ['<Title>&"evil"</Title>']


def test_exports_run_a_fixed_number_of_statements(client, login, world, db_session):
    from tests import cast
    from tests.fixtures.statements import explain, statements_for

    login(client, world.volunteer)
    urls = ("/elm/portfolio.jsonld", "/europass/cv.xml")
    small = {url: statements_for(client, url, warm_up=True) for url in urls}
    for index in range(2):  # two more validated missions, each with a confirmed referent
        mission = cast.create_mission(world.volunteer, title=f"Mission {index}", sending_organisation_id=world.ngo.id)
        claims = cast.create_claims(world.volunteer, mission, world.nodes[:2])
        submission = cast.submit_claims(world.volunteer, mission, world.ngo, claims)
        cast.validate_everything(submission, world.trainer, confirm_facts=False, level=2)
        cast.confirm_by_referent(world.volunteer, mission, claims)
    db_session.flush()
    assert len(_elm(client, login, world, urls[0])["verifiableCredential"]) == 3
    for url in urls:
        large = statements_for(client, url)
        assert len(large) == len(small[url]), explain(small[url], large)


def test_the_shapes_check_bites(client, login, world):
    document = _elm(client, login, world, f"/elm/experiences/{world.mission.id}.jsonld")
    del document["issuer"]["location"]  # and from its copies as awarding body (the same node in RDF)
    for claim in document["credentialSubject"]["hasClaim"]:
        for body in claim["awardedBy"]["awardingBody"]:
            body.pop("location")
    del document["displayParameter"]["primaryLanguage"]
    found = elm_shapes.violations(document)
    assert ("elm:Organisation", "elm:location") in found
    assert ("elm:DisplayParameter", "elm:primaryLanguage") in found
