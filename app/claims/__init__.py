"""Competence claims (an experience, a framework competence, a level, a narrative, evidence), evidence files and the
portfolio dashboard."""

import logging

from flask import Blueprint

bp = Blueprint("claims", __name__, url_prefix="/portfolio")
logger = logging.getLogger("acquis.claims")
