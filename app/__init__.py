"""Acquis: portfolios of competences gained in international solidarity missions."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.auth.session import init_login_manager
from app.config import PROJECT_DIR, instance_dir_from_environment, load_config, resource_path
from app.core.csrf import init_csrf
from app.core.errors import init_error_handlers
from app.core.forms import SafeRequest
from app.core.i18n import RequestCatalogueDomain, select_locale
from app.core.security import init_security
from app.core.templating import init_templating
from app.extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    """Application factory: wires configuration, extensions, blueprints, CLI and error handlers."""
    if os.environ.get("ACQUIS_ENV", "development") != "production":
        load_dotenv(PROJECT_DIR / ".env", override=False)
    app = Flask(
        __name__,
        template_folder=str(resource_path("templates")),
        static_folder="static",
        instance_path=str(instance_dir_from_environment().absolute()),
    )

    app.request_class = SafeRequest  # invalid UTF-8 in forms becomes U+FFFD, refused next to the field
    app.config.update(load_config(config))
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_COUNT"]:  # trust X-Forwarded-For/-Proto from that many proxies only (never by default)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"])
    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_extensions_of_pages(app)
    _register_cli(app)
    init_security(app)
    init_error_handlers(app)
    init_templating(app)
    importlib.import_module("app.core.logredact").init_log_redaction(app)  # no /s/<token> etc. in request logs
    # Documents re-rendered in the background when what they show changes (after the blueprints: it reads the
    # audit events the lower packages' transitions write).
    importlib.import_module("app.documents.refresh").init_refresh(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_path("migrations")))
    init_csrf(app, csrf)
    babel.init_app(app, locale_selector=select_locale)
    babel.domain_instance = RequestCatalogueDomain(domain=app.config.get("BABEL_DOMAIN", "messages"))
    limiter.init_app(app)
    login_manager.init_app(app)

    init_login_manager(login_manager)


#: Packages with a blueprint (``bp`` in ``__init__``) and routes in ``views``; order decides nothing.
BLUEPRINT_PACKAGES = (
    "main",
    "auth",
    "organisations",
    "admin",
    "experiences",
    "frameworks",
    "claims",
    "survey",
    "validation",
    "documents",
    "sharing",
    "portability",
    "vae",
)
#: What packages contribute to the pages and documents of lower packages, registered in this order (explicitly:
#: importing a module registers nothing). Page panels (``register_panels``, see app.core.hooks: each panel's
#: ``order`` places it on the page) and the document grant of shares (see app.documents.models.DocumentGrant).
PAGE_EXTENSIONS = (
    "app.claims.views:register_panels",
    "app.validation.views:register_panels",
    "app.portability.views:register_panels",
    "app.vae.views:register_panels",
    "app.vae.printing:register_templates",
    "app.sharing.operations:register_document_grants",
)
#: Modules exposing a click group named ``cli``-something, registered as ``flask <group>``.
CLI_COMMANDS = (
    "app.organisations.users_cli:users_cli",
    "app.organisations.cli:orgs_cli",
    "app.checks:check_command",
    "app.demo.cli:demo_cli",
    "app.frameworks.cli:frameworks_cli",
    "app.documents.cli:dossier_cli",
    "app.documents.cli:documents_cli",
    "app.documents.cli:signing_cli",
    "app.portability.cli:portability_cli",
    "app.core.backup_cli:backup_cli",
    "app.survey.cli:survey_cli",
    "app.vae.cli:vae_cli",
)


def _register_blueprints(app: Flask) -> None:
    for package in BLUEPRINT_PACKAGES:
        module = importlib.import_module(f"app.{package}")
        importlib.import_module(f"app.{package}.views")  # registers the routes on the blueprint
        app.register_blueprint(module.bp)


def _register_extensions_of_pages(app: Flask) -> None:
    for spec in PAGE_EXTENSIONS:
        module_name, attribute = spec.split(":")
        getattr(importlib.import_module(module_name), attribute)(app)


def _register_cli(app: Flask) -> None:
    for spec in CLI_COMMANDS:
        module_name, attribute = spec.split(":")
        app.cli.add_command(getattr(importlib.import_module(module_name), attribute))
