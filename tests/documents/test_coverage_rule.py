"""The VAE dossier's rule: a competence covers a bloc's requirement only at or above the level the référentiel
asks (default rank 3 of the competence's own scale; per framework and per bloc in the YAML certification)."""

from __future__ import annotations


def _statuses(docworld, certification):
    from app.documents.context import build_vae

    version = docworld.rncp.current_version
    version.certification = certification
    snapshot = build_vae(docworld.volunteer, docworld.rncp.slug, "en")
    bloc = snapshot["blocs"][0]
    return bloc["required_level"], {row["code"]: row["status"] for row in bloc["competences"]}


def test_level_2_does_not_cover_by_default(docworld):
    """The claims were validated at level 2 of a three-level scale: below the default rank 3."""
    required, statuses = _statuses(docworld, {"code": "RNCP99999"})
    assert required == 3
    assert statuses == {"B1.C1": "partly", "B1.C2": "partly", "B1.C3": "not_covered"}


def test_per_framework_and_per_bloc_levels(docworld):
    assert _statuses(docworld, {"code": "RNCP99999", "required_level": 2})[1]["B1.C1"] == "covered"
    per_bloc = {"code": "RNCP99999", "required_level": 3, "required_levels": {"B1": 2}}
    required, statuses = _statuses(docworld, per_bloc)
    assert required == 2 and statuses["B1.C1"] == "covered"
    assert _statuses(docworld, {"code": "RNCP99999", "required_levels": {"OTHER": 1}})[1]["B1.C1"] == "partly"


def test_yaml_format_accepts_the_level_settings():
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads(Path("competencies/schema/framework.schema.json").read_text())
    certification = schema["properties"]["certification"]
    jsonschema.validate({"code": "RNCP1", "required_level": 3, "required_levels": {"B1": 2}}, certification)
