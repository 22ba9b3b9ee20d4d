"""Account pages: register, verify, sign in (with two-factor), reset, account settings."""

from __future__ import annotations

import time

import segno
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth import operations as ops
from app.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    EmptyForm,
    EnableTotpForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordConfirmForm,
    ProfileForm,
    RegisterForm,
    ResendVerificationForm,
    ResetPasswordForm,
    SecondFactorForm,
)
from app.auth.models import User
from app.auth.passwords import verify_password
from app.core.errors import user_errors
from app.core.i18n import SESSION_KEY as LOCALE_SESSION_KEY
from app.core.i18n import current_language, select_locale
from app.core.security import safe_next_url
from app.core.tokens import InvalidToken
from app.core.views import RHAuthenticated, RHGuestOnly, RHPublic
from app.extensions import db, limiter

PENDING_2FA_KEY = "pending_2fa"
#: The address just confirmed, prefilled once in the sign-in form.
LOGIN_EMAIL_KEY = "login_email"
PENDING_2FA_SECONDS = 300
PENDING_TOTP_SECRET_KEY = "pending_totp_secret"  # noqa: S105 - a session key name
POST_LIMIT = [limiter.limit("30 per minute", methods=["POST"])]


def _throttled_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return _(
        "Too many failed attempts. For your security, please wait %(minutes)d minute(s) and try again.",
        minutes=minutes,
    )


def _finish_login(user: User, *, remember: bool, next_url: str | None, message: str | None = None):
    """Open a session for ``user``: fresh session cookie, session row, Flask-Login state."""
    locale = session.get(LOCALE_SESSION_KEY)
    session.clear()
    if locale:
        session[LOCALE_SESSION_KEY] = locale
    session.permanent = remember
    ops.start_session(user, request.user_agent.string or "")
    login_user(user, remember=remember, fresh=True)
    flash(message or _("Welcome, %(name)s.", name=user.display_name), "success")
    return redirect(safe_next_url(next_url, url_for("main.home")))


def _clear_session_after_logout(language: str) -> None:
    """Empty the session, keeping the language and Flask-Login's order to delete the remember-me cookie.

    ``language`` is the one the pages were shown in before signing out: a French user's came from their account,
    not from the session, and signing out must not switch them to their browser's language.
    """
    kept = {key: session[key] for key in ("_remember",) if key in session}
    session.clear()
    session.update(kept)
    session[LOCALE_SESSION_KEY] = language


class RHRegister(RHGuestOnly):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        form = RegisterForm()
        if request.method == "GET":
            form.locale.data = select_locale()
        if form.validate_on_submit():
            ops.register_user(
                ops.RegistrationData(
                    email=form.email.data,
                    display_name=form.display_name.data,
                    password=form.password.data,
                    locale=form.locale.data,
                )
            )
            session[LOCALE_SESSION_KEY] = form.locale.data
            return redirect(url_for("auth.check_email"))
        return render_template("auth/register.html", form=form), 422 if form.errors else 200


class RHCheckEmail(RHPublic):
    def _process(self):
        return render_template("auth/check_email.html")


class RHVerifyEmail(RHPublic):
    def _process(self):
        try:
            user = ops.verify_email(request.view_args["token"])
        except InvalidToken:
            flash(_("This confirmation link is invalid or has expired. Sign in to receive a new one."), "error")
            return redirect(url_for("auth.login"))
        flash(_("Thank you, your e-mail address %(email)s is confirmed.", email=user.email), "success")
        if not current_user.is_authenticated:
            # The sign-in form opens with the confirmed address filled in (kept in the signed session, not the URL).
            session[LOGIN_EMAIL_KEY] = user.email
        return redirect(url_for("main.home" if current_user.is_authenticated else "auth.login"))


class RHResendVerification(RHPublic):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        form = ResendVerificationForm()
        if form.validate_on_submit():
            user = ops.get_user_by_email(form.email.data)
            if user is not None and not user.is_verified:
                ops.send_verification_email(user)
            return redirect(url_for("auth.check_email"))
        return render_template("auth/resend_verification.html", form=form)


class RHLogin(RHGuestOnly):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        form = LoginForm()
        if not form.is_submitted() and session.get(LOGIN_EMAIL_KEY):
            form.email.data = session.pop(LOGIN_EMAIL_KEY)
        next_url = request.args.get("next")
        status = 200
        if form.validate_on_submit():
            result = ops.authenticate(form.email.data, form.password.data, request.remote_addr)
            outcome = result.outcome
            if outcome == ops.LoginOutcome.OK:
                return _finish_login(result.user, remember=form.remember.data, next_url=next_url)
            if outcome == ops.LoginOutcome.NEEDS_TOTP:
                session[PENDING_2FA_KEY] = {
                    "uid": result.user.id,
                    "remember": bool(form.remember.data),
                    "next": safe_next_url(next_url, ""),
                    "until": time.time() + PENDING_2FA_SECONDS,
                }
                return redirect(url_for("auth.login_2fa"))
            status = 429 if outcome == ops.LoginOutcome.THROTTLED else 401
            form.password.errors = [self._error_for(result)]
        elif form.errors:
            status = 422
        return render_template("auth/login.html", form=form, next=next_url), status

    @staticmethod
    def _error_for(result: ops.LoginResult) -> str:
        if result.outcome == ops.LoginOutcome.THROTTLED:
            return _throttled_message(result.retry_after)
        if result.outcome == ops.LoginOutcome.UNVERIFIED:
            return _("Please confirm your e-mail address first: we have sent you a new confirmation link.")
        if result.outcome == ops.LoginOutcome.DISABLED:
            return _("This account has been disabled. Please contact the platform administrators.")
        return _("The e-mail address or the password is incorrect.")


