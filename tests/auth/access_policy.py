"""Access policy of the ``auth`` blueprint (accounts, sign-in, two-factor, e-mail links)."""

from tests.access import GUEST_PAGE, PUBLIC, USER, rule


def build(world):
    """A spare, unconfirmed account with valid links of every kind (verification, reset, e-mail change)."""
    from app.auth import operations as ops
    from app.auth.models import sha256_hex
    from app.core.tokens import sign
    from tests.fixtures.app import TEST_PASSWORD

    spare = ops.create_user("spare@example.org", "Spare Account", TEST_PASSWORD, locale="en", verified=False)
    world.spare_user = spare
    world.verify_token = sign(ops.VERIFY_PURPOSE, {"u": spare.id, "e": spare.email})
    world.reset_token = sign(ops.RESET_PURPOSE, {"u": spare.id, "f": spare.password_fingerprint})
    world.email_change_token = sign(
        ops.EMAIL_CHANGE_PURPOSE, {"u": spare.id, "e": "spare-new@example.org", "o": sha256_hex(spare.email)}
    )


GET_POST = ("GET", "POST")

POLICY = {
    # Guest pages: signed-in users are sent to their home page (a redirect, not a refusal).
    "auth.register": rule(GUEST_PAGE, methods=GET_POST),
    "auth.login": rule(GUEST_PAGE, methods=GET_POST),
    "auth.login_2fa": rule(
        GUEST_PAGE, methods=GET_POST, notes="without a pending sign-in, guests go back to the login form"
    ),
    # Public pages and e-mailed links.
    "auth.check_email": rule(PUBLIC),
    "auth.resend_verification": rule(PUBLIC, methods=GET_POST),
    "auth.forgot_password": rule(PUBLIC, methods=GET_POST),
    "auth.verify_email": rule(PUBLIC, url=lambda w: {"token": w.verify_token}),
    "auth.reset_password": rule(PUBLIC, url=lambda w: {"token": w.reset_token}, methods=GET_POST),
    "auth.confirm_email_change": rule(PUBLIC, url=lambda w: {"token": w.email_change_token}),
    # The signed-in user's own account.
    "auth.logout": rule(USER, methods=("POST",)),
    "auth.logout_everywhere": rule(USER, methods=("POST",)),
    "auth.account": rule(USER, methods=GET_POST),
    "auth.change_password": rule(USER, methods=GET_POST),
    "auth.change_email": rule(USER, methods=GET_POST),
    "auth.totp_setup": rule(USER, methods=GET_POST),
    "auth.totp_disable": rule(USER, methods=GET_POST),
    "auth.recovery_codes": rule(USER, methods=GET_POST),
}
