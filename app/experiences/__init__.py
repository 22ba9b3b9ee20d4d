"""Experiences owned by volunteers: missions, trainings and other engagements."""

import logging

from flask import Blueprint

bp = Blueprint("experiences", __name__, url_prefix="/experiences")
logger = logging.getLogger("acquis.experiences")