class RHLoginSecondFactor(RHGuestOnly):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _load(self):
        pending = session.get(PENDING_2FA_KEY) or {}
        self.user = db.session.get(User, pending.get("uid")) if pending.get("until", 0) > time.time() else None
        self.pending = pending

    def _process(self):
        if self.user is None or not self.user.has_totp:
            session.pop(PENDING_2FA_KEY, None)
            flash(_("Please sign in again."), "info")
            return redirect(url_for("auth.login"))
        form = SecondFactorForm()
        status = 200
        if form.validate_on_submit():
            result = ops.verify_second_factor(self.user, form.code.data, request.remote_addr)
            if result.outcome == ops.LoginOutcome.OK:
                return _finish_login(
                    self.user, remember=self.pending.get("remember", False), next_url=self.pending.get("next")
                )
            if result.outcome == ops.LoginOutcome.THROTTLED:
                form.code.errors = [_throttled_message(result.retry_after)]
                status = 429
            else:
                form.code.errors = [_("This code is not valid. Check the time on your phone and try again.")]
                status = 401
        return render_template("auth/login_2fa.html", form=form), status


class RHLogout(RHAuthenticated):
    methods = ("POST",)
    allow_without_required_2fa = True

    def _process(self):
        ops.end_session(current_user)
        language = current_language()  # the account's, before it is gone
        logout_user()
        _clear_session_after_logout(language)
        flash(_("You are signed out."), "success")
        return redirect(url_for("main.home"))


class RHLogoutEverywhere(RHAuthenticated):
    methods = ("POST",)
    allow_without_required_2fa = True

    def _process(self):
        ops.end_all_sessions(current_user, reason="logout_everywhere")
        language = current_language()  # the account's, before it is gone
        logout_user()
        _clear_session_after_logout(language)
        flash(_("You are signed out on every device."), "success")
        return redirect(url_for("auth.login"))


class RHForgotPassword(RHPublic):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        form = ForgotPasswordForm()
        if form.validate_on_submit():
            ops.request_password_reset(form.email.data)
            flash(_("If an account uses this address, we have sent it a link to choose a new password."), "info")
            return redirect(url_for("auth.login"))
        return render_template("auth/forgot_password.html", form=form)


class RHResetPassword(RHPublic):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _load(self, token):
        self.token = token
        try:
            self.user = ops.user_for_reset_token(token)
        except InvalidToken:
            self.user = None

    def _process(self):
        if self.user is None:
            return render_template("auth/reset_invalid.html"), 404
        form = ResetPasswordForm(user=self.user)
        if form.validate_on_submit():
            ops.reset_password(self.token, form.password.data)
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password has been changed. You can now sign in."), "success")
            return redirect(url_for("auth.login"))
        return render_template("auth/reset_password.html", form=form, user=self.user)


class RHAccount(RHAuthenticated):
    """Account overview and profile form (name, language)."""

    methods = ("GET", "POST")
    allow_without_required_2fa = True

    def _process(self):
        form = ProfileForm(obj=current_user)
        if form.validate_on_submit():
            ops.update_profile(current_user, display_name=form.display_name.data, locale=form.locale.data)
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("auth.account"))
        return render_template(
            "auth/account.html",
            form=form,
            sessions=ops.active_sessions(current_user),
            recovery_codes_left=ops.remaining_recovery_codes(current_user) if current_user.has_totp else 0,
            action_form=EmptyForm(),
        ), 422 if form.errors else 200


class RHChangePassword(RHAuthenticated):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        form = ChangePasswordForm(user=current_user)
        if form.validate_on_submit():
            if not verify_password(current_user.password_hash, form.current_password.data):
                form.current_password.errors = [_("This is not your current password.")]
            else:
                ops.change_password(current_user, form.password.data)
                # Every session ended with the password change: open a fresh one for this browser.
                return _finish_login(
                    current_user._get_current_object(),
                    remember=False,
                    next_url=url_for("auth.account"),
                    message=_("Your password has been changed. Your other devices were signed out."),
                )
        return render_template("auth/change_password.html", form=form), 422 if form.errors else 200


