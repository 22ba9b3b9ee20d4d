"""Impact survey of returnees: versioned questionnaire, anonymous answers, suppressed aggregated reports."""

import logging

from flask import Blueprint

bp = Blueprint("survey", __name__, url_prefix="/survey")
logger = logging.getLogger("acquis.survey")
