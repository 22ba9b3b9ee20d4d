"""Competency frameworks: versions, node trees, crosswalks, importers (YAML, ESCO CSV, RNCP CSV) and search."""

import logging

from flask import Blueprint

bp = Blueprint("frameworks", __name__, url_prefix="/frameworks")
logger = logging.getLogger("acquis.frameworks")
