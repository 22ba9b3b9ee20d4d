"""Access policy of the ``admin`` blueprint: platform admins only (403 for everyone else signed in)."""

from tests.access import PLATFORM_ADMIN, rule

GET_POST = ("GET", "POST")


def _target(w):
    return {"user_id": w.users["other_volunteer"].id}


POLICY = {
    "admin.index": rule(PLATFORM_ADMIN),
    "admin.organisations": rule(PLATFORM_ADMIN),
    "admin.audit": rule(PLATFORM_ADMIN),
    "admin.audit_csv": rule(PLATFORM_ADMIN),
    "admin.organisation_new": rule(PLATFORM_ADMIN, methods=GET_POST),
    "admin.organisation_edit": rule(
        PLATFORM_ADMIN, url=lambda w: {"organisation_id": w.other_ngo.id}, methods=GET_POST
    ),
    "admin.users": rule(PLATFORM_ADMIN),
    "admin.user": rule(PLATFORM_ADMIN, url=_target, methods=GET_POST),
    "admin.user_disable": rule(PLATFORM_ADMIN, url=_target, methods=("POST",)),
    "admin.user_enable": rule(PLATFORM_ADMIN, url=_target, methods=("POST",)),
}
