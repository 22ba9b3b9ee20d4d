"""Organisations (sending NGOs, host partners, guidance services), memberships, invitations, join requests."""

import logging

from flask import Blueprint

bp = Blueprint("organisations", __name__, url_prefix="/organisations")
logger = logging.getLogger("acquis.organisations")
