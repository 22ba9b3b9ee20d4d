"""Open Badges 3.0 credentials: per-NGO issuers and keys, the JWKS, verification from outside (jwcrypto, JWKS over
HTTP only), 1EdTech's JSON schema and the official contexts, language choice, image, revocation."""

from __future__ import annotations

import base64
import io
import json

import pytest
from openbadgeslib.ob3 import OB3VerificationError, OB3Verifier
from PIL import Image

from tests.portability import ob3_outside


def _fetcher(app):
    """openbadgeslib's status-list download, served by the application instead of the network."""
    http = ob3_outside.Http(app)
    return lambda url: http.get(url).data


def _public_key_pem(app, organisation, algorithm="RS256"):
    """The NGO's public key, as openbadgeslib's verifier wants it (taken from the published JWKS)."""
    from jwcrypto import jwk

    keys = app.test_client().get("/.well-known/jwks.json").get_json()["keys"]
    found = [k for k in keys if k["iss"].endswith(f"/badges/issuers/{organisation.slug}") and k["alg"] == algorithm]
    assert len(found) == 1, keys
    return jwk.JWK(**found[0]).export_to_pem()


def _badge(client, login, world, query="") -> str:
    login(client, world.volunteer)
    response = client.get(f"/badges/claims/{world.claims[0].id}.jwt{query}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    return response.get_data(as_text=True)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_verified_from_outside_with_the_jwks_schema_and_contexts(app, client, login, world, algorithm):
    token = _badge(client, login, world, f"?alg={algorithm}")
    http = ob3_outside.Http(app)
    credential = ob3_outside.verify(http, token)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==="))
    assert header["alg"] == algorithm
    key = ob3_outside.jwks_of(http, credential["issuer"]["id"]).get_key(header["kid"])
    assert header["kid"].endswith(key.thumbprint()[:16])  # the kid names the key by its RFC 7638 thumbprint
    assert ob3_outside.schema_errors(credential) == []
    expanded, dropped = ob3_outside.expand(credential)
    assert dropped == [] and expanded
    # the issuer is the NGO that validated, with its own profile and image
    assert credential["issuer"]["id"] == f"http://acquis.example/badges/issuers/{world.ngo.slug}"
    assert credential["issuer"]["name"] == "Solidarité Monde"
    profile = http.get(credential["issuer"]["id"]).get_json()
    assert ob3_outside.schema_errors({**credential, "issuer": profile}) == []
    assert profile["name"] == "Solidarité Monde" and "publicKeyJwk" not in profile
    assert http.get(profile["image"]["id"]).mimetype == "image/png"
    # the status list the credential points at is signed by the same key, found the same way
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    status_list = ob3_outside.verify_status_list(http, status["statusListCredential"])
    assert status_list["issuer"] == credential["issuer"]["id"]


def test_credential_content(app, client, login, world):
    token = _badge(client, login, world)
    raw = OB3Verifier(_public_key_pem(app, world.ngo)).verify(token, check_status=True, download=_fetcher(app)).raw
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


def _achievement(app, token):
    return ob3_outside.verify(ob3_outside.Http(app), token)["credentialSubject"]["achievement"]


def test_language_from_the_query_or_the_holder(app, client, login, world, db_session):
    english = _achievement(app, _badge(client, login, world))  # the volunteer's language is English
    assert english["inLanguage"] == "en" and english["name"] == "Competence C1"
    assert english["criteria"]["narrative"].startswith("Validated by Solidarité Monde")
    french = _achievement(app, _badge(client, login, world, "?lang=fr"))
    assert french["inLanguage"] == "fr" and french["name"] == "Compétence C1"
    assert french["criteria"]["narrative"].startswith("Validé par Solidarité Monde")
    spanish = _achievement(app, _badge(client, login, world, "?lang=es"))
    assert spanish["inLanguage"] == "es" and spanish["criteria"]["narrative"].startswith("Validado por")
    world.volunteer.locale = "fr"
    db_session.flush()
    assert _achievement(app, _badge(client, login, world, "?lang=xx"))["inLanguage"] == "fr"


def test_badge_image_names_the_competence_and_the_ngo(app, client, login, world):
    achievement = _achievement(app, _badge(client, login, world))
    header, data = achievement["image"]["id"].split(",", 1)
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.format == "PNG" and image.size == (400, 400)
    assert achievement["image"]["type"] == "Image"
    response = client.get(f"/badges/claims/{world.claims[0].id}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == base64.b64decode(data)


def test_markup_in_names_is_drawn_as_text(app, world, db_session):
    from app.portability import images

    world.ngo.name = '<svg onload="alert(1)">&amp;'
    png = images.badge_png("<b>C1</b>", world.ngo.name, "Validated competence")
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_each_ngo_signs_with_its_own_keys(app, client, login, world, create_org, add_member, db_session):
    from app.portability import keys

    other = create_org("Ponts du Monde")
    token = _badge(client, login, world)
    http = ob3_outside.Http(app)
    with app.test_request_context():
        keys.private_key(other, "RS256")
        theirs = keys.public_jwk(other, "RS256")
    published = http.get("http://acquis.example/.well-known/jwks.json").get_json()["keys"]
    assert theirs["kid"] in {k["kid"] for k in published}
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==="))
    assert header["kid"] != theirs["kid"]
    # a token whose header names the other NGO's key does not verify
    forged_header = base64.urlsafe_b64encode(json.dumps({**header, "kid": theirs["kid"]}).encode()).rstrip(b"=")
    with pytest.raises(AssertionError, match="another issuer"):
        ob3_outside.verify(http, forged_header.decode() + token[token.index(".") :])


def test_private_keys_stay_private(app, client, login, world):
    import stat

    from app.portability import keys

    _badge(client, login, world)
    with app.test_request_context():
        path = keys.key_dir() / str(world.ngo.id) / "rs256.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    published = client.get("/.well-known/jwks.json").get_data(as_text=True)
    assert '"d"' not in published and "PRIVATE" not in published
    assert client.get("/badges/issuers/no-such-ngo").status_code == 404
    assert client.get(f"/badges/claims/{world.claims[0].id}.jwt?alg=HS256").status_code == 404


def test_tampered_credential_fails(app, client, login, world):
    token = _badge(client, login, world)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["alignment"][0]["targetCode"] = "C3"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    from jwcrypto.jws import InvalidJWSSignature

    with pytest.raises(InvalidJWSSignature):
        ob3_outside.verify(ob3_outside.Http(app), f"{header}.{forged}.{signature}")
    with pytest.raises(OB3VerificationError):
        OB3Verifier(_public_key_pem(app, world.ngo)).verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_revoked_validation_reports_revoked(app, client, login, world, db_session, algorithm):
    from app.validation import operations as validation_ops

    token = _badge(client, login, world, f"?alg={algorithm}")
    http = ob3_outside.Http(app)
    status = ob3_outside.verify(http, token)["credentialStatus"]
    assert not ob3_outside.status_bit(http, status)
    validation_ops.revoke_validation(world.validation, world.admin, "Claim copied from another volunteer.")
    db_session.commit()
    assert ob3_outside.status_bit(http, status)  # the outside verifier sees it revoked
    verifier = OB3Verifier(_public_key_pem(app, world.ngo, algorithm))
    verifier.verify(token)  # the signature stays valid…
    with pytest.raises(OB3VerificationError, match="revocation"):
        verifier.verify(token, check_status=True, download=_fetcher(app))  # …but the status says revoked
    # and no new credential is handed out
    assert client.get(f"/badges/claims/{world.claims[0].id}.jwt").status_code == 404


def test_no_badge_without_validation_or_for_others(app, client, login, world):
    login(client, world.volunteer)
    assert client.get(f"/badges/claims/{world.claims[1].id}.jwt").status_code == 404
    assert client.get(f"/badges/claims/{world.claims[1].id}.png").status_code == 404
    other = app.test_client()
    login(other, world.stranger)
    assert other.get(f"/badges/claims/{world.claims[0].id}.jwt").status_code == 404
    assert other.get(f"/badges/claims/{world.claims[0].id}.png").status_code == 404


def test_badges_signed_by_the_former_instance_key_still_find_it(app, client):
    """Before per-NGO keys, one instance key signed every badge and put itself in the JOSE header as ``jwk``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwcrypto import jwk

    from app.portability import keys

    with app.test_request_context():
        path = keys._legacy_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    try:
        published = client.get("/.well-known/jwks.json").get_json()["keys"]
    finally:
        path.unlink()
    header_jwk = jwk.JWK.from_pem(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    [legacy] = [k for k in published if "#instance-" in k["kid"]]
    assert "iss" not in legacy and "d" not in legacy
    assert jwk.JWK(**legacy).thumbprint() == header_jwk.thumbprint()
    assert not any("#instance-" in k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"])


def test_the_schema_check_bites(app, client, login, world):
    credential = ob3_outside.verify(ob3_outside.Http(app), _badge(client, login, world))
    without_date = {k: v for k, v in credential.items() if k != "validFrom"}
    assert any("validFrom" in error for error in ob3_outside.schema_errors(without_date))
    status_as_list = {**credential, "credentialStatus": [credential["credentialStatus"]]}
    assert ob3_outside.schema_errors(status_as_list)
    image = credential["credentialSubject"]["achievement"]["image"]
    bad_image = json.loads(json.dumps(credential))
    bad_image["credentialSubject"]["achievement"]["image"] = {**image, "width": 400}  # Image allows no extras
    assert ob3_outside.schema_errors(bad_image)
    _expanded, dropped = ob3_outside.expand({**credential, "unknownTerm": 1})
    assert dropped  # a term the official contexts do not define is reported


def test_keys_created_at_once_are_one_key(app, world, tmp_path, monkeypatch):
    """Two processes (here threads) creating an NGO's key at the same time end up with the same, complete key."""
    import threading

    monkeypatch.setitem(app.config, "OB3_KEY_DIR", str(tmp_path / "keys"))
    from cryptography.hazmat.primitives import serialization

    from app.portability import keys

    results, barrier = [], threading.Barrier(2)

    def create():
        with app.app_context():
            barrier.wait()
            key = keys.private_key(world.ngo, "ES256")
            results.append(
                key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2 and results[0] == results[1]
    with app.app_context():
        directory = keys.key_dir() / str(world.ngo.id)
    assert sorted(p.name for p in directory.iterdir()) == ["es256.pem"]  # no temporary file left behind
