"""Browsing and searching frameworks (signed-in users) and importing them (platform admins)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.utils import secure_filename

from app.core.errors import add_error
from app.core.i18n import current_language
from app.core.permissions import require
from app.core.views import RHAuthenticated, RHPlatformAdmin
from app.extensions import csrf
from app.frameworks import bp
from app.frameworks import operations as ops
from app.frameworks.forms import EscoImportForm, RncpImportForm, SearchForm, YamlImportForm
from app.frameworks.importers import FrameworkImportError
from app.frameworks.importers.esco_csv import esco_directory, parse_esco
from app.frameworks.importers.rncp_csv import parse_rncp
from app.frameworks.importers.yaml_format import parse_sources
from app.frameworks.models import localized
from app.frameworks.search import search_nodes

SEARCH_LIMIT = 50
#: Uploads of the ESCO package are larger than ordinary forms allow.
MAX_IMPORT_BYTES = 300 * 1024 * 1024


class RHFrameworks(RHAuthenticated):
    """Every framework with its versions."""

    def _process(self):
        return render_template(
            "frameworks/index.html", frameworks=ops.list_frameworks(), can_import=current_user.is_platform_admin
        )


class RHVersion(RHAuthenticated):
    """A version's tree (collapsible), its level scale and metadata."""

    def _load(self, version_id):
        self.version = ops.get_version(version_id)
        require(self.version is not None)

    def _check_access(self):
        require(self.version.framework.can_view(current_user))

    def _process(self):
        partial = self.version.node_count > ops.FULL_TREE_LIMIT
        tree = ops.version_tree(self.version, ops.PARTIAL_TREE_DEPTH if partial else None)
        return render_template("frameworks/version.html", version=self.version, tree=tree, partial=partial)


class RHNode(RHAuthenticated):
    """One node: breadcrumb, description, children and crosswalk links both ways."""

    def _load(self, node_id):
        self.node = ops.get_node(node_id)
        require(self.node is not None)

    def _check_access(self):
        require(self.node.version.framework.can_view(current_user))

    def _process(self):
        return render_template(
            "frameworks/node.html",
            node=self.node,
            version=self.node.version,
            breadcrumb=ops.ancestors(self.node),
            children=ops.children_of(self.node),
            links=ops.node_links(self.node),
            current=ops.current_equivalent(self.node),
        )


class RHSearch(RHAuthenticated):
    """Search by words in the user's language (other languages as fallback)."""

    def _process(self):
        form = SearchForm(request.args)
        hits = None
        if form.q.data and form.validate():
            hits = search_nodes(form.q.data, current_language(), limit=SEARCH_LIMIT)
        return render_template("frameworks/search.html", form=form, hits=hits)


class RHImport(RHPlatformAdmin):
    """Upload a framework: our YAML files, the ESCO CSV package or an RNCP certification.

    The global CSRF check would read the body under the ordinary size limit before this handler can raise it for
    the ESCO package; each form checks its own CSRF token instead (``validate_on_submit``).
    """

    methods = ("GET", "POST")
    decorators = [csrf.exempt]

    def _process(self):
        request.max_content_length = MAX_IMPORT_BYTES
        submitted = request.form.get("source") if request.method == "POST" else None
        forms = {name: cls(prefix=name, formdata=None) for name, cls in _FORM_CLASSES.items()}
        if submitted in forms:
            form = forms[submitted] = _FORM_CLASSES[submitted](prefix=submitted)
            if form.validate_on_submit():
                try:
                    results = _IMPORTERS[submitted](form)
                except FrameworkImportError as exc:
                    for problem in exc.problems[:20]:
                        add_error(_error_field(form, problem), problem)
                else:
                    for result in results:
                        flash(_result_message(result), "success")
                    return redirect(url_for("frameworks.index"))
        status = 422 if any(f.errors for f in forms.values()) else 200
        return render_template("frameworks/import.html", forms=forms), status


def _error_field(form, problem):
    """The field a problem belongs to (RNCP: the fiche number or the file named)."""
    if isinstance(form, RncpImportForm):
        if problem.field == "fiche":
            return form.fiche
        blocs_name = secure_filename(form.blocs.data.filename or "") or "blocs.csv"
        return form.blocs if problem.file == blocs_name else form.standard
    return form.files


_FORM_CLASSES = {"yaml": YamlImportForm, "esco": EscoImportForm, "rncp": RncpImportForm}


def _result_message(result: ops.ImportResult) -> str:
    if result.status == "unchanged":
        return _("%(name)s was already imported: nothing changed.", name=result.label)
    if result.is_crosswalk:
        return _("Crosswalk %(name)s imported (%(count)d links).", name=result.label, count=result.links)
    if not result.current:
        return _(
            "%(name)s imported as an earlier version, not current: %(count)d nodes, %(retired)d of them absent from "
            "the current version.",
            name=result.label,
            count=result.nodes,
            retired=result.retired,
        )
    return _(
        "%(name)s imported: %(count)d nodes, %(retired)d retired from earlier versions.",
        name=result.label,
        count=result.nodes,
        retired=result.retired,
    )


class _Uploads:
    """Uploaded files saved under safe names in a temporary directory, removed afterwards."""

    def __enter__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="acquis-import-"))
        return self

    def save(self, storage, default_name: str) -> Path:
        name = secure_filename(storage.filename or "") or default_name
        path = self.directory / name
        storage.save(path)
        return path

    def __exit__(self, *exc):
        shutil.rmtree(self.directory, ignore_errors=True)


def _import_yaml(form):
    sources = [(f.filename, f.read()) for f in form.files.data if f and f.filename]
    frameworks, crosswalks = parse_sources(sources)
    return ops.import_batch(frameworks, crosswalks, actor=current_user, make_current=form.make_current.data)


def _import_esco(form):
    languages = [x.strip() for x in (form.languages.data or "").split(",") if x.strip()] or None
    with _Uploads() as uploads:
        saved = [uploads.save(f, f"file{i}.csv") for i, f in enumerate(form.files.data) if f and f.filename]
        archives = [p for p in saved if p.suffix == ".zip"]
        source = archives[0] if archives else uploads.directory
        with esco_directory(source) as directory:
            parsed = parse_esco(directory, version=form.version.data, languages=languages)
        return ops.import_batch([parsed], actor=current_user, make_current=form.make_current.data)


def _import_rncp(form):
    with _Uploads() as uploads:
        standard = uploads.save(form.standard.data, "standard.csv")
        blocs_path = uploads.directory / "blocs"
        blocs_path.mkdir()
        blocs = blocs_path / (secure_filename(form.blocs.data.filename or "") or "blocs.csv")
        form.blocs.data.save(blocs)
        parsed = parse_rncp(standard, blocs, form.fiche.data)
        return ops.import_batch([parsed], actor=current_user, make_current=form.make_current.data)


_IMPORTERS = {"yaml": _import_yaml, "esco": _import_esco, "rncp": _import_rncp}


_ROUTES = [
    ("/", RHFrameworks, "index"),
    ("/versions/<int:version_id>", RHVersion, "version"),
    ("/nodes/<int:node_id>", RHNode, "node"),
    ("/search", RHSearch, "search"),
    ("/import", RHImport, "import_"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))


@bp.context_processor
def _template_helpers():
    return {"lm": localized}