class RHChangeEmail(RHAuthenticated):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        form = ChangeEmailForm()
        if form.validate_on_submit():
            if not verify_password(current_user.password_hash, form.current_password.data):
                form.current_password.errors = [_("This is not your current password.")]
            elif form.email.data == current_user.email:
                form.email.errors = [_("This is already your e-mail address.")]
            else:
                with user_errors(form):
                    ops.request_email_change(current_user, form.email.data)
                    flash(_("We have sent a confirmation link to %(email)s.", email=form.email.data), "info")
                    return redirect(url_for("auth.account"))
        return render_template("auth/change_email.html", form=form), 422 if form.errors else 200


class RHConfirmEmailChange(RHPublic):
    def _process(self):
        try:
            ops.confirm_email_change(request.view_args["token"])
        except (InvalidToken, ops.EmailTakenError):
            flash(_("This confirmation link is invalid or has expired."), "error")
            return redirect(url_for("main.home"))
        flash(_("Your new e-mail address is confirmed."), "success")
        return redirect(url_for("auth.account" if current_user.is_authenticated else "auth.login"))


def _qr_data_uri(text: str) -> str:
    return segno.make(text, error="m").svg_data_uri(scale=5, dark="#111111", light="#ffffff")


class RHTotpSetup(RHAuthenticated):
    methods = ("GET", "POST")
    allow_without_required_2fa = True
    decorators = POST_LIMIT

    def _process(self):
        if current_user.has_totp:
            return redirect(url_for("auth.account"))
        secret = session.get(PENDING_TOTP_SECRET_KEY) or ops.new_totp_secret()
        session[PENDING_TOTP_SECRET_KEY] = secret
        form = EnableTotpForm()
        if form.validate_on_submit():
            codes = ops.enable_totp(current_user, secret, form.code.data)
            if codes is not None:
                session.pop(PENDING_TOTP_SECRET_KEY, None)
                flash(_("Two-factor authentication is on."), "success")
                return render_template("auth/recovery_codes.html", codes=codes)
            form.code.errors = [_("This code is not valid. Check the time on your phone and try again.")]
        uri = ops.totp_uri(current_user, secret)
        return render_template(
            "auth/totp_setup.html", form=form, secret=secret, qr=_qr_data_uri(uri)
        ), 422 if form.errors else 200


class RHTotpDisable(RHAuthenticated):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        if not current_user.has_totp:
            return redirect(url_for("auth.account"))
        if current_user.is_platform_admin:
            flash(_("Two-factor authentication is required for platform administrators."), "error")
            return redirect(url_for("auth.account"))
        form = PasswordConfirmForm()
        if form.validate_on_submit():
            if verify_password(current_user.password_hash, form.current_password.data):
                ops.disable_totp(current_user)
                flash(_("Two-factor authentication is off."), "success")
                return redirect(url_for("auth.account"))
            form.current_password.errors = [_("This is not your current password.")]
        return render_template("auth/totp_disable.html", form=form), 422 if form.errors else 200


class RHRecoveryCodes(RHAuthenticated):
    methods = ("GET", "POST")
    decorators = POST_LIMIT

    def _process(self):
        if not current_user.has_totp:
            return redirect(url_for("auth.account"))
        form = PasswordConfirmForm()
        if form.validate_on_submit():
            if verify_password(current_user.password_hash, form.current_password.data):
                codes = ops.regenerate_recovery_codes(current_user)
                return render_template("auth/recovery_codes.html", codes=codes)
            form.current_password.errors = [_("This is not your current password.")]
        return render_template("auth/recovery_codes_confirm.html", form=form), 422 if form.errors else 200


_ROUTES = [
    ("/register", RHRegister, "register"),
    ("/register/check-email", RHCheckEmail, "check_email"),
    ("/verify/<token>", RHVerifyEmail, "verify_email"),
    ("/verify", RHResendVerification, "resend_verification"),
    ("/login", RHLogin, "login"),
    ("/login/verify", RHLoginSecondFactor, "login_2fa"),
    ("/logout", RHLogout, "logout"),
    ("/logout-everywhere", RHLogoutEverywhere, "logout_everywhere"),
    ("/password/forgot", RHForgotPassword, "forgot_password"),
    ("/password/reset/<token>", RHResetPassword, "reset_password"),
    ("/account", RHAccount, "account"),
    ("/account/password", RHChangePassword, "change_password"),
    ("/account/email", RHChangeEmail, "change_email"),
    ("/account/email/<token>", RHConfirmEmailChange, "confirm_email_change"),
    ("/account/two-factor", RHTotpSetup, "totp_setup"),
    ("/account/two-factor/disable", RHTotpDisable, "totp_disable"),
    ("/account/two-factor/recovery-codes", RHRecoveryCodes, "recovery_codes"),
]
for rule, handler, endpoint in _ROUTES:
    bp.add_url_rule(rule, view_func=handler.as_view(endpoint))
