"""Data portability: export/import, account erasure, Open Badges 3.0 credentials and ELM documents."""

import logging

from flask import Blueprint

bp = Blueprint("portability", __name__)
logger = logging.getLogger("acquis.portability")
