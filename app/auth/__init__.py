"""Accounts: registration, e-mail verification, login with throttling, two-factor, password reset."""

import logging

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
logger = logging.getLogger("acquis.auth")
