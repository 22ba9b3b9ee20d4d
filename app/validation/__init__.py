"""Validation by the sending NGO: submissions, trainer review queue, decisions per claim, validations and their
revocation, host referent confirmation, in-app notifications."""

import logging

from flask import Blueprint

bp = Blueprint("validation", __name__, url_prefix="/validation")
logger = logging.getLogger("acquis.validation")
