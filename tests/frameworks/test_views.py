"""Pages: list, tree, node, search and the admin import page, with a fixed number of SQL statements."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.frameworks import operations as ops
from app.frameworks.importers.yaml_format import parse_files
from app.frameworks.models import Framework, FrameworkNode
from tests.translated import in_template, printed, translated

FIXTURES = Path(__file__).parent / "fixtures"


def _problem_shown(language, file, msgid, line=None, unit="line", **params) -> str:
    """An import problem as the upload page shows it in ``language`` (escaped like ``{{ error }}``)."""
    message = translated(language, msgid, **params)
    if line is None:
        return printed(language, "%(file)s: %(message)s", file=file, message=message)
    where = "%(file)s, row %(line)d: %(message)s" if unit == "row" else "%(file)s, line %(line)d: %(message)s"
    return printed(language, where, file=file, line=line, message=message)


def _node(code) -> FrameworkNode:
    return db.session.scalar(sa.select(FrameworkNode).where(FrameworkNode.code == code).order_by(FrameworkNode.id))


def _version(slug):
    return next(f for f in ops.list_frameworks() if f.slug == slug).current_version


def test_index_lists_frameworks_and_versions(signed_in, import_yaml):
    import_yaml("demo-v1.yaml", "demo-v2.yaml", "keycomp.yaml")
    page = signed_in.get("/frameworks/").get_data(as_text=True)
    assert "Démo solidarité" in page and "Compétences clés (démo)" in page
    assert ">1</a>" in page and ">2</a>" in page


def test_version_tree_page(signed_in, import_yaml):
    import_yaml("demo-v1.yaml")
    version = _version("demo-solidarite")
    page = signed_in.get(f"/frameworks/versions/{version.id}").get_data(as_text=True)
    assert "<details" in page and "Travailler en contexte interculturel" in page
    assert "Découverte" in page  # level scale


def test_node_page_shows_links_both_ways_and_retirement(signed_in, import_yaml):
    import_yaml("demo-v1.yaml", "keycomp.yaml", "crosswalk-key.yaml")
    old_id = _node("D2.2").id
    page = signed_in.get(f"/frameworks/nodes/{_node('KC1').id}").get_data(as_text=True)
    assert "Communiquer avec des partenaires locaux" in page and page.count("<h3>") == 1
    import_yaml("demo-v2.yaml")
    page = signed_in.get(f"/frameworks/nodes/{old_id}").get_data(as_text=True)
    assert "Évaluer un projet" in page and 'class="notice"' in page


def test_english_user_sees_fallback_marker(client, create_user, login, db_session):
    from app.frameworks.importers.rncp_csv import parse_rncp

    ops.import_batch([parse_rncp(FIXTURES / "rncp" / "standard.csv", FIXTURES / "rncp" / "blocs.csv", "RNCP99901")])
    login(client, create_user(locale="en"))
    text = client.get(f"/frameworks/versions/{_version('rncp99901').id}").get_data(as_text=True)
    assert '<span lang="fr">Évaluer et rendre compte</span> <span class="lang-fallback">(fr)</span>' in text


def test_search_page(signed_in, import_yaml):
    import_yaml("demo-v1.yaml")
    page = signed_in.get("/frameworks/search?q=previs").get_data(as_text=True)
    assert "Élaborer un budget prévisionnel" in page and "Gestion de projet" in page
    assert signed_in.get("/frameworks/search?q=%22%27NEAR(").status_code == 200
    assert signed_in.get("/frameworks/search").status_code == 200


def _framework_file(tmp_path, slug: str, domains: int, per_domain: int) -> Path:
    lines = [
        "format: acquis-framework/1",
        f"id: {slug}",
        'version: "1"',
        "kind: other",
        "title: {fr: Grand, en: Big}",
        "licence: CC0",
        "nodes:",
    ]
    for d in range(domains):
        lines += [f'  - code: "B{d}"', "    kind: domain", f"    title: {{fr: Domaine budget {d}, en: Domain {d}}}"]
        lines.append("    children:")
        for c in range(per_domain):
            lines += [
                f'      - code: "B{d}.{c}"',
                "        kind: competence",
                f"        title: {{fr: Compétence budget {d} {c}, en: Competence {d} {c}}}",
            ]
    path = tmp_path / f"{slug}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _page_counts(client, count_statements, slug):
    version = _version(slug)
    node = db.session.scalar(
        sa.select(FrameworkNode).where(FrameworkNode.version_id == version.id, FrameworkNode.code == "B1.1")
    )
    counts = {}
    for name, url in {
        "index": "/frameworks/",
        "tree": f"/frameworks/versions/{version.id}",
        "node": f"/frameworks/nodes/{node.id}",
        "search": "/frameworks/search?q=budget",
    }.items():
        db.session.expire_all()
        with count_statements() as n:
            assert client.get(url).status_code == 200
        counts[name] = n()
    return counts


def test_pages_run_a_fixed_number_of_statements(signed_in, tmp_path, count_statements):
    from app.frameworks.importers.yaml_format import parse_files

    ops.import_batch(parse_files([_framework_file(tmp_path, "small", 2, 2)])[0])
    small = _page_counts(signed_in, count_statements, "small")
    ops.import_batch(parse_files([_framework_file(tmp_path, "large", 10, 40)])[0])
    large = _page_counts(signed_in, count_statements, "large")
    # Search runs up to three ranking passes (titles, any text, other languages) and stops when the page is full.
    small_search, large_search = small.pop("search"), large.pop("search")
    assert small == large
    assert all(count <= 8 for count in large.values()), large
    # The small framework has fewer title matches than a page: the three other passes run, never more.
    assert large_search <= small_search <= large_search + 3 <= 11


def test_unknown_ids_are_404(signed_in):
    assert signed_in.get("/frameworks/versions/999999").status_code == 404
    assert signed_in.get("/frameworks/nodes/999999").status_code == 404


# --------------------------------------------------------------------------------------------------- import page


def test_import_page_yaml(admin_client):
    assert admin_client.get("/frameworks/import").status_code == 200
    files = [
        (io.BytesIO((FIXTURES / n).read_bytes()), n) for n in ("demo-v1.yaml", "keycomp.yaml", "crosswalk-key.yaml")
    ]
    response = admin_client.post(
        "/frameworks/import", data={"source": "yaml", "yaml-files": files}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    assert {f.slug for f in ops.list_frameworks()} == {"demo-solidarite", "demo-key"}


def test_import_page_shows_problems_and_imports_nothing(admin_client):
    bad = (FIXTURES / "demo-v1.yaml").read_text().replace("kind: domain", "kind: nope", 1)
    files = [
        (io.BytesIO((FIXTURES / "keycomp.yaml").read_bytes()), "keycomp.yaml"),
        (io.BytesIO(bad.encode()), "bad.yaml"),
    ]
    response = admin_client.post(
        "/frameworks/import", data={"source": "yaml", "yaml-files": files}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    allowed = "'domain', 'competence', 'indicator', 'bloc', 'skill', 'knowledge'"
    expected = _problem_shown(
        "fr",
        "bad.yaml",
        "%(field)s: %(value)s is not one of %(allowed)s",
        line=16,
        field="nodes[0].kind",
        value="'nope'",
        allowed=allowed,
    )
    assert expected in text and 'id="yaml-files-error"' in text
    assert db.session.scalar(sa.select(sa.func.count(Framework.id))) == 0


def test_import_problems_are_shown_in_the_admins_language(app, create_user, login, import_yaml):
    """Problems are rendered when the page is, in the admin's language: a French and an English admin send the same
    bad crosswalk and each reads the problems in their own language."""
    import_yaml("demo-v1.yaml")
    bad = (FIXTURES / "crosswalk-key.yaml").read_text()
    for language in ("fr", "en"):
        client = app.test_client()
        login(client, create_user(platform_admin=True, totp=True, locale=language))
        files = [(io.BytesIO(bad.encode()), "crosswalk.yaml")]
        response = client.post(
            "/frameworks/import", data={"source": "yaml", "yaml-files": files}, content_type="multipart/form-data"
        )
        assert response.status_code == 422
        text = response.get_data(as_text=True)
        assert f'lang="{language}"' in text
        expected = _problem_shown(
            language,
            "crosswalk.yaml",
            "target framework %(name)s %(version)s is not imported",
            line=1,
            name="demo-key",
            version="2018",
        )
        assert expected in text, text


def test_import_page_esco_csv_files(admin_client):
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted((FIXTURES / "esco").iterdir())]
    response = admin_client.post(
        "/frameworks/import",
        data={"source": "esco", "esco-files": files, "esco-version": "1.2.0", "esco-languages": "fr,en"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _version("esco").node_count == 8


def test_import_page_rncp(admin_client):
    def post(fiche):
        return admin_client.post(
            "/frameworks/import",
            data={
                "source": "rncp",
                "rncp-standard": (io.BytesIO((FIXTURES / "rncp" / "standard.csv").read_bytes()), "standard.csv"),
                "rncp-blocs": (io.BytesIO((FIXTURES / "rncp" / "blocs.csv").read_bytes()), "blocs.csv"),
                "rncp-fiche": fiche,
            },
            content_type="multipart/form-data",
        )

    response = post("RNCP12345")
    assert response.status_code == 422
    expected = _problem_shown("fr", "standard.csv", "no certification %(number)s in this file", number="RNCP12345")
    assert expected in response.get_data(as_text=True)
    assert 'id="rncp-fiche-error"' in response.get_data(as_text=True)
    assert post("RNCP99901").status_code == 302
    assert _version("rncp99901").node_count == 3


def test_import_page_requires_a_file(admin_client):
    response = admin_client.post("/frameworks/import", data={"source": "yaml"}, content_type="multipart/form-data")
    assert response.status_code == 422


def test_import_forms_check_their_csrf_token(admin_client, csrf_enabled):
    files = [(io.BytesIO((FIXTURES / "keycomp.yaml").read_bytes()), "keycomp.yaml")]
    response = admin_client.post(
        "/frameworks/import", data={"source": "yaml", "yaml-files": files}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert ops.list_frameworks() == []


def test_import_accepts_uploads_larger_than_ordinary_forms(admin_client, app):
    # Blocs of other certifications make the upload larger than the ordinary form limit.
    padding = "".join(f"RNCP1{i:04d};RNCP1{i:04d}BC01;{'x' * 200}\n" for i in range(10_000))
    repeat = app.config["MAX_CONTENT_LENGTH"] // len(padding.encode()) + 1
    blocs = (FIXTURES / "rncp" / "blocs.csv").read_text() + padding * repeat
    response = admin_client.post(
        "/frameworks/import",
        data={
            "source": "rncp",
            "rncp-standard": (io.BytesIO((FIXTURES / "rncp" / "standard.csv").read_bytes()), "standard.csv"),
            "rncp-blocs": (io.BytesIO(blocs.encode()), "blocs.csv"),
            "rncp-fiche": "RNCP99901",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302


def test_example_label_and_licence_on_node_and_search_pages(signed_in, tmp_path, import_yaml):
    import_yaml("keycomp.yaml")
    example = tmp_path / "example.yaml"
    text = (
        (FIXTURES / "demo-v1.yaml")
        .read_text()
        .replace("licence: CC-BY-4.0", "licence: Example-Licence-1\nexample: true")
    )
    example.write_text(text)
    cross = tmp_path / "cross.yaml"
    cross.write_text((FIXTURES / "crosswalk-key.yaml").read_text())
    ops.import_batch(*parse_files([example, cross]))

    node_page = signed_in.get(f"/frameworks/nodes/{_node('D1.2').id}").get_data(as_text=True)
    notice = in_template("fr", "This framework is an example for demonstration: it is not an official référentiel.")
    assert notice in node_page
    assert in_template("fr", "Licence") in node_page and "Example-Licence-1" in node_page
    # The other end of a link carries the label too.
    key_page = signed_in.get(f"/frameworks/nodes/{_node('KC1').id}").get_data(as_text=True)
    assert in_template("fr", "Example for demonstration") in key_page and notice not in key_page

    search = signed_in.get("/frameworks/search?q=budget").get_data(as_text=True)
    assert in_template("fr", "Example for demonstration") in search
    assert in_template("fr", "Licence: %(licence)s", licence="Example-Licence-1") in search
    search = signed_in.get("/frameworks/search?q=KC1").get_data(as_text=True)
    assert in_template("fr", "Example for demonstration") not in search


def test_import_page_keeps_the_newer_version_current_unless_asked(admin_client):
    def post(name, **extra):
        files = [(io.BytesIO((FIXTURES / name).read_bytes()), name)]
        return admin_client.post(
            "/frameworks/import",
            data={"source": "yaml", "yaml-files": files, **extra},
            content_type="multipart/form-data",
            follow_redirects=True,
        )

    post("demo-v2.yaml")
    page = post("demo-v1.yaml").get_data(as_text=True)
    message = (
        "%(name)s imported as an earlier version, not current: %(count)d nodes, %(retired)d of them absent from the "
        "current version."
    )
    assert printed("fr", message, name="demo-solidarite 1", count=6, retired=1) in page
    assert _version("demo-solidarite").version == "2"

    renamed = (FIXTURES / "demo-v1.yaml").read_text().replace('version: "1"', 'version: "old"')
    files = [(io.BytesIO(renamed.encode()), "old.yaml")]
    response = admin_client.post(
        "/frameworks/import",
        data={"source": "yaml", "yaml-files": files, "yaml-make_current": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert _version("demo-solidarite").version == "old"
