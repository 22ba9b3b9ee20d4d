"""How a verifier outside Acquis checks an Open Badges 3.0 credential, with nothing of Acquis's code.

It only has HTTP (here the application's test client serving the real routes), an independent JOSE library
(jwcrypto), 1EdTech's AchievementCredential JSON schema and the official JSON-LD contexts, vendored under
``tests/portability/standards/ob3`` (see the README there). Nothing is fetched from the network.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
from jwcrypto import jwk, jws
from pyld import jsonld

STANDARDS = Path(__file__).parent / "standards" / "ob3"
CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": STANDARDS / "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": STANDARDS / "context-3.0.3.json",
}
JWT_CLAIMS = {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}


class Http:
    """GET over the application's HTTP interface (its test client), for URLs under its base URL only."""

    def __init__(self, app):
        self.base = app.config["BASE_URL"].rstrip("/")
        self.client = app.test_client()

    def get(self, url: str, accept: str = "*/*"):
        assert url.startswith(self.base + "/"), f"{url} is not served by the application under test"
        parts = urlsplit(url)
        response = self.client.get(parts.path, query_string=parts.query, headers={"Accept": accept})
        assert response.status_code == 200, (url, response.status_code)
        return response


def jwks_of(http: Http, issuer_id: str) -> jwk.JWKSet:
    """The issuer's JWKS at ``{scheme}://{issuer id authority}/.well-known/jwks.json`` (OB 3.0 key provenance)."""
    parts = urlsplit(issuer_id)
    response = http.get(f"{parts.scheme}://{parts.netloc}/.well-known/jwks.json", accept="application/jwk-set+json")
    assert response.mimetype == "application/jwk-set+json"
    document = response.get_json()
    assert all("d" not in key and "p" not in key for key in document["keys"]), "a private key member is published"
    return jwk.JWKSet.from_json(json.dumps(document))


def verify(http: Http, token: str) -> dict:
    """The credential of a compact JWS, verified with the key its ``kid`` names in the issuer's JWKS only."""
    unverified = jws.JWS()
    unverified.deserialize(token)
    header = unverified.jose_header
    assert "jwk" not in header and "kid" in header, header
    claims = json.loads(unverified.objects["payload"])
    issuer = claims["issuer"]["id"] if isinstance(claims["issuer"], dict) else claims["issuer"]
    keyset = jwks_of(http, issuer)
    key = keyset.get_key(header["kid"])
    assert key is not None, f"kid {header['kid']} is not in the issuer's JWKS"
    assert key.get("iss") == issuer, "the key belongs to another issuer"
    checked = jws.JWS()
    checked.deserialize(token)
    checked.verify(key, alg=header["alg"])  # raises InvalidJWSSignature on any tampering
    return json.loads(checked.payload)


def schema_errors(credential: dict) -> list[str]:
    """Violations of 1EdTech's AchievementCredential JSON schema (JSON Schema 2019-09)."""
    schema = json.loads((STANDARDS / "ob_v3p0_achievementcredential_schema.json").read_text())
    validator = jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(credential)]


def expand(document: dict) -> tuple[list, list[str]]:
    """JSON-LD expansion with the official contexts only; returns (expanded, properties the contexts do not define)."""

    def loader(url, options=None):
        assert url in CONTEXTS, f"unexpected context {url}"
        return {"contextUrl": None, "documentUrl": url, "document": json.loads(CONTEXTS[url].read_text())}

    # The JWT registered claims (iss, jti, nbf…) sit beside the credential in a VC-JWT payload, not in it.
    document = {k: v for k, v in document.items() if k not in JWT_CLAIMS}
    dropped: list[str] = []
    expanded = jsonld.expand(document, {"documentLoader": loader}, on_property_dropped=dropped.append)
    return expanded, dropped


def verify_status_list(http: Http, url: str) -> dict:
    """The BitstringStatusListCredential at ``url``, verified like a credential (its ``kid`` in the JWKS)."""
    return verify(http, http.get(url).get_data(as_text=True))


def status_bit(http: Http, entry: dict) -> bool:
    """Whether the bit of a ``BitstringStatusListEntry`` is set (W3C Bitstring Status List: GZIP, multibase 'u')."""
    import gzip

    status_list = verify_status_list(http, entry["statusListCredential"])
    encoded = status_list["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    index = int(entry["statusListIndex"])
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
