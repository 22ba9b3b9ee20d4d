"""Home page per role, language switcher, health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, send_file, session, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.auth import operations as auth_ops
from app.auth.forms import EmptyForm, LanguageForm
from app.core.i18n import SESSION_KEY, is_supported
from app.core.permissions import require
from app.core.security import safe_next_url
from app.core.views import RHAuthenticated, RHPublic
from app.extensions import csrf, db, limiter
from app.main import bp, tasklist
from app.organisations import operations as org_ops
from app.printing import pdf


class RHHome(RHPublic):
    """Landing page for guests; a personal overview for signed-in users."""

    def _process(self):
        if not current_user.is_authenticated:
            return render_template("main/landing.html")
        if current_user.must_enrol_totp:
            return redirect(url_for("auth.totp_setup"))
        tasks = tasklist.volunteer_task_list(current_user) if tasklist.wants_task_list(current_user) else None
        return render_template(
            "main/home.html",
            overview=org_ops.home_overview(current_user),
            tasks=tasks,
            show_tour=tasks is not None and not session.get(tasklist.TOUR_SESSION_KEY),
            tour_form=EmptyForm(formdata=None),
        )


class RHDismissTour(RHAuthenticated):
    """Closes the first-visit tour; the session remembers it (the tour is a help, not a setting worth storing)."""

    methods = ("POST",)

    def _process(self):
        if EmptyForm().validate_on_submit():
            session[tasklist.TOUR_SESSION_KEY] = True
        return redirect(url_for("main.home"))


class RHSetLanguage(RHPublic):
    """The header's language switcher: stored on the user, or in the session for guests."""

    methods = ("POST",)

    def _process(self):
        form = LanguageForm()
        fallback = url_for("main.home")
        if form.validate_on_submit() and is_supported(form.locale.data):
            session[SESSION_KEY] = form.locale.data
            if current_user.is_authenticated:
                auth_ops.set_locale(current_user, form.locale.data)
        return redirect(safe_next_url(form.next.data, fallback))


class RHHealth(RHPublic):
    """Liveness and database check for load balancers and monitoring."""

    decorators = [limiter.exempt, csrf.exempt]

    def _process(self):
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return jsonify(status="error", database="unavailable"), 503
        return jsonify(status="ok", database="ok")


class RHFont(RHPublic):
    """The interface's own font (Source Sans Pro, packaged for the PDF documents too: ``font-source-sans-pro``), so
    every page looks the same on every machine instead of falling back to whatever the system has."""

    decorators = [limiter.exempt]

    def _load(self, name):
        self.font = WEB_FONTS.get(name)
        require(self.font is not None)

    def _process(self):
        path, mimetype = pdf.assets()[self.font]
        response = send_file(path, mimetype=mimetype, max_age=FONT_MAX_AGE, conditional=True)
        response.headers["Access-Control-Allow-Origin"] = "*"  # fonts are public and fetched in CORS mode
        return response


#: URL name -> bundled asset (``app.printing.pdf.assets``); only these files are served.
WEB_FONTS = {
    "source-sans-regular.ttf": "font/sans-regular",
    "source-sans-italic.ttf": "font/sans-italic",
    "source-sans-semibold.ttf": "font/sans-semibold",
    "source-sans-bold.ttf": "font/sans-bold",
}
#: A week: the files only change with the package version.
FONT_MAX_AGE = 7 * 24 * 3600


bp.add_url_rule("/", view_func=RHHome.as_view("home"))
bp.add_url_rule("/tour/dismiss", view_func=RHDismissTour.as_view("dismiss_tour"))
bp.add_url_rule("/fonts/<name>", view_func=RHFont.as_view("font"))
bp.add_url_rule("/language", view_func=RHSetLanguage.as_view("set_language"))
bp.add_url_rule("/healthz", view_func=RHHealth.as_view("healthz"))


@bp.app_template_global()
def header_csrf_field() -> Markup:
    """The CSRF token's hidden input for the header's forms (language switcher, sign out), exactly as a form's
    ``csrf_token`` field renders it (no ``id``: see ``app.core.forms``), or nothing when CSRF checks are off.
    Building a WTForms form on every page only for this input cost a tenth of the page's CPU."""
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True):
        return Markup("")
    name = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return Markup('<input name="{}" type="hidden" value="{}">').format(name, generate_csrf())
