"""Per-NGO Open Badges signing keys, published as a JSON Web Key Set.

Each sending NGO signs its own credentials: an RSA-3072 key (``RS256``, the algorithm every VC-JWT verifier must
support) and an EC P-256 key (``ES256``), created on first use. Like the instance's other keys they are PEM files
under ``INSTANCE_DIR`` (``badges/issuers/<organisation id>/<alg>.pem``, directory 0700, files 0600; ``OB3_KEY_DIR``
names another directory), never in the database and never served: only their public halves leave the machine, in
the JWKS at ``/.well-known/jwks.json``.

A key's ``kid`` is a URI into that JWKS (``…/.well-known/jwks.json#ngo-<id>-<alg>-<thumbprint>``), so the JOSE
header of every credential names the key the way Open Badges 3.0 recommends (a ``kid`` dereferenced through the
issuer's well-known JWKS); each JWK also carries ``iss``, the issuer profile's id, so a verifier can check that the
key belongs to the credential's issuer. The directory is named by the organisation's id (its slug may change).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import current_app

from app.core.security import canonical_url
from app.extensions import db
from app.organisations.models import Organisation

#: The signing algorithms offered; the first is the default (verifiers are only required to support RS256).
ALGORITHMS = ("RS256", "ES256")
DEFAULT_ALGORITHM = ALGORITHMS[0]
RSA_KEY_BITS = 3072


def key_dir() -> Path:
    """Where the per-NGO keys live (``OB3_KEY_DIR`` in the configuration or the environment)."""
    configured = current_app.config.get("OB3_KEY_DIR") or os.environ.get("OB3_KEY_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.config["INSTANCE_DIR"]) / "badges" / "issuers"


def _legacy_key_path() -> Path:
    """The single instance key that signed every NGO's badges before per-NGO keys (``OB3_KEY_PATH`` then)."""
    configured = current_app.config.get("OB3_KEY_PATH") or os.environ.get("OB3_KEY_PATH")
    return Path(configured) if configured else Path(current_app.config["INSTANCE_DIR"]) / "badges" / "ob3-key.pem"


def _key_path(organisation_id: int, algorithm: str) -> Path:
    return key_dir() / str(organisation_id) / f"{algorithm.lower()}.pem"


def _generate(algorithm: str):
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    return ec.generate_private_key(ec.SECP256R1())


def private_key(organisation: Organisation, algorithm: str = DEFAULT_ALGORITHM):
    """The NGO's private key for ``algorithm``, created (0600) on first use.

    The new key is written to a temporary file and then hard-linked into place, which fails if the name exists: two
    processes creating it at once both end up reading the one complete file that won, never a half-written one.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    path = _key_path(organisation.id, algorithm)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = _generate(algorithm).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-", suffix=".pem")  # mode 0600
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _public_members(public_key) -> dict:
    """The required public members of a JWK (RFC 7517/7518), nothing private."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"kty": "RSA", "n": _b64(numbers.n), "e": _b64(numbers.e)}
    numbers = public_key.public_numbers()
    coordinate = lambda value: base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()  # noqa: E731
    return {"kty": "EC", "crv": "P-256", "x": coordinate(numbers.x), "y": coordinate(numbers.y)}


def thumbprint(members: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of the required public members."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def jwks_url() -> str:
    return canonical_url("portability.jwks")


def issuer_id(organisation: Organisation) -> str:
    """The id of the NGO's Open Badges issuer profile."""
    return canonical_url("portability.issuer", slug=organisation.slug)


def public_jwk(organisation: Organisation, algorithm: str = DEFAULT_ALGORITHM, *, key=None) -> dict:
    """The NGO's public key as a JWK with its ``kid``, ``alg``, ``use`` and ``iss`` (the issuer profile id)."""
    key = key or private_key(organisation, algorithm)
    members = _public_members(key.public_key())
    kid = f"{jwks_url()}#ngo-{organisation.id}-{algorithm.lower()}-{thumbprint(members)[:16]}"
    return {**members, "kid": kid, "alg": algorithm, "use": "sig", "iss": issuer_id(organisation)}


def jwks() -> dict:
    """Every NGO key that exists, public halves only (keys are created when an NGO first signs)."""
    directory = key_dir()
    found: dict[int, list[str]] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*/*.pem")):
            algorithm = path.stem.upper()
            if path.parent.name.isdigit() and algorithm in ALGORITHMS:
                found.setdefault(int(path.parent.name), []).append(algorithm)
    organisations = db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(list(found) or [0])))
    keys = []
    for organisation in sorted(organisations, key=lambda o: o.id):
        keys.extend(public_jwk(organisation, algorithm) for algorithm in found[organisation.id])
    keys.extend(_legacy_keys())
    return {"keys": keys}


def _legacy_keys() -> list[dict]:
    """The former instance key, when this instance has one, so the badges it signed (their JOSE header carries the
    key as ``jwk``) still find it in the set. It signed for every NGO, so it names no issuer (no ``iss``)."""
    path = _legacy_key_path()
    if not path.is_file():
        return []
    public = serialization.load_pem_private_key(path.read_bytes(), password=None).public_key()
    members = _public_members(public)
    kid = f"{jwks_url()}#instance-es256-{thumbprint(members)[:16]}"
    return [{**members, "kid": kid, "alg": "ES256", "use": "sig"}]
